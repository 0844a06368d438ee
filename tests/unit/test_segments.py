"""Segment policy and the SCD2 history built from daily segment snapshots."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadence.contract.schema import create_warehouse_tables
from cadence.contract.warehouse import Warehouse
from cadence.models.runner import build_models
from cadence.models.segments import segments_at, write_named_strategic_accounts
from cadence.policy import PolicyError, parse_policy

DAY1 = date(2026, 3, 1)


def _days(*offsets: int) -> list[date]:
    return [DAY1 + timedelta(days=n) for n in offsets]


def _snapshots(warehouse, memberships: dict[tuple[str, str], list[date]], days: list[date]):
    """Write segment_daily as the daily model would: one partition per snapshot day, in
    which every account has its tier (so a built day is never empty) plus its signals."""
    for day in days:
        rows = [
            {"as_of_date": day, "account_id": account, "segment_type": "tier",
             "segment_key": "smb"}
            for account in sorted({account for account, _ in memberships})
        ] + [
            {"as_of_date": day, "account_id": account, "segment_type": "signal",
             "segment_key": key}
            for (account, key), member_days in memberships.items()
            if day in member_days
        ]
        frame = pd.DataFrame(rows)
        warehouse.write_frame("segment_daily", frame, replace_where={"as_of_date": day})


def _history(warehouse, policy, as_of: date) -> list[tuple]:
    build_models(warehouse, policy, as_of, ["segment_membership"])
    frame = warehouse.read_frame(
        "select account_id, segment_key, valid_from, valid_to, is_current"
        " from segment_membership where segment_type = 'signal'"
        " order by account_id, segment_key, valid_from"
    )
    return [
        (r.account_id, r.segment_key, r.valid_from,
         None if pd.isna(r.valid_to) else r.valid_to, bool(r.is_current))
        for r in frame.itertuples()
    ]


def test_tier_thresholds_out_of_order_name_the_section():
    with pytest.raises(PolicyError, match=r"segments: .*tier ARR thresholds"):
        parse_policy({"segments": {"smb_min_arr": 200000}})


def test_unknown_segment_key_is_an_error():
    with pytest.raises(PolicyError, match=r"segments\.vip_accounts"):
        parse_policy({"segments": {"vip_accounts": ["a1"]}})


def test_leaving_and_returning_gives_two_rows_and_only_the_last_is_current(warehouse, policy):
    days = _days(0, 1, 2, 3, 4, 5)
    _snapshots(warehouse, {("a1", "at_risk"): _days(0, 1, 2, 4, 5),
                           ("a2", "silent"): _days(0, 1)}, days)
    assert _history(warehouse, policy, days[-1]) == [
        ("a1", "at_risk", _days(0)[0], _days(3)[0], False),
        ("a1", "at_risk", _days(4)[0], None, True),
        ("a2", "silent", _days(0)[0], _days(2)[0], False),
    ]


def test_a_day_never_built_does_not_split_a_membership(warehouse, policy):
    days = _days(0, 1, 3)  # day 2 was never built
    _snapshots(warehouse, {("a1", "inactive"): days}, days)
    assert _history(warehouse, policy, days[-1]) == [
        ("a1", "inactive", _days(0)[0], None, True)
    ]


def test_segments_at_a_date_follow_the_validity_intervals(warehouse, policy):
    days = _days(0, 1, 2, 3)
    _snapshots(warehouse, {("a1", "promoter"): _days(1, 2)}, days)
    _history(warehouse, policy, days[-1])
    on = {d: set(segments_at(warehouse, d)["segment_key"]) for d in days}
    assert on == {days[0]: {"smb"}, days[1]: {"smb", "promoter"}, days[2]: {"smb", "promoter"},
                  days[3]: {"smb"}}


def test_named_strategic_accounts_are_written_and_replaced(warehouse):
    policy = parse_policy({"segments": {"strategic_accounts": ["a7", "a9"]}})
    write_named_strategic_accounts(warehouse, policy)
    write_named_strategic_accounts(warehouse, policy)
    names = warehouse.read_table("segment_named_strategic_accounts")
    assert sorted(names["account_id"]) == ["a7", "a9"]
    write_named_strategic_accounts(warehouse, parse_policy({}))
    assert warehouse.count("segment_named_strategic_accounts") == 0


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    built=st.lists(st.booleans(), min_size=2, max_size=10).filter(any),
    member=st.lists(st.booleans(), min_size=10, max_size=10),
)
def test_history_gives_back_every_built_days_segments(tmp_path_factory, policy, built, member):
    """Whatever days were built and whenever the account was in the segment, reading the
    SCD2 history on a built day gives exactly that day's snapshot."""
    warehouse = Warehouse(f"duckdb:///{tmp_path_factory.mktemp('scd2') / 'w.duckdb'}")
    create_warehouse_tables(warehouse)
    days = [DAY1 + timedelta(days=n) for n, was_built in enumerate(built) if was_built]
    in_segment = [d for d in days if member[(d - DAY1).days]]
    _snapshots(warehouse, {("a1", "at_risk"): in_segment}, days)
    _history(warehouse, policy, days[-1])
    for day in days:
        keys = set(segments_at(warehouse, day)["segment_key"])
        assert ("at_risk" in keys) == (day in in_segment)
    warehouse.engine.dispose()
