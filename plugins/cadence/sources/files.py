"""The embedded default source: a folder with ``<entity>.csv`` / ``<entity>.parquet`` or a
folder ``<entity>/`` of such files (read in name order and concatenated).

Every way a file can be unreadable ends in a :class:`SourceError` naming entity, file and
line (or byte offset): an empty file (0 bytes, not even a header), bytes that are not in
the declared encoding (policy ``sources.encoding``), a row with more or fewer fields than
the header, a damaged Parquet file. A header-only file is an entity with no rows. A field
of any size is read (Arrow's block grows to the file when one row does not fit); whether
it is too long is validation's rule, which quarantines the row.
"""

from __future__ import annotations

import codecs
import csv
import logging
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from pandas._libs.parsers import STR_NA_VALUES

from cadence.contract.entities import Entity
from cadence.sources.base import SourceError, check_columns, conform

log = logging.getLogger(__name__)

SUFFIXES = (".csv", ".parquet")
# Arrow parses a CSV in blocks and one row must fit in a block; 16 MB keeps large usage
# files parallel, a row larger than that is read again with one block for the whole file.
BLOCK_BYTES = 16 << 20
MAX_BLOCK_BYTES = (1 << 31) - 1  # Arrow's limit
# The cells pandas reads as missing (empty, "NA", "null", ...): sources keep that meaning.
NULL_VALUES = sorted(STR_NA_VALUES)


class FilesSource:
    """Reads every value as text; empty cells become NULL."""

    def __init__(self, source_dir: Path, sources_policy=None) -> None:
        self.source_dir = Path(source_dir)
        self.sources_policy = sources_policy

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

    def encoding(self, entity: Entity) -> str:
        """The text encoding declared for the entity's CSV files (UTF-8 unless declared)."""
        if self.sources_policy is None:
            return "utf-8"
        return self.sources_policy.encoding_for(entity.name)

    def read(self, entity: Entity) -> pd.DataFrame:
        """All rows of ``entity`` from its file(s), contract columns as text."""
        frames = []
        for path in self.files(entity):
            frame = read_file(path, entity.name, self.encoding(entity))
            check_columns(entity, frame.columns, str(path))
            frames.append(frame)
        frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        return conform(entity, frame, str(self.source_dir / entity.name))


def read_file(path: Path, entity: str, encoding: str = "utf-8") -> pd.DataFrame:
    """One CSV or Parquet file of ``entity`` as text columns; :class:`SourceError` naming
    entity, file and line or byte offset when it cannot be read."""
    if path.stat().st_size == 0:
        raise SourceError(f"{entity}: {path} is empty (0 bytes): not even a header row;"
                          " a file with no rows still needs its header line")
    if path.suffix == ".parquet":
        try:
            # Arrow types keep integer columns with gaps as integers ("3", not "3.0").
            return pd.read_parquet(path, dtype_backend="pyarrow")
        except (OSError, pa.ArrowException) as exc:
            raise SourceError(f"{entity}: {path} is not a readable Parquet file: {exc}") from None
    return _read_csv(path, entity, encoding)


def _read_csv(path: Path, entity: str, encoding: str) -> pd.DataFrame:
    header = _header(path, entity, encoding)
    bad_rows: list[int | None] = []

    def skip_and_count(row) -> str:
        bad_rows.append(row.number)
        return "skip"  # counted here, reported below with their lines

    def read(block_size: int) -> pa.Table:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=encoding, block_size=block_size),
            # Always quote-aware chunking: a quoted line break at a block boundary would
            # otherwise split a row silently (found by the hostile-input fuzz).
            parse_options=pacsv.ParseOptions(newlines_in_values=True,
                                             invalid_row_handler=skip_and_count),
            # Every column as text keeps ids like "00123" and amounts exactly as written.
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()), null_values=NULL_VALUES,
                strings_can_be_null=True, quoted_strings_can_be_null=True),
        )

    try:
        table = read(BLOCK_BYTES)
    except UnicodeError:  # raised by a Python codec Arrow transcodes with
        raise _not_in_encoding(path, entity, encoding) from None
    except pa.ArrowInvalid as exc:
        if "straddl" not in str(exc):
            raise _explain(path, entity, encoding, exc) from None
        # One row is larger than a block: read the file as one block.
        log.info("%s: %s has a row over %d bytes; read as one block", entity, path.name,
                 BLOCK_BYTES)
        bad_rows.clear()
        try:
            table = read(min(path.stat().st_size + 1, MAX_BLOCK_BYTES))
        except pa.ArrowInvalid as again:
            raise _explain(path, entity, encoding, again) from None
    if bad_rows:
        raise SourceError(_ragged_rows(path, entity, encoding, len(header)))
    if table.num_rows == 0:
        log.info("%s: %s has a header and no rows", entity, path.name)
    return table.to_pandas()


def _header(path: Path, entity: str, encoding: str) -> list[str]:
    """The column names of the first line (Arrow needs them to type every column as text)."""
    try:
        with path.open(encoding=encoding, newline="") as handle:
            first = next(csv.reader(handle), None)
    except UnicodeError:  # a decode error, or e.g. UTF-16 without its byte-order mark
        raise _not_in_encoding(path, entity, encoding) from None
    if not first or not any(name.strip() for name in first):
        raise SourceError(f"{entity}: {path} line 1: the header row is blank")
    duplicates = sorted({name for name in first if first.count(name) > 1})
    if duplicates:
        raise SourceError(f"{entity}: {path} line 1: header names {duplicates} more than once")
    return first


def _explain(path: Path, entity: str, encoding: str, exc: Exception) -> SourceError:
    """A :class:`SourceError` naming the line of an Arrow parse or decode failure."""
    if "UTF8" in str(exc) or "decode" in str(exc).lower():
        return _not_in_encoding(path, entity, encoding)
    return SourceError(f"{entity}: {path}: cannot be read as CSV: {exc}")


def _not_in_encoding(path: Path, entity: str, encoding: str) -> SourceError:
    """Where the first byte that is not ``encoding`` sits: line and byte offset."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset, line = 0, 1
    hint = (f"declare the file's encoding in policy sources.encoding (or"
            f" sources.encodings.{entity})")
    with path.open("rb") as handle:
        for chunk in [*iter(lambda: handle.read(1 << 20), b""), b""]:
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                position = offset + exc.start
                line += chunk[:exc.start].count(b"\n")
                byte = f"byte 0x{chunk[exc.start]:02x}" if exc.start < len(chunk) else "the end"
                return SourceError(f"{entity}: {path} line {line} (byte offset {position}):"
                                   f" {byte} is not valid {encoding}; {hint}")
            except UnicodeError as exc:  # e.g. UTF-16 without its byte-order mark
                return SourceError(f"{entity}: {path} byte offset {offset}: not {encoding}"
                                   f" ({exc}); {hint}")
            offset += len(chunk)
            line += chunk.count(b"\n")
    return SourceError(f"{entity}: {path}: not valid {encoding}; {hint}")


def _ragged_rows(path: Path, entity: str, encoding: str, fields: int) -> str:
    """The lines whose field count differs from the header's (first three)."""
    lines = []
    total = 0
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        start = reader.line_num + 1
        for row in reader:
            if row and len(row) != fields:
                total += 1
                if len(lines) < 3:
                    lines.append(f"line {start} has {len(row)} fields")
            start = reader.line_num + 1
    where = "; ".join(lines) or "rows that do not parse"
    return (f"{entity}: {path}: {total or 'some'} row(s) do not match the header's {fields}"
            f" fields ({where}); fix the file or quote the values")

