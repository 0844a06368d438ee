"""The analyst's report of one plan date: rows per table, the calendar by team, channel and
status, the top suppression and deferral reasons, health bands and segment sizes.

``summarize`` returns plain frames (the demo prints them); ``write_report`` renders them
as one self-contained HTML page under ``CADENCE_OUT_DIR/reports/``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from cadence.warehouse import Warehouse

REPORTED_TABLES = (
    "raw_accounts", "raw_contacts", "raw_usage_daily", "quarantine", "stg_accounts",
    "stg_contacts", "account_health", "segment_membership", "touch_candidates",
    "communication_calendar", "calendar_decisions", "csm_tasks", "handoff_batches",
    "deliveries", "engagement_events", "engagement_metrics",
)

# (title, table it needs, include/sql/report/<name>.sql)
SECTIONS = (
    ("Health bands", "account_health", "health_bands"),
    ("Current segments", "segment_membership", "current_segments"),
    ("Touches by team and status", "communication_calendar", "touches_by_team"),
    ("Touches by channel and status", "communication_calendar", "touches_by_channel"),
    ("Decisions", "calendar_decisions", "decisions"),
    ("Top reasons a touch is not sent (suppressed, dropped, merged)", "calendar_decisions",
     "not_sent_reasons"),
    ("Top deferral reasons", "calendar_decisions", "deferral_reasons"),
    ("CSM tasks by type", "csm_tasks", "csm_tasks_by_type"),
    ("Quarantine by rule", "quarantine", "quarantine_by_rule"),
    ("Deliveries by provider and status", "deliveries", "deliveries_by_status"),
)


@dataclass
class PlanSummary:
    """Every figure of the report, as frames."""

    as_of: date
    table_rows: pd.DataFrame
    sections: dict[str, pd.DataFrame] = field(default_factory=dict)


def summarize(warehouse: Warehouse, as_of: date) -> PlanSummary:
    """Collect the report's figures for plan date ``as_of`` from the warehouse."""
    rows = [
        {"table": t, "rows": warehouse.count(t)}
        for t in REPORTED_TABLES
        if warehouse.table_exists(t)
    ]
    summary = PlanSummary(as_of=as_of, table_rows=pd.DataFrame(rows, columns=["table", "rows"]))
    for title, table, name in SECTIONS:
        if warehouse.table_exists(table):
            sql = warehouse.render(f"report/{name}.sql")
            summary.sections[title] = warehouse.read_frame(sql, {"d": as_of})
    return summary


def render_html(summary: PlanSummary) -> str:
    """One self-contained HTML page (tables plus a bar per row) an analyst can open."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>cadence plan {summary.as_of}</title>",
        "<style>body{font-family:sans-serif;margin:2em;color:#222}"
        "table{border-collapse:collapse;margin:0 0 2em}td,th{padding:3px 10px;"
        "border-bottom:1px solid #ddd;text-align:left}.bar{background:#4a7bd1;height:10px}"
        "</style></head><body>",
        f"<h1>cadence — plan of {summary.as_of}</h1>",
        "<h2>Rows per table</h2>",
        _table(summary.table_rows),
    ]
    for title, frame in summary.sections.items():
        parts += [f"<h2>{html.escape(title)}</h2>", _table(frame)]
    parts.append("</body></html>")
    return "\n".join(parts)


def _table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "<p><em>none</em></p>"
    numeric = frame.select_dtypes("number").columns
    measure = numeric[-1] if len(numeric) else None
    top = float(frame[measure].max()) if measure is not None else 0.0
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for _, row in frame.iterrows():
        cells = "".join(f"<td>{html.escape(str(v))}</td>" for v in row)
        width = int(200 * float(row[measure]) / top) if measure is not None and top else 0
        body.append(f"<tr>{cells}<td><div class='bar' style='width:{width}px'></div></td></tr>")
    return f"<table><tr>{head}<th></th></tr>{''.join(body)}</table>"


def write_report(warehouse: Warehouse, out_dir: Path, as_of: date) -> Path:
    """Write ``reports/plan_<as_of>.html`` (a rerun overwrites it) and return its path."""
    path = Path(out_dir) / "reports" / f"plan_{as_of.isoformat()}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(summarize(warehouse, as_of)))
    return path


def format_text(summary: PlanSummary) -> str:
    """The summary as plain text for a terminal."""
    lines = [f"cadence — plan of {summary.as_of}", "", "Rows per table"]
    lines += ["  " + line for line in summary.table_rows.to_string(index=False).splitlines()]
    for title, frame in summary.sections.items():
        lines += ["", title]
        text = "(none)" if frame.empty else frame.to_string(index=False)
        lines += ["  " + line for line in text.splitlines()]
    return "\n".join(lines)
