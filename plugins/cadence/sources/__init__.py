"""Sources: read every DESIGN §4 entity from its configured source into ``raw_<entity>``.

Each load replaces the raw table (sources are full snapshots) and stamps every row with
``_loaded_at`` and ``_run_id``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pandas as pd

from cadence.contract.entities import ENTITIES, ENTITY_ORDER
from cadence.sources.base import Source, SourceContext, SourceError, SourcesPolicy, conform
from cadence.sources.files import FilesSource
from cadence.sources.registry import build_source, register_source, registered_sources

__all__ = [
    "FilesSource",
    "Source",
    "SourceContext",
    "SourceError",
    "SourcesPolicy",
    "build_source",
    "extract_sources",
    "raw_table",
    "read_entities",
    "register_source",
    "registered_sources",
]

log = logging.getLogger(__name__)


def raw_table(entity: str) -> str:
    """Name of the raw table of ``entity``."""
    return f"raw_{entity}"


def read_entities(context: SourceContext, entities: Sequence[str] | None = None
                  ) -> dict[str, pd.DataFrame]:
    """Every entity (or the given ones) read from the source the policy assigns to it, all
    text columns.

    Every entity is read before anything is written, so a missing file fails the extract
    without leaving a half-replaced set of raw tables. ``context`` is the run's: the policy
    routes each entity, the files source needs ``source_dir``, connectors the rest.
    """
    unknown = sorted(set(entities or ()) - set(ENTITY_ORDER))
    if unknown:
        raise SourceError(f"unknown entities {unknown}")
    sources: dict[str, Source] = {}
    frames: dict[str, pd.DataFrame] = {}
    for name in ENTITY_ORDER:
        if entities is not None and name not in entities:
            continue
        source_name = context.policy.sources.source_for(name)
        if source_name not in sources:
            sources[source_name] = build_source(source_name, context)
        frame = sources[source_name].read(ENTITIES[name])
        frames[name] = conform(ENTITIES[name], frame, f"source {source_name!r}")
    return frames


def extract_sources(
    warehouse, policy, source_dir: Path, run_id: str, loaded_at: datetime,
    entities: Sequence[str] | None = None,
) -> dict[str, int]:
    """Load every entity (or only ``entities``, e.g. the hourly consent sync) into
    ``raw_<entity>``, replacing the table; rows per entity. Contacts erased earlier are
    pseudonymised again before anything is written (:mod:`cadence.contract.erased_contacts`)."""
    from cadence.contract.erased_contacts import reapply_erasures

    stamp = pd.Timestamp(loaded_at)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    counts: dict[str, int] = {}
    context = SourceContext(Path(source_dir), warehouse, policy, run_id, stamp.to_pydatetime())
    frames = reapply_erasures(warehouse, read_entities(context, entities))
    for name, frame in frames.items():
        # One stamp broadcast, not a list of a million Timestamps converted one by one.
        frame["_loaded_at"] = pd.Series(stamp, index=pd.RangeIndex(len(frame)),
                                        dtype="datetime64[us, UTC]")
        frame["_run_id"] = run_id
        counts[name] = warehouse.write_frame(raw_table(name), frame, replace_all=True)
        log.info("raw_%s: %d rows loaded (run %s)", name, counts[name], run_id)
    return counts
