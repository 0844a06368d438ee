"""Watermarks of incremental loads (table ``connector_watermarks``: source, entity,
watermark, updated_at).

A watermark is advanced only after the load it covers has committed, so a failed run
resumes from the last good watermark. A backfill resets it to reload a range.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from cadence.contract.warehouse import Warehouse

TABLE = "connector_watermarks"


def get_watermark(warehouse: Warehouse, source: str, entity: str) -> str | None:
    """The last committed watermark of ``source``/``entity``; None before the first load."""
    if not warehouse.table_exists(TABLE):
        return None
    rows = warehouse.read_table(TABLE, {"source": source, "entity": entity})
    return None if rows.empty else rows["watermark"].iloc[0]


def set_watermark(
    warehouse: Warehouse, source: str, entity: str, watermark: str, updated_at: datetime
) -> None:
    """Record ``watermark`` for ``source``/``entity`` (call only after the load committed)."""
    row = pd.DataFrame(
        {
            "source": [source],
            "entity": [entity],
            "watermark": [str(watermark)],
            "updated_at": pd.Series([pd.Timestamp(updated_at)], dtype="datetime64[us, UTC]"),
        }
    )
    warehouse.write_frame(TABLE, row, replace_where={"source": source, "entity": entity})


def reset_watermark(
    warehouse: Warehouse,
    source: str,
    entity: str,
    to: str | None,
    updated_at: datetime | None = None,
) -> None:
    """Move the watermark back to ``to`` so the next load re-reads from there; ``None``
    forgets it, so the next load is a full load. ``updated_at`` defaults to the wall clock
    (this is an operator action, not part of a dated run)."""
    if to is None:
        if warehouse.table_exists(TABLE):
            warehouse.write_frame(
                TABLE, pd.DataFrame(columns=["source", "entity"]),
                replace_where={"source": source, "entity": entity},
            )
        return
    set_watermark(warehouse, source, entity, to, updated_at or datetime.now(UTC))
