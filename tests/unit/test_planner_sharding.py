"""The planner's warehouse glue: shards cover every account once, a rerun replaces its
partition, and CSM levelling after the shards keeps each CSM within weekly capacity."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd

from cadence.planner.inputs import read_context
from cadence.planner.steps import (
    level_csm_capacity,
    list_shards,
    plan_calendar_shard,
    shard_of,
)

AS_OF = date(2026, 11, 23)
START = datetime(2026, 11, 23, tzinfo=UTC)
ACCOUNTS = [f"acc{i}" for i in range(12)]


def seed(warehouse) -> None:
    """Twelve accounts of one CSM (capacity 4 a week), each with a check-in call and two
    emails; one contact unsubscribed."""
    accounts = pd.DataFrame({"account_id": ACCOUNTS, "country": "GB",
                             "timezone": "Europe/London", "arr": 10_000.0,
                             "status": "active", "csm_id": "m1"})
    contacts = pd.DataFrame({"contact_id": [f"{a}_c" for a in ACCOUNTS], "account_id": ACCOUNTS,
                             "email": [f"{a}@example.com" for a in ACCOUNTS],
                             "timezone": None, "phone": None})
    rows = []
    for a in ACCOUNTS:
        for n, (channel, template, priority) in enumerate([
                ("call", "csm_check_in", 70), ("email", "tips", 40), ("email", "news", 40)]):
            earliest = START + timedelta(days=n)
            rows.append({"touch_id": f"{a}_{template}", "plan_date": AS_OF,
                         "contact_id": f"{a}_c", "account_id": a, "csm_id": "m1",
                         "team": "cs", "message_type": "relationship" if n == 0
                         else "educational", "category": None, "channel": channel,
                         "template_id": template, "intent": template, "source": "cadence",
                         "rule_id": template, "earliest_at": earliest,
                         "latest_at": earliest + timedelta(days=13), "priority": priority,
                         "urgent": False, "payload": "{}"})
    warehouse.write_frame("stg_accounts", accounts, replace_all=True)
    warehouse.write_frame("stg_contacts", contacts, replace_all=True)
    warehouse.write_frame("touch_candidates", pd.DataFrame(rows), replace_all=True)
    warehouse.write_frame("stg_preferences", pd.DataFrame(
        {"contact_id": ["acc0_c"], "category": ["educational"], "channel": ["email"],
         "frequency": ["as_sent"], "updated_at": [START]}), replace_all=True)
    warehouse.write_frame("stg_suppressions", pd.DataFrame(
        {"email": ["acc1@example.com"], "contact_id": [None], "reason": ["unsubscribe"],
         "scope": ["all"], "created_at": [START - timedelta(days=1)]}), replace_all=True)
    warehouse.write_frame("stg_support_tickets", pd.DataFrame(
        {"ticket_id": ["k1"], "account_id": ["acc2"], "contact_id": [None],
         "opened_at": [START - timedelta(days=2)],
         "closed_at": pd.Series([pd.NaT], dtype="datetime64[us, UTC]"), "priority": ["p1"],
         "status": ["open"], "csat": pd.Series([None], dtype="Int64")}), replace_all=True)
    warehouse.write_frame("stg_csms", pd.DataFrame(
        {"csm_id": ["m1"], "weekly_capacity": [4], "timezone": ["Europe/London"]}),
        replace_all=True)


def test_shards_plan_every_account_once_and_reruns_replace(any_warehouse, policy):
    seed(any_warehouse)
    shards = list_shards(any_warehouse, policy, AS_OF)
    assert shards == list(range(policy.planner.shards))
    assert all(shard_of(a, 4) == shard_of(a, 4) for a in ACCOUNTS)
    assert len({shard_of(a, 4) for a in ACCOUNTS}) > 1  # the hash spreads accounts
    for shard in shards:
        plan_calendar_shard(any_warehouse, policy, AS_OF, shard)
    plan_calendar_shard(any_warehouse, policy, AS_OF, shards[0])  # a rerun
    decisions = any_warehouse.read_table("calendar_decisions")
    assert sorted(decisions["touch_id"]) == sorted(
        any_warehouse.read_table("touch_candidates")["touch_id"])
    unsubscribed = decisions[decisions["account_id"] == "acc1"]
    assert set(unsubscribed["decision"]) == {"suppressed"}

    summary = level_csm_capacity(any_warehouse, policy, AS_OF)
    assert summary["moved_or_dropped"] > 0
    calendar = any_warehouse.read_table("communication_calendar")
    calls = calendar[calendar["channel"] == "call"]
    weeks = pd.to_datetime(calls["local_send_at"]).dt.isocalendar().week
    assert weeks.value_counts().max() <= 4
    decisions = any_warehouse.read_table("calendar_decisions")
    assert decisions["touch_id"].is_unique and len(decisions) == 36
    level_csm_capacity(any_warehouse, policy, AS_OF)  # levelling twice changes nothing
    assert any_warehouse.count("communication_calendar") == len(calendar)


def test_a_shard_reads_only_its_own_accounts(any_warehouse, policy):
    # Each mapped task reads its shard's candidates and context from the warehouse, not
    # the whole plan date filtered afterwards; reassigning replaces the plan date's map.
    seed(any_warehouse)
    shards = list_shards(any_warehouse, policy, AS_OF)
    list_shards(any_warehouse, policy, AS_OF)
    assigned = any_warehouse.read_table("plan_accounts")
    assert sorted(assigned["account_id"]) == sorted(ACCOUNTS)
    for shard in shards:
        mine = {a for a in ACCOUNTS if shard_of(a, len(shards)) == shard}
        candidates = any_warehouse.read_frame(
            any_warehouse.render("planner/candidates.sql", in_shard=True),
            {"as_of": AS_OF, "shard": shard})
        assert set(candidates["account_id"]) == mine
        context = read_context(any_warehouse, AS_OF, mine, policy.planner.horizon_days, shard)
        for frame in (context.accounts, context.contacts, context.tickets):
            assert set(frame["account_id"]) <= mine
        assert set(context.accounts["account_id"]) == mine
