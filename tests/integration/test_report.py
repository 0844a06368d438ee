"""The analyst's report reads the same on DuckDB and PostgreSQL."""

from datetime import date

import pandas as pd

from cadence.report import format_text, render_html, summarize, write_report

AS_OF = date(2026, 11, 23)


def _seed(warehouse) -> None:
    warehouse.write_frame("account_health", pd.DataFrame({
        "account_id": ["a1", "a2", "a3"], "as_of_date": [AS_OF] * 3,
        "score": [82.25, 71.75, 30.0], "band": ["green", "green", "red"]}))
    warehouse.write_frame("calendar_decisions", pd.DataFrame({
        "touch_id": ["t1", "t2", "t3", "t4"], "plan_date": [AS_OF] * 4,
        "decision": ["scheduled", "dropped", "deferred", "dropped"],
        "rule": ["8.send_timing", "4.frequency_cap", "5.spacing", "4.frequency_cap"],
        "detail": ["", "", "", ""]}))


def test_report_sections_count_what_the_plan_decided(any_warehouse, tmp_path):
    _seed(any_warehouse)
    summary = summarize(any_warehouse, AS_OF)
    bands = summary.sections["Health bands"].set_index("band")
    assert bands.loc["green", "accounts"] == 2
    assert float(bands.loc["green", "avg_score"]) == 77.0
    not_sent = summary.sections["Top reasons a touch is not sent (suppressed, dropped, merged)"]
    assert not_sent.to_dict("records") == [{"rule": "4.frequency_cap", "candidates": 2}]
    assert "Touches by team and status" not in summary.sections  # no calendar table yet
    assert set(summary.table_rows["table"]) == {"account_health", "calendar_decisions"}

    path = write_report(any_warehouse, tmp_path, AS_OF)
    page = path.read_text()
    assert path.name == "plan_2026-11-23.html" and "4.frequency_cap" in page
    assert page == render_html(summary)
    assert "Top deferral reasons" in format_text(summary)
