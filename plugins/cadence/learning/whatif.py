"""Policy what-if: replay the nightly planning for each day of a range under the policy and
under an alternative, each in a scenario store of its own, and compare them side by side.

A scenario store is a separate DuckDB file (``CADENCE_OUT_DIR/whatif/<id>.duckdb``) or,
on PostgreSQL, a schema of its own (``<schema>_whatif_<id>``), seeded with a copy of the
warehouse's staged sources and history. Live tables are only read; nothing is sent: after
each replayed day the touches it scheduled for that day count as sent in the scenario, as
the hourly run would have done, so the next day plans around them. The baseline is
replayed the same way, so both sides start from the same state.

Results land in the warehouse as ``whatif_calendar`` and ``whatif_decisions`` (column
``scenario_id``) and ``whatif_comparison`` (column ``comparison_id``), plus an HTML page
``reports/whatif_<comparison_id>.html``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cadence.contract.policy_section import deep_merge
from cadence.contract.schema import create_warehouse_tables
from cadence.contract.warehouse import Warehouse
from cadence.contract.yaml_files import read_yaml
from cadence.learning import steps

log = logging.getLogger(__name__)

# Tables a replay reads, copied from the warehouse into each scenario store.
SEED_TABLES = ("stg_accounts", "stg_contacts", "stg_usage_daily", "stg_support_tickets",
               "stg_nps_responses", "stg_preferences", "stg_suppressions", "stg_campaigns",
               "stg_csms", "stg_engagement_events", "segment_daily",
               "segment_membership", "account_health", "communication_calendar",
               "deliveries", "engagement_events", "engagement_flags",
               "consent_suppressions", "experiment_assignments")
HISTORY_DAYS = 120  # calendar history copied into a scenario
PROTECTED_CLASSES = ("transactional", "operational_critical", "renewal")
PROTECTED_SOURCES = ("lifecycle", "renewal")


class WhatIfError(ValueError):
    """A what-if request that cannot run; the message says why."""


def scenario_policy(policy, policy_file: Path | None = None,
                    overrides: dict[str, Any] | None = None):
    """The alternative policy: the base ``policy`` with the file's keys and then the inline
    ``overrides`` deep-merged in (a full policy file works too: it replaces every key it
    names)."""
    merged: dict[str, Any] = {}
    source = "inline overrides"
    if policy_file is not None:
        try:
            merged = read_yaml(policy_file) or {}
        except FileNotFoundError:
            raise WhatIfError(f"what-if policy file not found: {policy_file}") from None
        if not isinstance(merged, dict):
            raise WhatIfError(f"{policy_file}: expected a mapping of policy keys")
        source = Path(policy_file).name
    merged = deep_merge(merged, overrides or {})
    if not merged:
        raise WhatIfError("give a policy file or inline overrides for the scenario")
    return policy.with_overrides(merged, source=source), merged


def scenario_id_of(changes: dict[str, Any], first: date, last: date) -> str:
    """A short stable id of a scenario: the same changes and days give the same id."""
    raw = json.dumps(changes, sort_keys=True, default=str) + f"|{first}|{last}"
    return "s_" + hashlib.sha256(raw.encode()).hexdigest()[:10]


def open_scenario_store(warehouse: Warehouse, scenario: str, out_dir: Path) -> Warehouse:
    """A fresh store for one scenario (any earlier one of that id is replaced), holding
    every warehouse table, empty."""
    if warehouse.dialect == "duckdb":
        path = Path(out_dir) / "whatif" / f"{scenario}.duckdb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        store = Warehouse(f"duckdb:///{path}")
    else:
        schema = f"{warehouse.schema}_whatif_{scenario}"
        warehouse.execute(f"drop schema if exists {schema} cascade")
        store = Warehouse(warehouse.url, schema=schema)
    create_warehouse_tables(store)
    return store


def seed_scenario_store(warehouse: Warehouse, store: Warehouse, first: date) -> None:
    """Copy what planning reads, as known before ``first``, into ``store``."""
    since = first - timedelta(days=HISTORY_DAYS)
    for table in SEED_TABLES:
        if table == "communication_calendar":
            frame = warehouse.read_frame(
                "select * from communication_calendar where plan_date >= :since"
                " and plan_date < :first", {"since": since, "first": first})
        elif table == "account_health":
            frame = warehouse.read_frame(
                "select * from account_health where as_of_date < :first", {"first": first})
        elif table == "experiment_assignments":
            frame = warehouse.read_frame(
                "select * from experiment_assignments where assigned_on < :first",
                {"first": first})
        else:
            frame = warehouse.read_table(table)
        if len(frame):
            store.write_frame(table, frame, replace_all=True)


def replay_day(store: Warehouse, policy, day: date) -> dict:
    """The nightly planning of one day in a scenario store (health, segments, learning,
    candidates, shards, plan, send times, CSM levelling), then the day's touches sent."""
    from cadence.models.account_health import score_account_health
    from cadence.models.segments import assign_segments
    from cadence.planner.steps import level_csm_capacity, list_shards, plan_calendar_shard

    score_account_health(store, policy, day)
    assign_segments(store, policy, day)
    steps.learn_from_engagement(store, policy, day)
    steps.generate_candidates(store, policy, day, policy.planner.horizon_days,
                              run_id=f"whatif__{day.isoformat()}")
    shards = steps.split_shards_by_arm(store, policy, day, list_shards(store, policy, day))
    for shard in shards:
        plan_calendar_shard(store, steps.planning_policy(store, policy, day, shard), day, shard)
    steps.apply_learned_send_slots(store, policy, day)
    level_csm_capacity(store, policy, day)
    # What the hourly run would have sent by the end of the day.
    store.execute("update communication_calendar set status = 'sent' where plan_date = :d"
                  " and status = 'scheduled' and scheduled_at < :until",
                  {"d": day, "until": pd.Timestamp(day + timedelta(days=1), tz="UTC")})
    return {"day": day.isoformat(), "touches": store.count("communication_calendar",
                                                           {"plan_date": day})}


def collect_scenario(store: Warehouse, first: date, last: date) -> tuple[pd.DataFrame,
                                                                          pd.DataFrame]:
    """The scenario's calendar (what each replayed day sent, then the last day's plan
    ahead) and one decision per candidate (its latest over the replayed days)."""
    calendar = store.read_frame(
        "select * from communication_calendar where plan_date between :first and :last",
        {"first": first, "last": last})
    calendar["scheduled_at"] = pd.to_datetime(calendar["scheduled_at"], utc=True)
    sent = calendar[calendar["status"] == "sent"]
    ahead = calendar[(calendar["plan_date"] == last) & (calendar["status"] == "scheduled")]
    outcome = pd.concat([sent, ahead], ignore_index=True).drop_duplicates("touch_id")
    decisions = store.read_frame(
        "select d.*, c.team, c.message_type, c.source, c.rule_id, c.channel"
        " from calendar_decisions d join touch_candidates c"
        " on c.touch_id = d.touch_id and c.plan_date = d.plan_date"
        " where d.plan_date between :first and :last", {"first": first, "last": last})
    decisions = (decisions.sort_values(["touch_id", "plan_date"], kind="stable")
                 .drop_duplicates("touch_id", keep="last"))
    return outcome.reset_index(drop=True), decisions.reset_index(drop=True)


def run_scenario(warehouse: Warehouse, policy, scenario: str, first: date, last: date,
                 out_dir: Path) -> dict:
    """Replay ``first``..``last`` under ``policy`` into scenario ``scenario`` and write its
    calendar and decisions to ``whatif_calendar`` / ``whatif_decisions``."""
    store = open_scenario_store(warehouse, scenario, out_dir)
    seed_scenario_store(warehouse, store, first)
    days = []
    day = first
    while day <= last:
        days.append(replay_day(store, policy, day))
        log.info("what-if %s: %s", scenario, days[-1])
        day += timedelta(days=1)
    calendar, decisions = collect_scenario(store, first, last)
    store.engine.dispose()
    partition = {"scenario_id": scenario}
    warehouse.write_frame("whatif_calendar", calendar.assign(scenario_id=scenario).astype(
        {"plan_date": "object"}), replace_where=partition)
    warehouse.write_frame("whatif_decisions", decisions.assign(scenario_id=scenario).astype(
        {"plan_date": "object"}), replace_where=partition)
    return {"scenario_id": scenario, "days": len(days), "calendar_rows": len(calendar)}


# -- comparison --------------------------------------------------------------------------
def touch_class(frame: pd.DataFrame, policy) -> pd.Series:
    """A touch's priority class: the ``class`` column when the planner gives one, else the
    class of its rule in policy (campaigns: their message type)."""
    if "class" in frame.columns:
        return frame["class"].astype(object)
    specs = policy.candidates.specs()
    by_rule = {rule: spec.priority_class for rule, spec in specs.items()}
    return frame["rule_id"].map(by_rule).fillna(frame["message_type"]).astype(object)


def _week(stamps: pd.Series) -> pd.Series:
    day = pd.to_datetime(stamps, utc=True).dt.tz_localize(None).dt.normalize()
    return (day - pd.to_timedelta(day.dt.weekday, unit="D")).dt.date.astype(str)


def measures(calendar: pd.DataFrame, decisions: pd.DataFrame, policy,
             human_channels: list[str]) -> dict[str, pd.Series]:
    """Every compared measure of one scenario: measure -> values by key."""
    out: dict[str, pd.Series] = {}
    cal = calendar.assign(week=_week(calendar["scheduled_at"]))
    counted = cal[cal["message_type"] != "transactional"]
    per_contact_week = counted.groupby(["contact_id", "week"]).size()
    buckets = per_contact_week.clip(upper=4).map(lambda n: "4+" if n >= 4 else str(n))
    out["touches per contact per week (contact-weeks)"] = buckets.value_counts().sort_index()
    out["touches per contact per week (mean, max)"] = pd.Series({
        "mean": round(float(per_contact_week.mean()), 3) if len(per_contact_week) else 0.0,
        "max": float(per_contact_week.max()) if len(per_contact_week) else 0.0})
    held = decisions[decisions["decision"].isin(["deferred", "dropped"])]
    hits = held.groupby(["rule", "decision"]).size()
    hits.index = [f"{rule} {decision}" for rule, decision in hits.index]
    out["cap and spacing hits by rule (deferred or dropped)"] = hits
    out["touches by team"] = cal.groupby("team").size()
    out["touches by class"] = cal.groupby(touch_class(cal, policy)).size()
    classes = touch_class(decisions, policy)
    protected = (classes.isin(PROTECTED_CLASSES) | decisions["source"].isin(PROTECTED_SOURCES)
                 | (decisions["message_type"] == "transactional"))
    lost = decisions[protected & (decisions["decision"] == "dropped")]
    out["protected touches lost (dropped)"] = pd.Series(
        {"dropped": len(lost)}).add(lost.groupby("rule").size(), fill_value=0)
    human = cal[cal["channel"].isin(human_channels)]
    out["CSM load per week (human touches)"] = human.groupby("week").size()
    share = counted.groupby("week")["message_type"].apply(
        lambda types: round(float((types == "promotional").mean()), 4))
    out["promotional share of non-transactional touches per week"] = share
    return out


def compare(baseline: dict[str, pd.Series], scenario: dict[str, pd.Series],
            comparison_id: str) -> pd.DataFrame:
    """Side by side: comparison_id, measure, key, baseline, scenario, difference."""
    rows = []
    for measure in baseline:
        keys = sorted(set(baseline[measure].index) | set(scenario[measure].index), key=str)
        for key in keys:
            b = float(baseline[measure].get(key, 0.0))
            s = float(scenario[measure].get(key, 0.0))
            rows.append({"comparison_id": comparison_id, "measure": measure, "key": str(key),
                         "baseline": b, "scenario": s, "difference": s - b})
    return pd.DataFrame(rows, columns=["comparison_id", "measure", "key", "baseline",
                                       "scenario", "difference"])


def run_whatif(warehouse: Warehouse, policy, first: date, last: date, out_dir: Path,
               policy_file: Path | None = None, overrides: dict[str, Any] | None = None
               ) -> dict:
    """Replay ``first``..``last`` under the policy (baseline) and the alternative, compare
    them (``whatif_comparison``) and write the page. Returns ids, paths and the table."""
    from cadence.learning.pages import whatif_page

    if last < first:
        raise WhatIfError(f"--to {last} is before --from {first}")
    if (last - first).days > 92:
        raise WhatIfError("a what-if replays at most 93 days")
    alternative, changes = scenario_policy(policy, policy_file, overrides)
    scenario = scenario_id_of(changes, first, last)
    baseline = scenario_id_of({}, first, last).replace("s_", "b_")
    for label, chosen in ((baseline, policy), (scenario, alternative)):
        run_scenario(warehouse, chosen, label, first, last, out_dir)
    sides = {}
    for label, chosen in ((baseline, policy), (scenario, alternative)):
        calendar = warehouse.read_table("whatif_calendar", {"scenario_id": label})
        decisions = warehouse.read_table("whatif_decisions", {"scenario_id": label})
        sides[label] = measures(calendar, decisions, chosen, policy.planner.human_channels)
    comparison_id = f"{baseline}_vs_{scenario}"
    table = compare(sides[baseline], sides[scenario], comparison_id)
    warehouse.write_frame("whatif_comparison", table, replace_where={
        "comparison_id": comparison_id})
    name = policy_file.name if policy_file else "inline overrides"
    page = whatif_page(table, {"baseline": "policy (baseline)",
                               "scenario": f"{name} ({scenario})",
                               "days": f"{first} to {last}"},
                       out_dir, f"whatif_{comparison_id}.html")
    return {"comparison_id": comparison_id, "baseline_id": baseline, "scenario_id": scenario,
            "page": str(page), "comparison": table,
            "changes": json.dumps(changes, sort_keys=True, default=str)}


def format_comparison(table: pd.DataFrame) -> str:
    """The comparison as aligned text for a terminal."""
    lines = []
    for measure, frame in table.groupby("measure", sort=False):
        lines.append(measure)
        for row in frame.itertuples(index=False):
            value = np.round([row.baseline, row.scenario, row.difference], 3)
            lines.append(f"  {row.key:<40} {value[0]:>10g} {value[1]:>10g} {value[2]:>+10g}")
    header = f"  {'':<40} {'baseline':>10} {'scenario':>10} {'change':>10}"
    return "\n".join([header, *lines])
