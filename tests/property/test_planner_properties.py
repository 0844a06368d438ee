"""Properties of the planner over random candidate sets (DESIGN §8, §11): no cap, spacing
or mix rule is ever exceeded in the output (counting sent history), no non-transactional
touch reaches an opted-out contact, every candidate has exactly one decision, the same
input gives the same output, and sent history is never moved."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadence.contract.settings import INCLUDE_DIR
from cadence.planner.engine import plan_calendar
from cadence.planner.inputs import PlanningContext
from cadence.policy import load_policy

AS_OF = date(2026, 11, 23)
START = datetime(2026, 11, 23, tzinfo=UTC)
POLICY = load_policy(INCLUDE_DIR / "config" / "policy.yml")
LIMITS = POLICY.planner.limits
CONTACTS = [f"c{i}" for i in range(4)]
ZONES = {"c0": "Europe/London", "c1": "Asia/Tokyo", "c2": "America/New_York",
         "c3": "Europe/London"}
KINDS = [("email", "educational"), ("email", "promotional"), ("email", "relationship"),
         ("in_app", "educational"), ("in_app", "promotional"), ("sms", "operational"),
         ("email", "transactional"), ("call", "relationship")]

candidate = st.fixed_dictionaries({
    "contact_id": st.sampled_from(CONTACTS),
    "kind": st.sampled_from(KINDS),
    "intent": st.sampled_from(["a", "b", "c", "d", "e", "f", "g", "h"]),
    "day": st.integers(0, 20),
    "hour": st.integers(0, 23),
    "window": st.integers(0, 10),
    "priority": st.sampled_from([20, 40, 50, 70, 80]),
    "urgent": st.booleans(),
})
scenario = st.fixed_dictionaries({
    "candidates": st.lists(candidate, min_size=1, max_size=40),
    "unsubscribed": st.sets(st.sampled_from(CONTACTS), max_size=2),
    "weekly": st.sets(st.sampled_from(CONTACTS), max_size=2),
    "sent": st.lists(st.tuples(st.sampled_from(CONTACTS), st.integers(-20, -1),
                               st.sampled_from(["email", "in_app"])), max_size=3,
                     unique_by=lambda t: t[0]),
    "resend_sent": st.booleans(),
})


def build(spec):
    """Candidates and context of a random scenario."""
    rows = []
    for n, c in enumerate(spec["candidates"]):
        channel, message_type = c["kind"]
        earliest = START + timedelta(days=c["day"], hours=c["hour"])
        rows.append({
            "touch_id": f"t{n:03}", "contact_id": c["contact_id"],
            "account_id": "a1" if c["contact_id"] in ("c0", "c1") else "a2",
            "channel": channel, "message_type": message_type,
            "template_id": f"tpl_{c['intent']}", "intent": c["intent"], "team": "cs",
            "earliest_at": earliest, "latest_at": earliest + timedelta(days=c["window"]),
            "priority": 100 if message_type == "transactional" else c["priority"],
            "urgent": c["urgent"], "csm_id": "m1"})
    history = pd.DataFrame([{
        "touch_id": f"h_{contact}", "contact_id": contact,
        "account_id": "a1" if contact in ("c0", "c1") else "a2", "channel": channel,
        "message_type": "educational", "category": "educational", "template_id": "tips",
        "scheduled_at": START + timedelta(days=day, hours=10), "status": "sent"}
        for contact, day, channel in spec["sent"]], columns=[
        "touch_id", "contact_id", "account_id", "channel", "message_type", "category",
        "template_id", "scheduled_at", "status"])
    if spec["resend_sent"] and len(history):
        first = history.iloc[0]
        rows.append(rows[0] | {"touch_id": first["touch_id"],
                               "contact_id": first["contact_id"],
                               "account_id": first["account_id"]})
    context = PlanningContext(
        contacts=pd.DataFrame({"contact_id": CONTACTS,
                               "account_id": ["a1", "a1", "a2", "a2"],
                               "email": [f"{c}@example.com" for c in CONTACTS],
                               "timezone": [ZONES[c] for c in CONTACTS]}),
        accounts=pd.DataFrame({"account_id": ["a1", "a2"], "country": ["GB", "US"],
                               "timezone": ["Europe/London", "America/New_York"],
                               "arr": [1e5, 2e4], "status": "active", "csm_id": "m1",
                               "tier": ["enterprise", "tech_touch"]}),
        suppressions=pd.DataFrame({"email": None, "contact_id": sorted(spec["unsubscribed"]),
                                   "reason": "unsubscribe", "scope": "all"}),
        preferences=pd.DataFrame({"contact_id": sorted(spec["weekly"]),
                                  "category": "educational", "channel": None,
                                  "frequency": "weekly"}),
        csms=pd.DataFrame({"csm_id": ["m1"], "weekly_capacity": [3], "timezone": ["UTC"]}),
        history=history)
    return pd.DataFrame(rows), context


def max_in_window(days: list[int], width: int) -> int:
    """Most touches in any ``width`` consecutive days."""
    days = sorted(days)
    return max((np.searchsorted(days, d + width) - i for i, d in enumerate(days)), default=0)


def local_day(stamp, zone) -> int:
    return (pd.Timestamp(stamp).tz_convert(zone).date() - AS_OF).days


def received(result, context) -> pd.DataFrame:
    """Non-transactional touches each contact receives: the plan plus sent history."""
    planned = result.calendar[result.calendar["message_type"] != "transactional"]
    frames = [planned[["touch_id", "contact_id", "account_id", "channel", "message_type",
                       "scheduled_at"]], context.history[["touch_id", "contact_id",
                                                          "account_id", "channel",
                                                          "message_type", "scheduled_at"]]]
    rows = pd.concat([f for f in frames if len(f)] or [frames[0]], ignore_index=True)
    rows["day"] = [local_day(s, ZONES[c]) for s, c in zip(rows["scheduled_at"],
                                                            rows["contact_id"], strict=True)]
    return rows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario)
def test_plans_keep_every_rule(spec):
    candidates, context = build(spec)
    result = plan_calendar(candidates, context, POLICY, AS_OF)

    # every candidate has exactly one decision, and only planned ones are on the calendar
    assert sorted(result.decisions["touch_id"]) == sorted(candidates["touch_id"])
    planned = set(result.decisions.loc[result.decisions["decision"].isin(
        ["scheduled", "deferred"]), "touch_id"])
    assert set(result.calendar["touch_id"]) == planned
    assert result.decisions["rule"].notna().all() and result.decisions["detail"].notna().all()

    # sent history is never moved or planned again
    assert not set(result.calendar["touch_id"]) & set(context.history["touch_id"])

    # no non-transactional touch to an unsubscribed contact
    to_optout = result.calendar[result.calendar["contact_id"].isin(spec["unsubscribed"])]
    assert (to_optout["message_type"] == "transactional").all()

    rows = received(result, context)
    for contact, mine in rows.groupby("contact_id"):
        days = list(mine["day"])
        email = list(mine.loc[mine["channel"] == "email", "day"])
        assert max_in_window(email, 7) <= LIMITS.email_per_7_days, contact
        assert max_in_window(email, 30) <= LIMITS.email_per_30_days, contact
        assert max_in_window(list(mine.loc[mine["channel"] == "in_app", "day"]), 1) <= 1
        assert max_in_window(list(mine.loc[mine["channel"] == "sms", "day"]), 7) <= 1
        limit = 2 if contact in ("c2", "c3") else LIMITS.all_channels_per_7_days  # tech_touch
        assert max_in_window(days, 7) <= limit, contact
        assert len(days) == len(set(days)), f"{contact}: two touches on one day"
        promos = sorted(mine.loc[mine["message_type"] == "promotional", "day"])
        assert all(b - a >= 7 for a, b in zip(promos, promos[1:], strict=False)), contact
        for end in promos:
            window = mine[(mine["day"] > end - 30) & (mine["day"] <= end)]
            share = (window["message_type"] == "promotional").sum() / len(window)
            assert share <= LIMITS.promotional_max_share, contact
        if contact in spec["weekly"]:
            edu = list(mine.loc[mine["message_type"] == "educational", "day"])
            assert max_in_window(edu, 7) <= 1, contact
    for _, account in rows.groupby("account_id"):
        assert max_in_window(list(account["day"]), 7) <= LIMITS.account_per_7_days

    # the CSM's weekly capacity (3) holds
    human = result.calendar[result.calendar["channel"] == "call"]
    weeks = [pd.Timestamp(d).isocalendar()[1] for d in human["local_send_at"]]
    assert all(weeks.count(w) <= 3 for w in weeks)

    # same input, rows in another order -> the same output
    again = plan_calendar(candidates.iloc[::-1], context, POLICY, AS_OF)
    pd.testing.assert_frame_equal(result.calendar, again.calendar)
    pd.testing.assert_frame_equal(result.decisions, again.decisions)
