"""Self-contained HTML pages of the learning outputs: the what-if comparison (baseline vs
scenario side by side) and the experiment readout (rates per arm with confidence
intervals). Charts are Vega-Lite (altair) rendered to inline SVG by the nightly report's
renderer and style, so a page opens offline and looks like the report.
"""

from __future__ import annotations

import html
from datetime import date
from pathlib import Path

import altair as alt
import pandas as pd

from cadence.outputs.report import STYLE, to_svg


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, na_rep="", float_format=lambda v: f"{v:.4g}")


def _page(title: str, body: list[str]) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
            + "\n".join(body) + "</body></html>")


def _write(out_dir: Path, name: str, text: str) -> Path:
    path = Path(out_dir) / "reports" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def side_by_side_chart(frame: pd.DataFrame, x: str, y: str, title: str) -> alt.Chart:
    """Grouped bars: one bar per scenario for each value of ``x``."""
    return alt.Chart(frame, title=title).mark_bar().encode(
        x=alt.X(f"{x}:N", title=x.replace("_", " ")), xOffset="scenario:N",
        y=alt.Y(f"{y}:Q", title=y.replace("_", " ")), color="scenario:N",
        tooltip=[x, "scenario", y]).properties(width=520, height=220)


def whatif_page(comparison: pd.DataFrame, labels: dict[str, str], out_dir: Path,
                name: str) -> Path:
    """The what-if comparison page: per measure a side-by-side chart and its table."""
    body = [f"<p>{html.escape(labels['baseline'])} vs {html.escape(labels['scenario'])}, "
            f"plan days {html.escape(labels['days'])}. Each day was re-planned under each "
            "policy from the same data; nothing was sent and no live table was written.</p>"]
    for measure, frame in comparison.groupby("measure", sort=False):
        long = frame.melt(id_vars=["key"], value_vars=["baseline", "scenario"],
                          var_name="scenario", value_name="value")
        body.append(f"<h2>{html.escape(measure)}</h2>")
        body.append(to_svg(side_by_side_chart(long, "key", "value", measure)))
        body.append(_table(frame[["key", "baseline", "scenario", "difference"]]))
    return _write(out_dir, name, _page("What-if comparison", body))


def experiments_page(readout: pd.DataFrame, outcomes: pd.DataFrame, out_dir: Path,
                     as_of: date) -> Path:
    """The experiment readout page of ``as_of``."""
    body = []
    for experiment_id, frame in readout.groupby("experiment_id", sort=True):
        overall = frame[frame["week_start"] == "all weeks"]
        body.append(f"<h2>{html.escape(experiment_id)}</h2>")
        thin = overall[~overall["enough_sample"]]
        if len(thin):
            body.append(f"<p class='note'>Minimum sample not reached for "
                        f"{html.escape(', '.join(sorted(set(thin['arm']))))}: rates are shown "
                        "but too few messages to conclude.</p>")
        points = overall.dropna(subset=["rate"])
        base = alt.Chart(points).encode(x=alt.X("arm:N"), color="arm:N")
        chart = alt.layer(
            base.mark_point(filled=True, size=60).encode(y=alt.Y("rate:Q", title="rate")),
            base.mark_rule().encode(y="ci_low:Q", y2="ci_high:Q"),
        ).properties(width=160, height=180).facet(column=alt.Column("metric:N"))
        body.append(to_svg(chart))
        body.append(_table(frame.drop(columns=["experiment_id"])))
        mine = outcomes[outcomes["experiment_id"] == experiment_id] if len(outcomes) else outcomes
        if len(mine):
            body.append("<h3>Accounts: health change and renewals</h3>")
            body.append(_table(mine.drop(columns=["experiment_id"])))
    if not body:
        body.append("<p>No experiment has started.</p>")
    return _write(out_dir, f"experiments_{as_of.isoformat()}.html",
                  _page(f"Experiments readout {as_of.isoformat()}", body))
