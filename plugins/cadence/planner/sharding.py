"""Airflow-facing glue of the planner: accounts hashed into shards (mapped tasks), one plan
per shard read from and written to the warehouse, then CSM levelling across shards.

Thin on purpose: each function reads, calls a pure function of the planner and writes the
partition back idempotently (plan_date + shard, or the plan date for the levelling).
"""

from __future__ import annotations

import hashlib
from datetime import date

import pandas as pd

from cadence.planner.csm_capacity import level_csm_load
from cadence.planner.engine import plan_calendar
from cadence.planner.inputs import read_context
from cadence.policy import Policy
from cadence.touches import ensure_planning_tables
from cadence.warehouse import Warehouse


def shard_of(account_id: str, n_shards: int) -> int:
    """The shard of an account: a stable hash (same on every machine and run)."""
    digest = hashlib.blake2b(account_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % n_shards


def shards_of(account_ids: pd.Series, n_shards: int) -> pd.Series:
    """:func:`shard_of` of each account id."""
    cache = {a: shard_of(a, n_shards) for a in account_ids.unique()}
    return account_ids.map(cache).astype("int64")


def list_shards(policy: Policy) -> list[int]:
    """The shard numbers to map the plan task over."""
    return list(range(policy.planner.shards))


def plan_calendar_shard(warehouse: Warehouse, policy: Policy, as_of: date, shard: int,
                        n_shards: int) -> dict:
    """Plan the accounts of one shard for ``as_of`` and replace its calendar and decisions
    partition (plan_date, shard). Returns counts for the task log."""
    ensure_planning_tables(warehouse)
    candidates = warehouse.read_frame(warehouse.render("planner/candidates.sql"),
                                      {"as_of": as_of})
    candidates = candidates[shards_of(candidates["account_id"], n_shards) == shard]
    accounts = set(candidates["account_id"])
    context = read_context(warehouse, as_of, accounts, policy.planner.horizon_days)
    result = plan_calendar(candidates.reset_index(drop=True), context, policy, as_of)
    partition = {"plan_date": as_of, "shard": shard}
    calendar = result.calendar.assign(shard=shard)
    decisions = result.decisions.assign(shard=shard)
    warehouse.write_frame("communication_calendar", calendar, replace_where=partition)
    warehouse.write_frame("calendar_decisions", decisions, replace_where=partition)
    counts = decisions["decision"].value_counts().sort_index()
    return {"shard": shard, "candidates": len(candidates), "planned": len(calendar),
            **{str(k): int(v) for k, v in counts.items()}}


def level_csm_capacity(warehouse: Warehouse, policy: Policy, as_of: date) -> dict:
    """After every shard: level each CSM's human touches of the plan date across weeks
    under weekly capacity (QBRs and renewals first), moving or dropping calendar rows and
    replacing their decisions. Rewrites the plan date's calendar and decisions."""
    ensure_planning_tables(warehouse)
    params = {"as_of": as_of}
    calendar = warehouse.read_frame(warehouse.render("planner/calendar.sql"), params)
    decisions = warehouse.read_frame(warehouse.render("planner/decisions.sql"), params)
    candidates = warehouse.read_frame(warehouse.render("planner/candidates.sql"), params)
    if calendar.empty:
        return {"levelled": 0, "moved_or_dropped": 0}
    calendar["scheduled_at"] = pd.to_datetime(calendar["scheduled_at"], utc=True)
    calendar["local_send_at"] = pd.to_datetime(calendar["local_send_at"])
    scheduled = calendar[calendar["status"] == "scheduled"].reset_index(drop=True)
    others = calendar[calendar["status"] != "scheduled"]
    context = read_context(warehouse, as_of, set(scheduled["account_id"]),
                           policy.planner.horizon_days)
    levelled, new_decisions = level_csm_load(scheduled, decisions, candidates, context,
                                             policy, as_of)
    merged = pd.concat([levelled, others], ignore_index=True).sort_values(
        ["shard", "touch_id"], kind="stable")
    new_decisions = new_decisions.sort_values(["shard", "touch_id"], kind="stable")
    partition = {"plan_date": as_of}
    warehouse.write_frame("communication_calendar", merged, replace_where=partition)
    warehouse.write_frame("calendar_decisions", new_decisions, replace_where=partition)
    changed = (new_decisions["rule"] == "9.csm_capacity").sum()
    return {"levelled": int(len(levelled)), "moved_or_dropped": int(changed)}
