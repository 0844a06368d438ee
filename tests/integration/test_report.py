"""The analyst's report: figures from the warehouse (same on DuckDB and PostgreSQL), charts
rendered offline as inline SVG, bands in their natural order, first-run notes and rule links."""

import re
from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from cadence.outputs.report import build_figures, format_text, summarize, write_report

AS_OF = date(2026, 11, 23)
ROOT_DOCS = "docs/rules.md"


def _seed(warehouse, previous: bool = False) -> None:
    health = pd.DataFrame({
        "account_id": ["a1", "a2", "a3", "a4"], "as_of_date": [AS_OF] * 4,
        "score": [82.25, 71.75, 30.0, 55.0], "band": ["green", "green", "red", "yellow"]})
    if previous:
        health = pd.concat([health, pd.DataFrame({
            "account_id": ["a1", "a3"], "as_of_date": [AS_OF - timedelta(days=1)] * 2,
            "score": [80.25, 50.0], "band": ["green", "yellow"]})])
    warehouse.write_frame("account_health", health)
    warehouse.write_frame("calendar_decisions", pd.DataFrame({
        "touch_id": ["t1", "t2", "t3", "t4"], "plan_date": [AS_OF] * 4,
        "decision": ["scheduled", "dropped", "deferred", "dropped"],
        "rule": ["8.send_timing", "4.frequency_cap", "5.spacing", "4.frequency_cap"],
        "detail": ["", "", "", ""]}))
    start = datetime(2026, 11, 24, 10)
    warehouse.write_frame("touch_candidates", pd.DataFrame({
        "touch_id": ["t1", "t2", "t3", "t4"], "plan_date": [AS_OF] * 4,
        "earliest_at": [start, start, start + timedelta(days=1), start + timedelta(days=2)]}))
    warehouse.write_frame("communication_calendar", pd.DataFrame({
        "touch_id": ["t1", "t3", "t5"], "plan_date": [AS_OF] * 3,
        "contact_id": ["c1", "c1", "c2"], "csm_id": ["m1", "m1", "m1"],
        "team": ["cs", "marketing", "cs"], "channel": ["email", "email", "call"],
        "message_type": ["relationship", "promotional", "relationship"],
        "scheduled_at": [start, start + timedelta(days=2), start + timedelta(days=8)],
        "status": ["scheduled", "scheduled", "scheduled"]}))
    warehouse.write_frame("stg_csms", pd.DataFrame({"csm_id": ["m1"], "weekly_capacity": [3]}))


def test_report_sections_count_what_the_plan_decided(any_warehouse, policy, tmp_path):
    _seed(any_warehouse)
    summary = summarize(any_warehouse, AS_OF, policy)
    bands = summary.sections["Health bands"]
    assert list(bands["band"]) == ["green", "yellow", "red"]  # natural order, not alphabetic
    assert float(bands.set_index("band").loc["green", "avg_score"]) == 77.0
    not_sent = summary.sections["Top reasons a touch is not sent (suppressed, dropped, merged)"]
    assert not_sent.to_dict("records") == [{"rule": "4.frequency_cap", "candidates": 2}]
    per_day = summary.figures["touches_per_day"]
    assert per_day["touches"].sum() == 3 and set(per_day["team"]) == {"cs", "marketing"}
    load = summary.figures["csm_day_load"]
    assert load["touches"].sum() == 1 and int(load["weekly_capacity"].iloc[0]) == 3
    assert summary.first_run

    path = write_report(any_warehouse, policy, tmp_path, AS_OF)
    page = path.read_text()
    assert path.name == "plan_2026-11-23.html"
    rules_href = re.search(r'href="([^"#]+)#4frequency_cap"', page).group(1)
    assert rules_href.endswith(ROOT_DOCS)
    assert "<h2>Health bands</h2>" in page and "<h2>CSM load per week against capacity" in page
    assert "Top deferral reasons" in format_text(summary)


def test_report_charts_are_inline_svg_with_marks_and_no_remote_resources(warehouse, policy,
                                                                          tmp_path):
    _seed(warehouse)
    page = write_report(warehouse, policy, tmp_path, AS_OF).read_text()
    assert "http://" not in page.replace("http://www.w3.org", "")
    assert "https://" not in page and "<script" not in page
    charts = re.findall(r"<div class='chart'>(.*?)</div>", page, re.S)
    assert len(charts) >= 7
    assert all("<svg" in c and re.search(r'class="mark-\w+', c) for c in charts)
    # every rule code of the decisions table links to its section of docs/rules.md
    assert re.search(r'<a href="[^"]*docs/rules.md#5spacing">5.spacing</a>', page)


def test_first_run_notes_explain_empty_figures_and_movers_show_later(warehouse, policy):
    _seed(warehouse)
    notes = {f.title: f.note for f in build_figures(summarize(warehouse, AS_OF, policy))}
    assert notes["Biggest health movers since the last run"].startswith("First scored day")
    assert notes["Engagement trend"].startswith("No engagement yet")
    warehouse.write_frame("segment_membership", pd.DataFrame({
        "account_id": ["a1"], "segment_type": ["signal"], "segment_key": ["silent"],
        "valid_from": [AS_OF], "valid_to": pd.Series([pd.NaT], dtype="datetime64[us]"),
        "is_current": [True]}))
    notes = {f.title: f.note for f in build_figures(summarize(warehouse, AS_OF, policy))}
    assert "every account is 'silent'" in notes["Segments: sizes and flows on the plan date"]


def test_movers_compare_with_the_previous_snapshot(warehouse, policy):
    _seed(warehouse, previous=True)
    summary = summarize(warehouse, AS_OF, policy)
    movers = summary.figures["health_movers"]
    assert movers[["account_id", "change"]].to_dict("records") == [
        {"account_id": "a3", "change": -20.0}, {"account_id": "a1", "change": 2.0}]


def test_asset_events_carry_the_plan_date_rows_and_counts_by_status(any_warehouse):
    from cadence.outputs.report import asset_extra

    _seed(any_warehouse)
    assert asset_extra(any_warehouse, "communication_calendar", AS_OF) == {
        "plan_date": "2026-11-23", "rows": 3, "by_status": {"scheduled": 3}}
    assert asset_extra(any_warehouse, "account_health", AS_OF)["by_band"] == {
        "green": 2, "red": 1, "yellow": 1}


def test_the_csm_load_figure_of_a_large_plan_renders_its_most_loaded_csms():
    """3,000 CSMs x 6 weeks (past Altair's 5,000-row guard): the page still renders, with
    the CSMs most over capacity drawn and the note saying how many were left out."""
    from cadence.outputs.report import CSM_CHARTS, PlanSummary, to_svg

    days = [AS_OF + timedelta(days=7 * w) for w in range(6)]
    load = pd.DataFrame([{"day": d, "csm_id": f"m{i:04d}", "weekly_capacity": 10,
                          "touches": 30 if i == 2999 else 5} for i in range(3000) for d in days])
    summary = PlanSummary(as_of=AS_OF, table_rows=pd.DataFrame(),
                          figures={"csm_day_load": load}, caps={"csm_capacity": 10})
    figure = next(f for f in build_figures(summary) if f.title.startswith("CSM load"))
    assert f"Showing the {CSM_CHARTS} most loaded of 3000 CSMs" in figure.note
    drawn = figure.chart.data if figure.chart.data is not None else figure.chart.spec.data
    assert drawn["csm_id"].nunique() == CSM_CHARTS and "m2999" in set(drawn["csm_id"])
    assert "<svg" in to_svg(figure.chart)


def test_a_chart_over_altairs_row_guard_still_renders():
    """The health spread carries one row per account: 100,000 accounts must not fail the
    report on Altair's 5,000-row browser guard (the SVG is drawn here, not in a browser)."""
    import altair as alt
    from altair.utils.data import MaxRowsError

    from cadence.outputs.report import to_svg

    scores = pd.DataFrame({"score": [i % 100 for i in range(6_000)]})
    chart = alt.Chart(scores).mark_bar().encode(x=alt.X("score:Q", bin=True), y="count()")
    assert "<svg" in to_svg(chart)
    with pytest.raises(MaxRowsError):  # the guard is back for everything else
        chart.to_dict()


def test_every_report_query_has_a_top_level_order_by(bare_warehouse):
    """Without ``order by`` the rows come in whatever order the engine returns (DuckDB and
    PostgreSQL differ, and a chart reordered between runs). Each file under
    include/sql/report/ is rendered as the code renders it (Jinja, placeholder identifiers
    for its variables) and parsed with sqlglot; a query of one row by construction (only
    aggregates, no ``group by``) needs no order."""
    import jinja2
    import jinja2.meta
    import sqlglot
    from sqlglot import exp

    from cadence.contract.settings import SQL_DIR

    files = sorted((SQL_DIR / "report").glob("*.sql"))
    assert len(files) > 20
    unordered = []
    for path in files:
        names = jinja2.meta.find_undeclared_variables(jinja2.Environment().parse(
            path.read_text())) - {"dialect"}
        sql = bare_warehouse.render(path, **{name: f"placeholder_{name}" for name in names})
        query = sqlglot.parse_one(sql, read="duckdb")
        if not isinstance(query, exp.Query):
            continue  # returns no rows to the report
        one_row = (isinstance(query, exp.Select) and not query.args.get("group")
                   and all(isinstance(e.unalias(), exp.AggFunc) for e in query.expressions))
        if not query.args.get("order") and not one_row:
            unordered.append(path.name)
    assert unordered == []
