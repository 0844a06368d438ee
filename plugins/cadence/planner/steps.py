"""Airflow-facing glue of the planner: accounts hashed into shards (mapped tasks), one plan
per shard read from and written to the warehouse, then CSM levelling across shards.

Thin on purpose: each function reads, calls a pure function of the planner and writes the
partition back idempotently (plan_date + shard, or the plan date for the levelling).
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from cadence.contract.warehouse import Warehouse
from cadence.planner.csm_capacity import RULE as CSM_CAPACITY
from cadence.planner.csm_capacity import csm_levelling_changes, human_touches
from cadence.planner.engine import plan_calendar
from cadence.planner.inputs import read_context

if TYPE_CHECKING:
    from cadence.policy import Policy


def shard_of(account_id: str, n_shards: int) -> int:
    """The shard of an account: a stable hash (same on every machine and run)."""
    digest = hashlib.blake2b(account_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % n_shards


def shards_of(account_ids: pd.Series, n_shards: int) -> pd.Series:
    """:func:`shard_of` of each account id."""
    cache = {a: shard_of(a, n_shards) for a in account_ids.unique()}
    return account_ids.map(cache).astype("int64")


def list_shards(warehouse: Warehouse, policy: Policy, as_of: date) -> list[int]:
    """Assign every account with candidates on ``as_of`` to its shard (the plan date's
    ``plan_accounts`` partition, replaced) and return the shard numbers to map the plan
    task over."""
    n_shards = policy.planner.shards
    accounts = warehouse.read_frame(warehouse.render("planner/candidate_accounts.sql"),
                                    {"as_of": as_of})["account_id"]
    warehouse.write_frame("plan_accounts", pd.DataFrame({
        "plan_date": as_of, "account_id": accounts, "shard": shards_of(accounts, n_shards)}),
        replace_where={"plan_date": as_of})
    return list(range(n_shards))


def plan_calendar_shard(warehouse: Warehouse, policy: Policy, as_of: date, shard: int) -> dict:
    """Plan the accounts of one shard (as :func:`list_shards` assigned them) for ``as_of``
    and replace its calendar and decisions partition (plan_date, shard); the warehouse
    reads only that shard's candidates and context. Returns counts for the task log."""
    candidates = warehouse.read_columns(warehouse.render("planner/candidates.sql", in_shard=True),
                                        {"as_of": as_of, "shard": shard})
    accounts = set(candidates["account_id"])
    context = read_context(warehouse, as_of, accounts, policy.planner.horizon_days, shard)
    # CSM capacity is levelled once, across shards, by level_csm_capacity.
    result = plan_calendar(candidates, context, policy, as_of, level_csm=False)
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
    under weekly capacity (by class, QBRs and renewals first), counting the human touches
    already sent this week, moving, dropping or escalating calendar rows and replacing
    their decisions. Reads only the accounts with human touches and changes only the rows
    it moves, drops or escalates. The only levelling of a DAG run: the shards do not
    level."""
    channels = policy.planner.human_channels
    params = {"as_of": as_of, **policy.planner.human_channel_params()}
    calendar = warehouse.read_columns(
        warehouse.render("planner/levelling_calendar.sql", channels=channels), params)
    if calendar.empty:
        return {"human_touches": 0, "moved_or_dropped": 0, "mix_drops": 0}
    candidates = warehouse.read_columns(
        warehouse.render("planner/levelling_candidates.sql", channels=channels), params)
    calendar["scheduled_at"] = pd.to_datetime(calendar["scheduled_at"], utc=True)
    calendar["local_send_at"] = pd.to_datetime(calendar["local_send_at"])
    context = read_context(warehouse, as_of, set(calendar["account_id"]),
                           policy.planner.horizon_days)
    changes = csm_levelling_changes(calendar, candidates, context, policy, as_of)
    warehouse.execute_with(warehouse.render("planner/apply_csm_levelling.sql"),
                           {"levelled_touches": changes}, {"as_of": as_of})
    return {"human_touches": int(human_touches(calendar, policy).sum()),
            "moved_or_dropped": int((changes["rule"] == CSM_CAPACITY).sum()),
            "mix_drops": int((changes["rule"] != CSM_CAPACITY).sum())}
