"""The embedded default source: a folder with ``<entity>.csv`` / ``<entity>.parquet`` or a
folder ``<entity>/`` of such files (read in name order and concatenated)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cadence.entities import Entity
from cadence.sources.base import SourceError, check_columns, conform

SUFFIXES = (".csv", ".parquet")


class FilesSource:
    """Reads every value as text; empty cells become NULL."""

    def __init__(self, source_dir: Path) -> None:
        self.source_dir = Path(source_dir)

    def files(self, entity: Entity) -> list[Path]:
        """The files holding ``entity``; raises :class:`SourceError` when there are none."""
        for suffix in SUFFIXES:
            single = self.source_dir / f"{entity.name}{suffix}"
            if single.is_file():
                return [single]
        folder = self.source_dir / entity.name
        if folder.is_dir():
            found = sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file())
            if found:
                return found
        raise SourceError(
            f"{entity.name}: no source file {entity.name}.csv, {entity.name}.parquet or folder"
            f" {entity.name}/ in {self.source_dir}"
        )

    def read(self, entity: Entity) -> pd.DataFrame:
        """All rows of ``entity`` from its file(s), contract columns as text."""
        frames = []
        for path in self.files(entity):
            frame = _read_file(path)
            check_columns(entity, frame.columns, str(path))
            frames.append(frame)
        frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        return conform(entity, frame, str(self.source_dir / entity.name))


def _read_file(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        # Arrow types keep integer columns with gaps as integers ("3", not "3.0").
        return pd.read_parquet(path, dtype_backend="pyarrow")
    # dtype=str keeps ids like "00123" and amounts exactly as written; empty -> NULL. The
    # Arrow reader is several times faster than the default one on large usage files.
    return pd.read_csv(path, dtype=str, keep_default_na=True, engine="pyarrow")
