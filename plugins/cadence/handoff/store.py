"""Warehouse access shared by the handoff steps: its tables and SQL files.

SQL lives in ``include/sql/handoff``; statements run with bound parameters, several rows at
a time inside one transaction when they must commit together.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from cadence.contract.warehouse import Warehouse, split_statements

log = logging.getLogger(__name__)


def sql(warehouse: Warehouse, name: str, **context: Any) -> str:
    """The rendered text of ``include/sql/handoff/<name>.sql`` (Jinja ``context``)."""
    return warehouse.render(f"handoff/{name}.sql", **context)


def run_many(conn: sa.Connection, warehouse: Warehouse, name: str,
             rows: Iterable[Mapping[str, Any]]) -> None:
    """Run the one-statement SQL file ``name`` once per row on an open transaction."""
    rows = list(rows)
    if rows:
        (statement,) = split_statements(sql(warehouse, name))
        conn.execute(sa.text(statement), [dict(r) for r in rows])


def close_touches(conn: sa.Connection, warehouse: Warehouse, touch_ids: Iterable[str],
                  plan_date: date, status: str, reasons: Iterable[str], now: datetime,
                  decision: Mapping[str, str] | None = None,
                  details: Iterable[str] | None = None) -> None:
    """Set the status of many scheduled touches of ``plan_date`` (and, given ``decision``
    {decision, rule}, their decision, detailed by ``details`` or else the reasons) on an
    open transaction, in one statement per table: row by row, each update scans the
    calendar (minutes for an unsubscribe wave of 100,000 touches)."""
    frame = pd.DataFrame({"touch_id": list(touch_ids), "reason": list(reasons)})
    if frame.empty:
        return
    frame = frame.assign(
        plan_date=str(plan_date), status=status, decided_at=pd.Timestamp(now),
        decision=(decision or {}).get("decision"), rule=(decision or {}).get("rule"),
        detail=frame["reason"] if details is None else list(details),
    )[["touch_id", "plan_date", "status", "reason", "decided_at", "decision", "rule",
       "detail"]]
    conn.execute(sa.text(sql(warehouse, "create_touch_updates")))
    warehouse.insert_rows(conn, "touch_updates", frame)
    conn.execute(sa.text(sql(warehouse, "set_touch_status")))
    if decision:
        conn.execute(sa.text(sql(warehouse, "update_decision")))
    conn.execute(sa.text("drop table touch_updates"))


def read(warehouse: Warehouse, name: str, context: Mapping[str, Any] | None = None,
         **params: Any) -> pd.DataFrame:
    """Rows of the query ``name`` with bound parameters (and Jinja ``context``)."""
    return warehouse.read_frame(sql(warehouse, name, **dict(context or {})), params)


def read_if_present(warehouse: Warehouse, table: str, name: str, columns: list[str],
                    **params: Any) -> pd.DataFrame:
    """Rows of query ``name`` over ``table``, or no rows (with a log line) when the table
    does not exist yet (e.g. the hourly run before the first nightly staging). A query
    without parameters is read column-wise (the consent sources: a million rows)."""
    if not warehouse.table_exists(table):
        log.info("%s does not exist yet; reading it as empty", table)
        return pd.DataFrame(columns=columns)
    if not params:
        return warehouse.read_columns(sql(warehouse, name))
    return read(warehouse, name, **params)


def latest_plan_date(warehouse: Warehouse, day: date) -> date | None:
    """The plan_date the hourly run works from: the latest on or before ``day``."""
    value = read(warehouse, "latest_plan_date", day=day)["plan_date"].iloc[0]
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).date()
