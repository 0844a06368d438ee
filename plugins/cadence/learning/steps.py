"""Warehouse glue of the learning steps of ``cadence_nightly`` (each reads, calls a pure
function of :mod:`cadence.learning` and replaces its partition, so reruns and backfills
are idempotent): learn from engagement, candidates per experiment arm, shards per arm,
the policy a shard plans under, learned send times, and the experiment readout."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from cadence.contract.policy_section import deep_merge
from cadence.contract.warehouse import Warehouse
from cadence.learning import experiments as exp
from cadence.learning.mix import learn_mix, mix_overrides
from cadence.learning.send_slots import learn_send_slots, slot_counts, steer_send_times


def _day_start(day: date) -> pd.Timestamp:
    return pd.Timestamp(day, tz="UTC")


def read_sent_engagement(warehouse: Warehouse, as_of: date, lookback_days: int
                         ) -> pd.DataFrame:
    """Messages sent in the ``lookback_days`` before ``as_of`` with their engagement
    (``learning/sent_engagement.sql``)."""
    sql = warehouse.render("learning/sent_engagement.sql")
    return warehouse.read_frame(sql, {
        "since": _day_start(as_of - timedelta(days=lookback_days)),
        "until": _day_start(as_of + timedelta(days=1)), "as_of": as_of})


def learn_from_engagement(warehouse: Warehouse, policy, as_of: date) -> dict:
    """Nightly: the learned send slots (``learned_send_slots``) and promotional mix
    (``learned_mix``) of ``as_of`` from what was sent and how it engaged."""
    rules = policy.learning
    lookback = max(rules.send_time.lookback_days, rules.mix.lookback_days)
    sent = read_sent_engagement(warehouse, as_of, lookback)
    sent_at = pd.to_datetime(sent["sent_at"], utc=True)
    since = {name: _day_start(as_of - timedelta(days=days)) for name, days in
             (("slots", rules.send_time.lookback_days), ("mix", rules.mix.lookback_days))}
    slots = learn_send_slots(sent[sent_at >= since["slots"]], policy.planner.timing,
                             rules.send_time, as_of)
    mix = learn_mix(sent[sent_at >= since["mix"]], policy.planner, rules.mix, as_of)
    partition = {"as_of_date": as_of}
    if not rules.send_time.enabled:
        slots = slots.iloc[0:0]
    if not rules.mix.enabled:
        mix = mix.iloc[0:0]
    warehouse.write_frame("learned_send_slots", slots.astype({"as_of_date": "object"}),
                          replace_where=partition)
    warehouse.write_frame("learned_mix", mix.astype({"as_of_date": "object"}),
                          replace_where=partition)
    return {"sent_messages": len(sent),
            "contact_slots": int((slots["scope"] == "contact").sum()),
            "segment_slots": int((slots["scope"] == "segment").sum()),
            "mix_tiers": len(mix)}


def _read_partition(warehouse: Warehouse, table: str, as_of: date) -> pd.DataFrame:
    if not warehouse.table_exists(table):
        return pd.DataFrame()
    return warehouse.read_table(table, {"as_of_date": as_of})


def planning_policy(warehouse: Warehouse, policy, as_of: date, shard: int | None = None):
    """The policy a shard is planned under: the policy, the learned promotional mix of
    ``as_of`` and, for an experiment arm's shard, the arm's overrides (which win)."""
    overrides = mix_overrides(_read_partition(warehouse, "learned_mix", as_of))
    arm = exp.arm_of_shard(policy, as_of, shard) if shard is not None else None
    if arm is not None:
        experiment_id, name = arm.split(":", 1)
        experiment = next(e for e in policy.experiments if e.id == experiment_id)
        overrides = deep_merge(overrides, experiment.arms[name].overrides)
    return policy.with_overrides(overrides, source="learned mix and experiment arm")


def generate_candidates(warehouse: Warehouse, policy, as_of: date, horizon_days: int,
                        run_id: str | None = None) -> dict:
    """Nightly: every team's candidates (:func:`cadence.candidates.generate
    .candidates_of_plan_date`), then, while experiments run, the day's new assignments
    (``experiment_assignments``) and each arm's accounts' candidates generated under the
    arm's policy, the holdout's cut to transactional and lifecycle touches."""
    from cadence.candidates.generate import candidates_of_plan_date
    from cadence.candidates.generate import generate_candidates as generate
    from cadence.contract.memory import release_memory

    # The candidates are written once, labelled with their arms: not written, read back
    # and written again (millions of rows at 100,000 accounts).
    result, base, inputs = candidates_of_plan_date(warehouse, policy, as_of, horizon_days,
                                                   run_id=run_id)
    assignments = assign_experiments(warehouse, policy, as_of)
    by_arm = {}
    arm_policies = exp.arm_policies(policy, as_of)
    wanted = {label for label, arm_policy in arm_policies.items()
              if arm_policy.candidates != policy.candidates}
    if wanted & set(assignments["experiment_arm"]):
        # Each arm generates for its own accounts only, not for every account.
        by_arm = {label: generate(inputs.of_accounts(assignments.loc[
            assignments["experiment_arm"] == label, "account_id"]), arm_policies[label],
            as_of, horizon_days) for label in sorted(wanted)}
    # Millions of rows at 100,000 accounts: the warehouse's cache is let go while they are
    # split, and the generations they came from before they are written.
    release_memory()
    candidates = exp.split_candidates(base, by_arm, assignments)
    del base, by_arm, inputs
    release_memory()
    warehouse.write_frame("touch_candidates", candidates, replace_where={"plan_date": as_of})
    arms = candidates["experiment_arm"].value_counts()
    return {**result, "candidates": len(candidates),
            "by_experiment_arm": {str(k): int(v) for k, v in arms.items()}}


def assign_experiments(warehouse: Warehouse, policy, as_of: date) -> pd.DataFrame:
    """Assign the accounts newly in a running experiment's population on ``as_of``
    (partition ``assigned_on``, replaced) and return every assignment up to ``as_of``."""
    earlier = pd.DataFrame(columns=exp.ASSIGNMENT_COLUMNS)
    if warehouse.table_exists("experiment_assignments"):
        earlier = warehouse.read_frame(
            "select * from experiment_assignments where assigned_on < :as_of", {"as_of": as_of})
    if not policy.experiments and earlier.empty:
        return earlier
    accounts = warehouse.read_frame(warehouse.render("candidates/accounts.sql"),
                                    {"as_of": as_of})
    accounts = accounts[accounts["status"].isin(policy.candidates.active_statuses)]
    segments = warehouse.read_frame(warehouse.render("candidates/segments.sql"),
                                    {"as_of": as_of})
    new = exp.assign_accounts(policy.experiments, accounts["account_id"], segments, earlier,
                              as_of)
    if len(new) or warehouse.table_exists("experiment_assignments"):
        warehouse.write_frame("experiment_assignments", new.astype({"assigned_on": "object"}),
                              replace_where={"assigned_on": as_of})
    return pd.concat([earlier, new], ignore_index=True)


def split_shards_by_arm(warehouse: Warehouse, policy, as_of: date,
                        shards: list[int]) -> list[int]:
    """Move the accounts of arms with planner overrides into shards of their own (shard +
    k * n_shards for the k-th such arm) in ``plan_accounts``; all shards to plan."""
    arms = exp.planner_arms(policy, as_of)
    if not arms or not warehouse.table_exists("experiment_assignments"):
        return shards
    n = policy.planner.shards
    plan = warehouse.read_table("plan_accounts", {"plan_date": as_of})
    assigned = warehouse.read_frame(
        "select account_id, experiment_arm from experiment_assignments"
        " where assigned_on <= :as_of", {"as_of": as_of})
    arm_of = dict(zip(assigned["account_id"], assigned["experiment_arm"], strict=True))
    index = plan["account_id"].map(arm_of).map({a: k + 1 for k, a in enumerate(arms)})
    plan["shard"] = (plan["shard"] % n + index.fillna(0).astype("int64") * n).astype("int64")
    warehouse.write_frame("plan_accounts", plan, replace_where={"plan_date": as_of})
    return [*shards, *[k * n + s for k in range(1, len(arms) + 1) for s in range(n)]]


def apply_learned_send_slots(warehouse: Warehouse, policy, as_of: date) -> dict:
    """Nightly, after the shards are planned: label each calendar row with its candidate's
    experiment arm, set the learned send hour on the plan date's email and in-app touches
    and say which slot each uses in its calendar reason and decision detail."""
    rules = policy.learning.send_time
    # Columns through Arrow, and only those steering reads: the plan date's calendar and
    # candidates are millions of rows at 100,000 accounts. The changes are applied in place.
    calendar = warehouse.read_columns(warehouse.render("learning/steering_calendar.sql"),
                                      {"as_of": as_of})
    if calendar.empty:
        return {"steered": 0}
    calendar["scheduled_at"] = pd.to_datetime(calendar["scheduled_at"], utc=True)
    calendar["local_send_at"] = pd.to_datetime(calendar["local_send_at"])
    windows = warehouse.read_columns(
        "select touch_id, earliest_at, latest_at from touch_candidates"
        " where plan_date = :d", {"d": as_of})
    arm = calendar.pop("candidate_arm")
    slots = _read_partition(warehouse, "learned_send_slots", as_of)
    if slots.empty or not rules.enabled:
        slots = pd.DataFrame(columns=["scope", "key", "weekday", "hour", "delivered",
                                      "opens_in_slot"])
    tiers = warehouse.read_columns(warehouse.render("candidates/segments.sql"),
                                   {"as_of": as_of})
    tiers = tiers[tiers["segment_type"] == "tier"].drop_duplicates("account_id")
    steered, text = steer_send_times(calendar, windows, slots,
                                     tiers.set_index("account_id")["segment_key"],
                                     policy.planner.timing, rules)
    said = text != ""
    moved = steered["scheduled_at"] != calendar["scheduled_at"]
    relabelled = ~((arm == calendar["experiment_arm"])
                   | (arm.isna() & calendar["experiment_arm"].isna()))
    changed = said | moved | relabelled
    warehouse.execute_with(warehouse.render("learning/apply_send_slots.sql"), {
        "steered_touches": pd.DataFrame({
            "touch_id": steered.loc[changed, "touch_id"],
            "experiment_arm": arm[changed].astype(object),
            "scheduled_at": steered.loc[changed, "scheduled_at"],
            "local_send_at": steered.loc[changed, "local_send_at"],
            "said": text[changed].where(said[changed], None)})}, {"as_of": as_of})
    return {"steered": int(moved.sum()), **slot_counts(text[said])}


def write_experiment_readout(warehouse: Warehouse, policy, as_of: date,
                             out_dir) -> dict:
    """Nightly: the readout of every experiment with assignments, per arm and week
    (``experiment_readout``, ``experiment_outcomes``, partition as_of_date) and its HTML
    page ``reports/experiments_<date>.html``."""
    from cadence.learning.pages import experiments_page

    if not warehouse.table_exists("experiment_assignments") or not policy.experiments:
        return {"experiments": 0}
    assignments = warehouse.read_frame(
        "select * from experiment_assignments where assigned_on <= :as_of", {"as_of": as_of})
    readouts, outcomes = [], []
    health = warehouse.read_frame(
        "select account_id, as_of_date, score from account_health where as_of_date <= :d",
        {"d": as_of})
    accounts = warehouse.read_frame("select account_id, renewal_status from stg_accounts")
    for experiment in policy.experiments:
        if experiment.start > as_of:
            continue
        days = (as_of - experiment.start).days + 1
        sent = read_sent_engagement(warehouse, as_of, min(days, experiment.metric_weeks * 7))
        readouts.append(exp.arm_readout(sent, experiment))
        outcomes.append(exp.account_outcomes(assignments, health, accounts, experiment))
    readout = pd.concat(readouts, ignore_index=True) if readouts else pd.DataFrame(
        columns=exp.READOUT_COLUMNS)
    outcome = pd.concat(outcomes, ignore_index=True) if outcomes else pd.DataFrame()
    partition = {"as_of_date": as_of}
    warehouse.write_frame("experiment_readout", readout.assign(as_of_date=as_of),
                          replace_where=partition)
    if len(outcome):
        warehouse.write_frame("experiment_outcomes", outcome.assign(as_of_date=as_of),
                              replace_where=partition)
    path = experiments_page(readout, outcome, out_dir, as_of)
    return {"experiments": len(readouts), "readout_rows": len(readout), "page": str(path)}
