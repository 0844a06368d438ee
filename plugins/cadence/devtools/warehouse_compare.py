"""Row-by-row comparison of two warehouses after the same run (DuckDB against PostgreSQL):
used by the end-to-end tests and by ``make scale-demo``.

Business columns only: load stamps and decision times legitimately differ per run. Values
are brought to one form first, because the two databases hand back the same value as
different Python types (timestamps with or without a zone, decimals or floats, JSON text
with or without blanks).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal

import pandas as pd

# Stamps of the run that wrote a row, not of what it says.
RUN_STAMPS = frozenset({"_loaded_at", "_run_id", "decided_at", "updated_at", "run_id"})
# Wall-clock readings of the hourly-facing steps a nightly also runs (consent holds and
# sync, erasure, CSM task versions): when the row was written, not what it says.
WALL_CLOCK_STAMPS = frozenset({"held_since", "synced_at", "erased_at", "changed_at"})


def snapshot(warehouse, table: str, ignore: Iterable[str] = RUN_STAMPS) -> pd.DataFrame:
    """The table's rows without the ``ignore`` columns, in a canonical order."""
    frame = warehouse.read_table(table)
    frame = frame.drop(columns=[c for c in frame.columns if c in set(ignore)])
    frame = frame[sorted(frame.columns)]
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def _canonical(value: object) -> object:
    """One comparable form of a warehouse value, whichever database returned it."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        number = float(value)
        return round(number, 6) if not number.is_integer() else int(number)
    if hasattr(value, "item"):  # numpy scalars
        return _canonical(value.item())
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.dumps(json.loads(value), sort_keys=True)
        except ValueError:
            return value
    return value


def canonical_rows(frame: pd.DataFrame) -> list[tuple]:
    """The frame's rows as sorted tuples of canonical values (columns by name)."""
    columns = sorted(frame.columns)
    rows = [tuple(_canonical(v) for v in row)
            for row in frame[columns].itertuples(index=False, name=None)]
    return sorted(rows, key=lambda row: tuple((v is None, str(v)) for v in row))


def table_differences(left, right, table: str, ignore: Iterable[str] = RUN_STAMPS,
                      limit: int = 3) -> list[str]:
    """What differs between ``table`` in two warehouses, row by row (empty: equal): missing
    columns, row counts, and up to ``limit`` rows found on one side only."""
    a, b = snapshot(left, table, ignore), snapshot(right, table, ignore)
    if set(a.columns) != set(b.columns):
        return [f"{table}: columns differ: {sorted(set(a.columns) ^ set(b.columns))}"]
    rows_a, rows_b = canonical_rows(a), canonical_rows(b)
    if rows_a == rows_b:
        return []
    problems = [f"{table}: {len(rows_a)} rows vs {len(rows_b)}"]
    only_a = sorted(set(rows_a) - set(rows_b), key=str)[:limit]
    only_b = sorted(set(rows_b) - set(rows_a), key=str)[:limit]
    columns = sorted(a.columns)
    problems += [f"  only left:  {dict(zip(columns, row, strict=True))}" for row in only_a]
    problems += [f"  only right: {dict(zip(columns, row, strict=True))}" for row in only_b]
    return problems
