"""The analyst's report of one plan date: charts of the calendar over its horizon (per day
and team or channel, per contact and week against the caps, per CSM and week against
capacity), health and its movers, segments and their flows, decisions by rule, the
promotional mix and engagement, then the tables behind them.

``summarize`` returns plain frames (the demo prints them); ``write_report`` renders them as
one self-contained HTML page under ``CADENCE_OUT_DIR/reports/``: every chart is an inline
SVG rendered locally by Vega-Lite (altair + vl-convert), so the page opens offline. Rule
codes link to ``docs/rules.md``.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import altair as alt
import pandas as pd

from cadence.contract.warehouse import Warehouse
from cadence.outputs.docs_pages import DOCS_DIR, rules_anchor

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
    ("Held touches (what they wait for)", "calendar_decisions", "held_touches"),
    ("CSM tasks by type", "csm_tasks", "csm_tasks_by_type"),
    ("Quarantine by rule", "quarantine", "quarantine_by_rule"),
    ("Deliveries by provider and status", "deliveries", "deliveries_by_status"),
)

# The figures' data: (key, tables it needs, include/sql/report/<key>.sql)
FIGURE_DATA = (
    ("touches_per_day", ("communication_calendar",)),
    ("contact_day_touches", ("communication_calendar",)),
    ("csm_day_load", ("communication_calendar", "stg_csms")),
    ("health_scores", ("account_health",)),
    ("health_movers", ("account_health",)),
    ("segment_flows", ("segment_membership",)),
    ("decisions_by_rule_day", ("calendar_decisions", "touch_candidates")),
    ("message_mix_by_day", ("communication_calendar",)),
    ("engagement_trend", ("engagement_metrics",)),
)

BANDS = ["green", "yellow", "red"]
BAND_COLORS = ["#3a9d5d", "#e2b93b", "#d1495b"]
# Reading order of the planner's decisions (cadence.planner.engine.DECISIONS).
DECISIONS = ["scheduled", "deferred", "escalated", "held", "merged", "suppressed", "dropped"]
WIDTH = 640


@dataclass
class PlanSummary:
    """Every figure of the report, as frames, with the caps and notes they are read with."""

    as_of: date
    table_rows: pd.DataFrame
    sections: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, pd.DataFrame] = field(default_factory=dict)
    caps: dict[str, float] = field(default_factory=dict)
    first_run: bool = False


def summarize(warehouse: Warehouse, as_of: date, policy) -> PlanSummary:
    """Collect the report's figures for plan date ``as_of`` from the warehouse."""
    rows = [
        {"table": t, "rows": warehouse.count(t)}
        for t in REPORTED_TABLES
        if warehouse.table_exists(t)
    ]
    limits = policy.planner.limits
    summary = PlanSummary(
        as_of=as_of, table_rows=pd.DataFrame(rows, columns=["table", "rows"]),
        caps={"email": limits.email_per_7_days, "all channels": limits.all_channels_per_7_days,
              "promotional_share": limits.promotional_max_share,
              "csm_capacity": policy.planner.csm_capacity.default_weekly_capacity})
    params = {"d": as_of}
    for title, table, name in SECTIONS:
        if warehouse.table_exists(table):
            summary.sections[title] = warehouse.read_frame(
                warehouse.render(f"report/{name}.sql"), params)
    for key, tables in FIGURE_DATA:
        if all(warehouse.table_exists(t) for t in tables):
            summary.figures[key] = warehouse.read_frame(
                warehouse.render(f"report/{key}.sql"), params)
    if warehouse.table_exists("calendar_decisions"):
        earlier = warehouse.read_frame(warehouse.render("report/earlier_plans.sql"), params)
        summary.first_run = int(earlier["plans"].iloc[0]) == 0
    return summary


# -- figures ---------------------------------------------------------------------------------
@dataclass
class Figure:
    title: str
    chart: alt.TopLevelMixin | None
    note: str = ""  # why it is empty, or how to read it
    table: pd.DataFrame | None = None


def _weeks(frame: pd.DataFrame) -> pd.Series:
    day = pd.to_datetime(frame["day"])
    return (day - pd.to_timedelta(day.dt.weekday, unit="D")).dt.date


def _heatmap(frame: pd.DataFrame, by: str) -> alt.Chart:
    data = frame.groupby(["day", by], as_index=False)["touches"].sum()
    data["day"] = pd.to_datetime(data["day"]).dt.strftime("%Y-%m-%d")
    return alt.Chart(data).mark_rect().encode(
        x=alt.X("day:O", title="day (UTC)", axis=alt.Axis(labelAngle=-60)),
        y=alt.Y(f"{by}:N", title=by),
        color=alt.Color("touches:Q", scale=alt.Scale(scheme="blues"), title="touches"),
        tooltip=["day", by, "touches"],
    ).properties(width=WIDTH, height=22 * max(data[by].nunique(), 2))


def _calendar_figures(summary: PlanSummary) -> list[Figure]:
    frame = summary.figures.get("touches_per_day")
    if frame is None or frame.empty:
        note = "No touches planned for this date." if frame is not None else "No calendar yet."
        return [Figure("Calendar: touches per day by team", None, note)]
    horizon = pd.to_datetime(frame["day"]).max()
    beyond = (horizon - pd.Timestamp(summary.as_of)).days
    note = (f"Each cell counts the touches planned that day (cancelled ones excluded). The "
            f"last planned day is {horizon.date()}, {beyond} days after the plan date.")
    return [Figure("Calendar: touches per day by team", _heatmap(frame, "team"), note),
            Figure("Calendar: touches per day by channel", _heatmap(frame, "channel"))]


def _contact_week_figure(summary: PlanSummary) -> Figure:
    title = "Touches per contact per week against the caps"
    frame = summary.figures.get("contact_day_touches")
    if frame is None or frame.empty:
        return Figure(title, None, "No non-transactional touch is planned.")
    frame = frame.assign(week=_weeks(frame))
    per_week = []
    for label, rows in (("all channels", frame), ("email", frame[frame["channel"] == "email"])):
        counts = rows.groupby(["contact_id", "week"])["touches"].sum()
        dist = counts.value_counts().rename_axis("touches").reset_index(name="contact_weeks")
        per_week.append(dist.assign(scope=label, cap=summary.caps[label]))
    data = pd.concat(per_week, ignore_index=True)
    base = alt.Chart(data)
    bars = base.mark_bar(color="#4a7bd1").encode(
        x=alt.X("touches:O", title="non-transactional touches to one contact in a week"),
        y=alt.Y("contact_weeks:Q", title="contact-weeks"),
        tooltip=["scope", "touches", "contact_weeks"])
    cap = base.mark_rule(color="#d1495b", strokeDash=[4, 3], size=2).encode(
        x=alt.X("cap:O"))
    chart = alt.layer(bars, cap).properties(width=300, height=200).facet(
        column=alt.Column("scope:N", title=None, sort=["all channels", "email"]))
    over = data[data["touches"] > data["cap"]]["contact_weeks"].sum()
    note = (f"Red line: the cap per 7 days (all channels {summary.caps['all channels']:g}, "
            f"email {summary.caps['email']:g}; calendar weeks). Contact-weeks over the cap: "
            f"{int(over)}.")
    return Figure(title, chart.resolve_scale(x="independent"), note)


CSM_CHARTS = 40  # CSMs drawn in the load figure at most


def _csm_figure(summary: PlanSummary) -> Figure:
    title = "CSM load per week against capacity"
    frame = summary.figures.get("csm_day_load")
    if frame is None or frame.empty:
        return Figure(title, None, "No human touch (call, meeting) is planned.")
    frame = frame.assign(week=_weeks(frame))
    frame["csm_id"] = frame["csm_id"].fillna("(pooled queue)")
    capacity = pd.to_numeric(frame["weekly_capacity"], errors="coerce").fillna(
        summary.caps["csm_capacity"])
    data = (frame.assign(capacity=capacity)
            .groupby(["csm_id", "week"], as_index=False)
            .agg(touches=("touches", "sum"), capacity=("capacity", "max")))
    data["week"] = data["week"].astype(str)
    data["over"] = data["touches"] > data["capacity"]
    # One small chart per CSM reads for a team, not for thousands: past CSM_CHARTS, the
    # most loaded CSMs (peak week against capacity) are drawn and the note says so.
    csms = data["csm_id"].nunique()
    shown = ""
    if csms > CSM_CHARTS:
        peak = (data["touches"] / data["capacity"].where(data["capacity"] > 0)).fillna(
            float("inf")).groupby(data["csm_id"]).max()
        busiest = peak.sort_values(ascending=False, kind="stable").index[:CSM_CHARTS]
        data = data[data["csm_id"].isin(busiest)]
        shown = (f" Showing the {CSM_CHARTS} most loaded of {csms} CSMs (peak week against "
                 "capacity); every CSM's weeks are in the calendar view.")
    base = alt.Chart(data)
    bars = base.mark_bar().encode(
        x=alt.X("week:O", title="week (Monday)", axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("touches:Q", title="human touches"),
        color=alt.condition("datum.over", alt.value("#d1495b"), alt.value("#4a7bd1")),
        tooltip=["csm_id", "week", "touches", "capacity"])
    cap = base.mark_tick(color="#222", thickness=2, size=26).encode(
        x="week:O", y="capacity:Q")
    chart = alt.layer(bars, cap).properties(width=WIDTH // 2 - 20, height=120).facet(
        facet=alt.Facet("csm_id:N", title=None), columns=2)
    weeks = data["week"].nunique()
    note = (f"Black tick: the CSM's weekly capacity; red bars are over it. {weeks} weeks "
            f"carry human touches, the last starting {data['week'].max()}.{shown}")
    return Figure(title, chart, note)


def _health_figures(summary: PlanSummary) -> list[Figure]:
    frame = summary.figures.get("health_scores")
    figures = []
    if frame is None or frame.empty:
        figures.append(Figure("Health distribution", None, "No account scored on this date."))
    else:
        chart = alt.Chart(frame).mark_bar().encode(
            x=alt.X("score_bin:Q", bin=alt.Bin(step=5, extent=[0, 100]), title="health score"),
            y=alt.Y("accounts:Q", stack=True),
            color=alt.Color("band:N", sort=BANDS,
                            scale=alt.Scale(domain=BANDS, range=BAND_COLORS)),
            order=alt.Order("band_order:Q"),
            tooltip=["band", "score_bin", "accounts"],
        ).transform_calculate(
            band_order="indexof(['green','yellow','red'], datum.band)"
        ).properties(width=WIDTH, height=200)
        figures.append(Figure("Health distribution", chart))
    movers = summary.figures.get("health_movers")
    if movers is not None:
        if movers.empty:
            note = ("First scored day: there is no earlier snapshot to compare with."
                    if summary.first_run else "No account's score changed since the last run.")
            figures.append(Figure("Biggest health movers since the last run", None, note))
        else:
            movers = movers.assign(previous_score=movers["previous_score"].round(1),
                                   score=movers["score"].round(1),
                                   change=movers["change"].round(1))
            figures.append(Figure("Biggest health movers since the last run", None,
                                  f"Compared with {movers['previous_date'].iloc[0]}.",
                                  movers.drop(columns="previous_date")))
    return figures


def _segment_figure(summary: PlanSummary) -> Figure:
    title = "Segments: sizes and flows on the plan date"
    frame = summary.figures.get("segment_flows")
    if frame is None or frame.empty:
        return Figure(title, None, "No segments assigned yet.")
    data = frame.melt(id_vars=["segment_type", "segment_key"],
                      value_vars=["accounts", "entered", "left_segment"],
                      var_name="measure", value_name="n")
    data["measure"] = data["measure"].replace({"left_segment": "left"})
    chart = alt.Chart(data).mark_bar().encode(
        y=alt.Y("segment_key:N", title=None, sort=alt.EncodingSortField("n", order="descending")),
        x=alt.X("n:Q", title="accounts"),
        color=alt.Color("segment_type:N", title="type"),
        row=alt.Row("segment_type:N", title=None),
        column=alt.Column("measure:N", sort=["accounts", "entered", "left"], title=None),
        tooltip=["segment_type", "segment_key", "measure", "n"],
    ).properties(width=180, height=alt.Step(14)).resolve_scale(y="independent")
    note = "accounts: in the segment today; entered / left: changed on the plan date."
    if summary.first_run:
        note += (" First run: every account 'entered' its segments today, and every account "
                 "is 'silent' (no touch sent in the last 30 days) until touches have been "
                 "sent.")
    return Figure(title, chart, note)


def _decisions_figure(summary: PlanSummary, rules_href: str) -> Figure:
    title = "Decisions by rule over the horizon"
    frame = summary.figures.get("decisions_by_rule_day")
    if frame is None or frame.empty:
        return Figure(title, None, "No candidates for this date.")
    data = frame.copy()
    data["day"] = pd.to_datetime(data["day"]).dt.strftime("%Y-%m-%d")
    data["decision_rule"] = data["decision"] + " · " + data["rule"]
    chart = alt.Chart(data).mark_rect().encode(
        x=alt.X("day:O", title="day the candidate could first go",
                axis=alt.Axis(labelAngle=-60)),
        y=alt.Y("decision_rule:N", title=None),
        color=alt.Color("sum(candidates):Q", scale=alt.Scale(scheme="oranges"),
                        title="candidates"),
        tooltip=["day", "decision", "rule", alt.Tooltip("sum(candidates):Q", title="n")],
    ).properties(width=WIDTH, height=alt.Step(16))
    totals = (data.groupby(["decision", "rule"], as_index=False)["candidates"].sum()
              .sort_values(["decision", "candidates"], ascending=[True, False],
                           key=lambda s: s.map(DECISIONS.index) if s.name == "decision" else s))
    totals["rule"] = [f'<a href="{rules_href}#{rules_anchor(r)}">{html.escape(r)}</a>'
                      for r in totals["rule"]]
    return Figure(title, chart, "Rule codes link to their explanation in docs/rules.md.",
                  totals)


def _mix_figure(summary: PlanSummary) -> Figure:
    title = "Promotional mix per week"
    frame = summary.figures.get("message_mix_by_day")
    if frame is None or frame.empty:
        return Figure(title, None, "No non-transactional touch is planned.")
    data = frame.assign(week=_weeks(frame).astype(str))
    data = data.groupby(["week", "message_type"], as_index=False)["touches"].sum()
    share = summary.caps["promotional_share"]
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("week:O", title="week (Monday)", axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("touches:Q", stack="normalize", title="share of non-transactional touches",
                axis=alt.Axis(format="%")),
        color=alt.Color("message_type:N", sort=["relationship", "operational", "educational",
                                                "promotional"]),
        tooltip=["week", "message_type", "touches"])
    cap = alt.Chart(pd.DataFrame({"share": [share]})).mark_rule(
        color="#d1495b", strokeDash=[4, 3], size=2).encode(y="share:Q")
    promo = data[data["message_type"] == "promotional"]["touches"].sum()
    note = (f"Red line: promotional at most {share:.0%} of a contact's non-transactional "
            f"touches over 30 days (the cap is per contact; this is the calendar overall: "
            f"{promo / data['touches'].sum():.1%} promotional).")
    return Figure(title, alt.layer(bars, cap).properties(width=WIDTH, height=200), note)


def _engagement_figure(summary: PlanSummary) -> Figure:
    title = "Engagement trend"
    frame = summary.figures.get("engagement_trend")
    if frame is None or frame.empty or not frame["delivered"].fillna(0).sum():
        return Figure(title, None, "No engagement yet: the hourly run has not delivered "
                                   "messages or read provider events.")
    data = frame.melt(id_vars=["week_start"], value_vars=["open_rate", "click_rate",
                                                          "unsubscribe_rate"],
                      var_name="rate", value_name="value")
    data["week_start"] = data["week_start"].astype(str)
    chart = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("week_start:O", title="week (Monday)"),
        y=alt.Y("value:Q", axis=alt.Axis(format="%"), title="of delivered"),
        color="rate:N", tooltip=["week_start", "rate", alt.Tooltip("value:Q", format=".1%")],
    ).properties(width=WIDTH, height=200)
    return Figure(title, chart, f"{int(frame['delivered'].sum())} messages delivered.")


def build_figures(summary: PlanSummary, rules_href: str = "rules.md") -> list[Figure]:
    """Every figure of the report in reading order."""
    return [
        *_calendar_figures(summary),
        _contact_week_figure(summary),
        _csm_figure(summary),
        *_health_figures(summary),
        _segment_figure(summary),
        _decisions_figure(summary, rules_href),
        _mix_figure(summary),
        _engagement_figure(summary),
    ]


def to_svg(chart: alt.TopLevelMixin) -> str:
    """The chart as an SVG string, rendered locally (no browser, no CDN)."""
    import vl_convert as vlc

    # Altair's 5,000-row guard protects a browser from a huge embedded spec; here the
    # chart is drawn into SVG on this machine, and a large plan must not fail its report.
    with alt.data_transformers.disable_max_rows():
        spec = chart.to_dict()
    return vlc.vegalite_to_svg(spec)


# -- page ------------------------------------------------------------------------------------
STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}"
    "table{border-collapse:collapse;margin:0 0 1.5em}td,th{padding:3px 10px;"
    "border-bottom:1px solid #ddd;text-align:left}.bar{background:#4a7bd1;height:10px}"
    "figure{margin:0 0 2.5em}figcaption{color:#555;margin:.3em 0 .8em}"
    ".note{background:#fff7e0;border-left:4px solid #e2b93b;padding:.4em .8em}"
    "nav a{margin-right:1em}"
)


def render_html(summary: PlanSummary, rules_href: str = "rules.md") -> str:
    """One self-contained HTML page (inline SVG charts, then the tables) an analyst can open
    offline; ``rules_href`` is where docs/rules.md is from the page."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>cadence plan {summary.as_of}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>cadence — plan of {summary.as_of}</h1>",
    ]
    if summary.first_run:
        parts.append("<p class='note'>First plan in this warehouse: there is no earlier run "
                     "to compare with (no movers), and no touch was sent before it, so every "
                     "account is 'silent' (no touch sent in the last 30 days).</p>")
    for figure in build_figures(summary, rules_href):
        parts.append(f"<figure><h2>{html.escape(figure.title)}</h2>")
        if figure.chart is not None:
            parts.append(f"<div class='chart'>{to_svg(figure.chart)}</div>")
        if figure.note:
            cls = "note" if figure.chart is None and figure.table is None else ""
            parts.append(f"<figcaption class='{cls}'>{html.escape(figure.note)}</figcaption>")
        if figure.table is not None:
            parts.append(_table(figure.table, raw_html=("rule",)))
        parts.append("</figure>")
    parts += ["<h2>Rows per table</h2>", _table(summary.table_rows)]
    for title, frame in summary.sections.items():
        parts += [f"<h2>{html.escape(title)}</h2>", _table(frame)]
    parts.append("</body></html>")
    return "\n".join(parts)


def _table(frame: pd.DataFrame, raw_html: tuple[str, ...] = ()) -> str:
    if frame.empty:
        return "<p><em>none</em></p>"
    numeric = frame.select_dtypes("number").columns
    measure = numeric[-1] if len(numeric) else None
    top = float(frame[measure].abs().max()) if measure is not None else 0.0
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for _, row in frame.iterrows():
        cells = "".join(
            f"<td>{v if c in raw_html else html.escape(str(v))}</td>" for c, v in row.items())
        value = row[measure] if measure is not None else None
        width = int(200 * abs(float(value)) / top) if top and pd.notna(value) else 0
        body.append(f"<tr>{cells}<td><div class='bar' style='width:{width}px'></div></td></tr>")
    return f"<table><tr>{head}<th></th></tr>{''.join(body)}</table>"


def write_report(warehouse: Warehouse, policy, out_dir: Path, as_of: date) -> Path:
    """Write ``reports/plan_<as_of>.html`` (a rerun overwrites it) and return its path."""
    path = Path(out_dir) / "reports" / f"plan_{as_of.isoformat()}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    rules_href = Path(os.path.relpath(DOCS_DIR / "rules.md", path.parent)).as_posix()
    path.write_text(render_html(summarize(warehouse, as_of, policy), rules_href))
    return path


# table -> (date column, the column its asset event counts rows by)
ASSET_EXTRAS = {
    "account_health": ("as_of_date", "band"),
    "segment_membership": ("valid_from", "segment_key"),
    "communication_calendar": ("plan_date", "status"),
    "csm_tasks": ("plan_date", "task_type"),
}


def asset_extra(warehouse: Warehouse, table: str, as_of: date) -> dict:
    """The extra of an asset event: plan date, rows written for it and their counts by
    status (band, segment entered, task type), e.g. ``{"plan_date": "2026-11-23", "rows":
    3691, "by_status": {"scheduled": 3089, "sent": 602}}``."""
    date_column, by = ASSET_EXTRAS[table]
    counts = warehouse.read_frame(
        warehouse.render("report/asset_extra.sql", table=table, date_column=date_column, by=by),
        {"d": as_of})
    return {"plan_date": as_of.isoformat(), "rows": int(counts["n"].sum()),
            f"by_{by}": {str(v): int(n) for v, n in zip(counts["value"], counts["n"],
                                                        strict=True)}}


def format_text(summary: PlanSummary) -> str:
    """The summary as plain text for a terminal."""
    lines = [f"cadence — plan of {summary.as_of}", "", "Rows per table"]
    lines += ["  " + line for line in summary.table_rows.to_string(index=False).splitlines()]
    for title, frame in summary.sections.items():
        lines += ["", title]
        text = "(none)" if frame.empty else frame.to_string(index=False)
        lines += ["  " + line for line in text.splitlines()]
    return "\n".join(lines)
