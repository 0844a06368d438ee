"""The planner's rules (DESIGN §8) one by one on small hand-made scenarios.

The plan date is Monday 2026-11-23; contacts live in London (UTC in November) in GB unless
a test says otherwise, so 10:00 local is 10:00Z.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from cadence.contract.tables import CALENDAR_DECISIONS, COMMUNICATION_CALENDAR
from cadence.planner.engine import plan_calendar
from cadence.planner.inputs import PlanningContext

AS_OF = date(2026, 11, 23)
START = datetime(2026, 11, 23, tzinfo=UTC)


def touch(touch_id, contact="c1", account="a1", channel="email", message_type="educational",
          template="tips", day=0, window=7, priority=40, intent=None, **extra) -> dict:
    """One candidate wanted from ``day`` for ``window`` days after the plan date."""
    earliest = START + timedelta(days=day)
    row = {"touch_id": touch_id, "contact_id": contact, "account_id": account,
           "channel": channel, "message_type": message_type, "template_id": template,
           "intent": intent or f"{template}:{touch_id}", "team": "cs",
           "earliest_at": earliest, "latest_at": earliest + timedelta(days=window),
           "priority": priority}
    row.update(extra)
    return row


def context(contacts=("c1",), account="a1", country="GB", timezone="Europe/London",
            status="active", tier="mid_market", **frames) -> PlanningContext:
    """One account with the given contacts, plus any other context frames."""
    return PlanningContext(
        contacts=pd.DataFrame({"contact_id": list(contacts), "account_id": account,
                               "email": [f"{c}@example.com" for c in contacts],
                               "timezone": timezone}),
        accounts=pd.DataFrame({"account_id": [account], "country": [country],
                               "timezone": [timezone], "arr": [50_000.0], "status": [status],
                               "csm_id": ["m1"], "tier": [tier]}),
        **frames)


def plan(policy, rows, ctx=None, as_of=AS_OF):
    """Plan the rows and check the output contract every plan must meet."""
    result = plan_calendar(pd.DataFrame(rows), ctx or context(), policy, as_of)
    assert sorted(result.decisions["touch_id"]) == sorted(r["touch_id"] for r in rows)
    assert set(result.calendar.columns) == set(COMMUNICATION_CALENDAR) - {"shard"}
    assert set(result.decisions.columns) == set(CALENDAR_DECISIONS) - {"shard"}
    return result


def decision(result, touch_id) -> dict:
    """The decision row of one touch."""
    rows = result.decisions[result.decisions["touch_id"] == touch_id]
    assert len(rows) == 1
    return rows.iloc[0].to_dict()


def slot(result, touch_id) -> pd.Series:
    """The calendar row of one touch."""
    rows = result.calendar[result.calendar["touch_id"] == touch_id]
    assert len(rows) == 1, f"{touch_id} not planned"
    return rows.iloc[0]


def planned_days(result) -> dict[str, date]:
    """Local day of each planned touch."""
    return {t: d.date() for t, d in zip(result.calendar["touch_id"],
                                        result.calendar["local_send_at"], strict=True)}


# -- 0 hold ------------------------------------------------------------------------------
def test_campaign_awaiting_approval_is_held_and_takes_no_cap_room(policy):
    waiting = "awaiting approval: campaign c9 is not approved"
    rows = [touch("t1", hold=waiting), touch("t2"), touch("t3", hold="")]
    result = plan(policy, rows)
    held = decision(result, "t1")
    assert (held["decision"], held["rule"], held["detail"]) == ("held", "0.hold", waiting)
    assert "t1" not in set(result.calendar["touch_id"])
    # The held touch does not use the two-a-week email cap: both others are on the
    # calendar (an empty hold is no hold).
    assert {"t2", "t3"} <= set(result.calendar["touch_id"])


def test_a_candidate_note_starts_its_decision_detail(policy):
    moved = "moved past season retail_peak (11-15 to 12-31): wanted from 2026-11-20"
    result = plan(policy, [touch("t1", note=moved), touch("t2", day=3)])
    assert decision(result, "t1")["detail"].startswith(moved + "; ")
    assert not decision(result, "t2")["detail"].startswith("moved")


# -- 1 eligibility and 2 transactional bypass -------------------------------------------
def test_unsubscribed_contact_still_gets_password_reset_but_no_newsletter(policy):
    suppressions = pd.DataFrame({"email": ["c1@example.com"], "contact_id": [None],
                                 "reason": ["unsubscribe"], "scope": ["all"]})
    result = plan(policy, [
        touch("reset", message_type="transactional", template="password_reset", day=5,
              priority=100),
        touch("news", template="newsletter"),
    ], context(suppressions=suppressions))
    assert decision(result, "news")["decision"] == "suppressed"
    assert decision(result, "news")["rule"] == "1.eligibility"
    assert "unsubscribed" in decision(result, "news")["detail"]
    reset = slot(result, "reset")
    # Saturday 28 Nov 00:00Z: transactional goes when due, weekend or not.
    assert reset["scheduled_at"] == pd.Timestamp("2026-11-28T00:00Z")
    assert decision(result, "reset")["rule"] == "2.transactional_bypass"


def test_erased_contact_gets_nothing_at_all(policy):
    suppressions = pd.DataFrame({"email": [None], "contact_id": ["c1"],
                                 "reason": ["erasure"], "scope": ["all"]})
    result = plan(policy, [touch("reset", message_type="transactional", priority=100),
                           touch("tips")], context(suppressions=suppressions))
    assert result.calendar.empty
    assert set(result.decisions["decision"]) == {"suppressed"}


def test_bounced_email_blocks_email_but_in_app_still_goes(policy):
    suppressions = pd.DataFrame({"email": ["C1@Example.com"], "contact_id": [None],
                                 "reason": ["bounce"], "scope": ["email"]})
    result = plan(policy, [touch("mail"), touch("inapp", channel="in_app", day=2)],
                  context(suppressions=suppressions))
    assert decision(result, "mail")["decision"] == "suppressed"
    assert decision(result, "inapp")["decision"] in ("scheduled", "deferred")


def test_marketing_unsubscribe_blocks_promotional_and_educational_only(policy):
    suppressions = pd.DataFrame({"email": [None], "contact_id": ["c1"],
                                 "reason": ["unsubscribe"], "scope": ["marketing"]})
    result = plan(policy, [
        touch("promo", message_type="promotional", template="offer", priority=20),
        touch("edu", day=2),
        touch("account", message_type="operational", template="billing_notice", day=4,
              priority=45),
    ], context(suppressions=suppressions))
    assert decision(result, "promo")["decision"] == "suppressed"
    assert decision(result, "edu")["decision"] == "suppressed"
    assert decision(result, "account")["decision"] in ("scheduled", "deferred")


def test_never_preference_and_churned_account(policy):
    preferences = pd.DataFrame({"contact_id": ["c1"], "category": ["educational"],
                                "channel": ["email"], "frequency": ["never"]})
    result = plan(policy, [touch("edu"), touch("inapp", channel="in_app", day=2)],
                  context(preferences=preferences))
    assert decision(result, "edu")["decision"] == "suppressed"
    assert "never" in decision(result, "edu")["detail"]
    assert decision(result, "inapp")["decision"] in ("scheduled", "deferred")

    churned = plan(policy, [touch("edu"), touch("receipt", message_type="transactional",
                                                 priority=100)], context(status="churned"))
    assert decision(churned, "edu")["decision"] == "suppressed"
    assert decision(churned, "receipt")["decision"] == "scheduled"


def test_sms_goes_only_for_the_urgent_classes_policy_names(policy):
    rows = [touch("outage", channel="sms", message_type="transactional",
                  template="outage_notice", priority=100),
            touch("deadline", channel="sms", message_type="operational",
                  template="renewal_urgent", source="renewal", day=2, priority=70),
            touch("promo_sms", channel="sms", message_type="promotional", template="offer",
                  day=4, priority=20)]
    result = plan(policy, rows)
    assert decision(result, "outage")["decision"] == "scheduled"
    assert decision(result, "deadline")["decision"] in ("scheduled", "deferred")
    refused = decision(result, "promo_sms")
    assert (refused["decision"], refused["rule"]) == ("suppressed", "1.eligibility")
    assert refused["detail"] == ("sms only for urgent classes (transactional,"
                                 " lifecycle_critical); this touch is promotional:"
                                 " use email or in-app")

    transactional_only = policy.model_copy(update={"planner": policy.planner.model_copy(
        update={"sms_classes": ["transactional"]})})
    narrower = plan(transactional_only, rows)
    assert decision(narrower, "deadline")["decision"] == "suppressed"
    assert "this touch is lifecycle_critical" in decision(narrower, "deadline")["detail"]
    assert decision(narrower, "outage")["decision"] == "scheduled"


def test_an_urgent_sms_to_a_contact_without_a_phone_number_is_suppressed(policy):
    ctx = context(contacts=["c1", "c2", "c3"])
    ctx.contacts["has_phone"] = [True, False, None]  # c3: not known, dispatch checks it
    rows = [touch(f"outage_{c}", contact=c, channel="sms", message_type="transactional",
                  template="outage_notice", priority=100) for c in ("c1", "c2", "c3")]
    rows.append(touch("mail_c2", contact="c2", message_type="transactional",
                      template="outage_notice", priority=100))
    result = plan(policy, rows, ctx)
    assert decision(result, "outage_c1")["decision"] == "scheduled"
    assert decision(result, "outage_c3")["decision"] == "scheduled"
    assert decision(result, "mail_c2")["decision"] == "scheduled"  # email still goes
    refused = decision(result, "outage_c2")
    assert (refused["decision"], refused["rule"], refused["detail"]) == (
        "suppressed", "1.eligibility", "contact has no phone number: no sms")


# -- 3 deduplication --------------------------------------------------------------------
def test_two_teams_wanting_the_same_renewal_reminder_are_merged(policy):
    result = plan(policy, [
        touch("t_sales", intent="renewal_reminder", template="renewal_sales", priority=80,
              team="sales"),
        touch("t_cs", intent="renewal_reminder", template="renewal_cs", priority=70, day=1),
    ])
    merged = decision(result, "t_cs")
    assert merged["decision"] == "merged"
    assert merged["rule"] == "3.deduplication"
    assert "t_sales" in merged["detail"] and "sales" in merged["detail"]
    assert list(result.calendar["touch_id"]) == ["t_sales"]


def test_same_intent_in_separate_windows_is_not_a_duplicate(policy):
    result = plan(policy, [touch("w1", intent="weekly_tip", window=2),
                           touch("w2", intent="weekly_tip", day=8, window=2)])
    assert set(result.calendar["touch_id"]) == {"w1", "w2"}


# -- 4 frequency caps -------------------------------------------------------------------
def test_five_wishes_in_one_week_with_a_cap_of_two(policy):
    rows = [touch(f"w{i}", day=i, window=3, priority=40 + i) for i in range(5)]
    result = plan(policy, rows)
    days = sorted(planned_days(result).values())
    week = [d for d in days if d < date(2026, 11, 30)]
    assert len(week) <= 2
    outcomes = result.decisions.set_index("touch_id")
    capped = outcomes[outcomes["rule"] == "4.frequency_cap"]
    assert len(capped) >= 1
    assert any("email cap 2 per 7 days reached (2 already:" in d for d in capped["detail"])


def test_sent_history_counts_toward_the_cap(policy):
    history = pd.DataFrame({
        "touch_id": ["h1", "h2"], "contact_id": "c1", "account_id": "a1",
        "channel": "email", "message_type": "educational", "category": "educational",
        "template_id": "tips", "status": "sent",
        "scheduled_at": [START - timedelta(days=3), START - timedelta(days=1)]})
    result = plan(policy, [touch("new", window=2)], context(history=history))
    outcome = decision(result, "new")
    assert outcome["decision"] == "dropped"
    assert "h1 on 2026-11-20" in outcome["detail"] and "h2 on 2026-11-22" in outcome["detail"]


def test_weekly_preference_is_stricter_than_the_cap(policy):
    preferences = pd.DataFrame({"contact_id": ["c1"], "category": ["educational"],
                                "channel": [None], "frequency": ["weekly"]})
    result = plan(policy, [touch("a", window=3), touch("b", channel="in_app", day=2,
                                                       window=3)],
                  context(preferences=preferences))
    assert len(result.calendar) == 1
    assert "prefers educational at most once per 7 days" in "".join(result.decisions["detail"])


def test_account_cap_across_contacts(policy):
    contacts = [f"c{i}" for i in range(12)]
    rows = [touch(f"t{i}", contact=c, window=4) for i, c in enumerate(contacts)]
    result = plan(policy, rows, context(contacts=contacts))
    assert len(result.calendar) == 10
    assert "account cap 10 per 7 days" in "".join(result.decisions["detail"])


# -- 5 spacing, 6 conflicts, 7 mix --------------------------------------------------------
def with_limits(policy, **changes):
    """The policy with some planner limits changed."""
    limits = policy.planner.limits.model_copy(update=changes)
    planner = policy.planner.model_copy(update={"limits": limits})
    return policy.model_copy(update={"planner": planner})


def test_two_promotional_touches_need_seven_days(policy):
    promos_only = with_limits(policy, promotional_max_share=1.0)
    result = plan(promos_only, [
        touch("p1", message_type="promotional", template="offer_a", day=1, window=2,
              priority=30),
        touch("p2", message_type="promotional", template="offer_b", day=3, window=6,
              priority=20),
    ])
    assert planned_days(result) == {"p1": date(2026, 11, 24), "p2": date(2026, 12, 1)}
    assert slot(result, "p2")["reason"] == ("deferred from Thu 2026-11-26: needs 7 days "
                                            "between promotional touches (1 already: p1 on "
                                            "2026-11-24)")
    assert decision(result, "p2")["rule"] == "5.spacing"


def test_two_touches_to_one_contact_never_share_a_day(policy):
    result = plan(policy, [touch("a", day=1, window=1, priority=50),
                           touch("b", channel="in_app", day=1, window=1)])
    assert list(result.calendar["touch_id"]) == ["a"]
    assert decision(result, "b")["rule"] == "5.spacing"


def test_promotional_waits_three_days_after_a_csat_1_ticket(policy):
    tickets = pd.DataFrame({"ticket_id": ["k1"], "account_id": ["a1"], "priority": ["p3"],
                            "status": ["closed"], "csat": [1],
                            "closed_at": [START + timedelta(hours=12)]})
    rows = [touch(f"n{i}", day=i, window=1, priority=40) for i in range(0, 6, 2)]
    rows += [touch(f"m{i}", channel="in_app", day=i, window=1) for i in (7, 9)]
    rows.append(touch("promo", message_type="promotional", template="offer", priority=20,
                      window=14))
    result = plan(with_limits(policy, promotional_max_share=1.0), rows,
                  context(tickets=tickets))
    promo = decision(result, "promo")
    assert slot(result, "promo")["scheduled_at"] >= START + timedelta(days=3, hours=12)
    assert promo["decision"] == "deferred" and promo["rule"] == "6.conflicts"
    assert promo["detail"].startswith("deferred from Mon 2026-11-23: promotional waits 3 days")
    short = plan(policy, [touch("promo", message_type="promotional", template="offer",
                                priority=20, window=2)], context(tickets=tickets))
    assert decision(short, "promo")["decision"] == "dropped"
    assert decision(short, "promo")["rule"] == "6.conflicts"


def test_no_promotional_to_at_risk_account_or_during_open_p1(policy):
    at_risk = plan(policy, [touch("promo", message_type="promotional", priority=20)],
                   context(segments=pd.DataFrame({"account_id": ["a1"],
                                                  "segment_key": ["at_risk"]})))
    assert decision(at_risk, "promo")["decision"] == "suppressed"
    assert "at_risk" in decision(at_risk, "promo")["detail"]
    open_p1 = plan(policy, [touch("promo", message_type="promotional", priority=20),
                            touch("edu", day=2)],
                   context(tickets=pd.DataFrame({"ticket_id": ["k9"], "account_id": ["a1"],
                                                 "priority": ["P1"], "status": ["open"],
                                                 "csat": [None], "closed_at": [None]})))
    assert decision(open_p1, "promo")["rule"] == "6.conflicts"
    assert "k9" in decision(open_p1, "promo")["detail"]
    assert decision(open_p1, "edu")["decision"] in ("scheduled", "deferred")


def test_no_check_in_on_a_major_announcement_day(policy):
    ctx = context(announcement_days=[date(2026, 11, 24)])
    result = plan(policy, [touch("ci", channel="call", template="csm_check_in",
                                 message_type="relationship", priority=70, day=1)], ctx)
    assert planned_days(result)["ci"] != date(2026, 11, 24)
    assert "announcement" in decision(result, "ci")["detail"]


def test_promotional_share_stays_under_twenty_percent(policy):
    rows = [touch("p", message_type="promotional", template="offer", priority=20, window=3),
            touch("e", day=0, window=1)]
    result = plan(policy, rows)
    assert decision(result, "p")["rule"] == "7.promotional_mix"
    assert decision(result, "p")["decision"] == "dropped"


# -- 8 timing -----------------------------------------------------------------------------
def test_tokyo_contact_gets_ten_local_not_utc(policy):
    result = plan(policy, [touch("jp", day=1)],
                  context(country="JP", timezone="Asia/Tokyo"))
    row = slot(result, "jp")
    # Nov 24 00:00Z is 09:00 in Tokyo: the 10:00 slot that Tuesday is 01:00Z.
    assert row["scheduled_at"] == pd.Timestamp("2026-11-24T01:00Z")
    assert row["local_send_at"] == pd.Timestamp("2026-11-24T10:00")
    assert row["timezone"] == "Asia/Tokyo"


def test_weekend_touch_is_deferred_with_the_reason(policy):
    result = plan(policy, [touch("sat", day=5, window=5)])
    row = slot(result, "sat")
    assert row["local_send_at"] == pd.Timestamp("2026-12-01T10:00")  # Tuesday
    assert row["reason"] == "deferred from Sat 2026-11-28: weekend"
    assert decision(result, "sat")["decision"] == "deferred"


def test_holidays_depend_on_the_account_country(policy):
    # Thursday 26 Nov 2026 is Thanksgiving in the US, an ordinary Thursday in GB.
    us = plan(policy, [touch("t", day=3, window=3)],
              context(country="US", timezone="America/New_York"))
    gb = plan(policy, [touch("t", day=3, window=3)])
    assert planned_days(gb)["t"] == date(2026, 11, 26)
    assert planned_days(us)["t"] == date(2026, 11, 27)
    assert "public holiday in US" in slot(us, "t")["reason"]


def test_qbr_on_christmas_eve_waits_for_the_blackout_to_end_or_is_escalated(policy):
    qbr = {"channel": "meeting", "template": "qbr", "message_type": "relationship",
           "priority": 75}
    late = plan(policy, [touch("q", day=31, window=30, **qbr)])  # wanted Thu 24 Dec
    assert planned_days(late)["q"] == date(2027, 1, 6)  # first preferred day after 5 Jan
    assert "blackout year-end" in slot(late, "q")["reason"]
    # DESIGN §7: a QBR is never skipped. With no day left in its window it is escalated
    # (a task for the CSM's manager), never dropped, and the decision says why.
    short = plan(policy, [touch("q", day=31, window=10, **qbr)])
    outcome = decision(short, "q")
    assert outcome["decision"] == "escalated"
    assert outcome["rule"] == "8.send_timing"
    assert outcome["detail"].startswith("escalated (lifecycle_critical, protected): ")
    assert "blackout year-end" in outcome["detail"]
    assert short.calendar.empty


# -- 9 CSM capacity, 10 priority, 11 deferral ----------------------------------------------
def _forty_accounts_of_one_csm() -> tuple[list[str], PlanningContext]:
    """40 enterprise accounts in London, a contact each, all of CSM m1 (capacity 25 a week)."""
    contacts = [f"c{i}" for i in range(40)]
    accounts = pd.DataFrame({"account_id": [f"a{i}" for i in range(40)], "country": "GB",
                             "timezone": "Europe/London", "arr": 10_000.0,
                             "status": "active", "csm_id": "m1", "tier": "enterprise"})
    return contacts, PlanningContext(
        contacts=pd.DataFrame({"contact_id": contacts,
                               "account_id": [f"a{i}" for i in range(40)],
                               "email": None, "timezone": None}),
        accounts=accounts,
        csms=pd.DataFrame({"csm_id": ["m1"], "weekly_capacity": [25], "timezone": ["UTC"]}))


def test_csm_with_forty_check_ins_and_capacity_25_is_levelled(policy):
    contacts, ctx = _forty_accounts_of_one_csm()
    rows = [touch(f"ci{i:02}", contact=c, account=f"a{i}", channel="call",
                  template="csm_check_in", message_type="relationship", priority=70,
                  window=13, csm_id="m1") for i, c in enumerate(contacts)]
    result = plan(policy, rows, ctx)
    weeks = pd.Series([d.isocalendar()[1] for d in planned_days(result).values()])
    assert len(result.calendar) == 40
    assert weeks.value_counts().max() <= 25
    assert sorted(weeks.value_counts()) == [20, 20]  # level-loaded, not 25 + 15
    assert (result.decisions["rule"] == "9.csm_capacity").sum() == 20


def test_qbrs_go_before_check_ins_when_capacity_is_short(policy):
    ctx = context(contacts=[f"c{i}" for i in range(4)],
                  csms=pd.DataFrame({"csm_id": ["m1"], "weekly_capacity": [2],
                                     "timezone": ["UTC"]}))
    rows = [touch(f"ci{i}", contact=f"c{i}", channel="call", template="csm_check_in",
                  message_type="relationship", priority=75, window=4) for i in range(2)]
    rows += [touch(f"qbr{i}", contact=f"c{i + 2}", channel="meeting", template="qbr",
                   message_type="relationship", priority=70, window=4) for i in range(2)]
    result = plan(policy, rows, ctx)
    assert set(result.calendar["touch_id"]) == {"qbr0", "qbr1"}
    assert decision(result, "ci0")["rule"] == "9.csm_capacity"


def test_levelling_drops_a_promotional_call_and_keeps_one_decision_each(policy):
    # A call whose category is promotional is counted as promotional; dropping it for
    # capacity takes it out of every log it is in. Sent tips keep the share in bounds.
    sent = [(f"tips_{c}_{k}", c) for c in ("c1", "c2") for k in range(4)]
    history = pd.DataFrame({
        "touch_id": [t for t, _ in sent], "contact_id": [c for _, c in sent],
        "account_id": "a1", "channel": "email", "message_type": "educational",
        "category": "educational", "template_id": "tips", "status": "sent",
        "scheduled_at": [START - timedelta(days=2 + 2 * k) for k in range(4)] * 2})
    ctx = context(contacts=["c1", "c2"], history=history,
                  csms=pd.DataFrame({"csm_id": ["m1"], "weekly_capacity": [1],
                                     "timezone": ["UTC"]}))
    rows = [touch(f"call{i}", contact=f"c{i}", channel="call", template="expansion_call",
                  message_type="relationship", category="promotional", priority=60 + i,
                  window=4) for i in (1, 2)]
    result = plan(policy, rows, ctx)
    assert list(result.calendar["touch_id"]) == ["call2"]
    assert decision(result, "call1")["rule"] == "9.csm_capacity"


def test_levelling_leaves_promotional_history_alone(policy):
    # The contact's only sent touch is promotional: its own 30-day window is over the
    # share, but a sent touch cannot be dropped; levelling plans on.
    history = pd.DataFrame({
        "touch_id": ["sent_promo"], "contact_id": ["c1"], "account_id": ["a1"],
        "channel": ["email"], "message_type": ["promotional"], "category": ["promotional"],
        "template_id": ["webinar_invite"], "status": ["sent"],
        "scheduled_at": [START - timedelta(days=3)]})
    ctx = context(contacts=["c1", "c2"], history=history,
                  csms=pd.DataFrame({"csm_id": ["m1"], "weekly_capacity": [1],
                                     "timezone": ["UTC"]}))
    rows = [touch("call1", contact="c1", channel="call", template="csm_check_in",
                  message_type="relationship", priority=60, window=4),
            touch("qbr2", contact="c2", channel="meeting", template="qbr",
                  message_type="relationship", priority=70, window=4)]
    result = plan(policy, rows, ctx)
    assert list(result.calendar["touch_id"]) == ["qbr2"]
    assert decision(result, "call1")["rule"] == "9.csm_capacity"


def test_higher_priority_wins_the_last_slot(policy):
    # Each may only go Monday 10:00; one touch a day per contact.
    rows = [touch("low", window=1, priority=20, template="o"),
            touch("high", window=1, priority=80, template="renewal"),
            touch("mid", window=1, priority=40)]
    result = plan(policy, rows)
    assert list(result.calendar["touch_id"]) == ["high"]
    assert "high" in decision(result, "mid")["detail"]


def test_touch_past_latest_at_is_dropped_naming_the_rule(policy):
    result = plan(policy, [touch("sat", day=5, window=1)])  # Sat 28 to Sun 29 only
    outcome = decision(result, "sat")
    assert outcome["decision"] == "dropped"
    assert outcome["rule"] == "8.send_timing"
    assert "weekend" in outcome["detail"]


# -- determinism and bad input ----------------------------------------------------------
def test_same_input_gives_the_same_output_whatever_the_row_order(policy):
    rows = [touch(f"t{i}", contact=f"c{i % 3}", day=i % 6, window=5, priority=30 + i % 4)
            for i in range(30)]
    ctx = context(contacts=["c0", "c1", "c2"])
    first = plan(policy, rows, ctx)
    again = plan(policy, list(reversed(rows)), ctx)
    pd.testing.assert_frame_equal(first.calendar, again.calendar)
    pd.testing.assert_frame_equal(first.decisions, again.decisions)


def test_bad_candidates_fail_naming_row_and_column(policy):
    row = touch("t1")
    with pytest.raises(ValueError, match="required columns missing: \\['priority'\\]"):
        plan_calendar(pd.DataFrame([row]).drop(columns="priority"), context(), policy, AS_OF)
    with pytest.raises(ValueError, match="touch 't1': channel is required"):
        plan_calendar(pd.DataFrame([row | {"channel": None}]), context(), policy, AS_OF)
    with pytest.raises(ValueError, match="'t1' appears more than once"):
        plan_calendar(pd.DataFrame([row, row]), context(), policy, AS_OF)
    with pytest.raises(ValueError, match="'Mars/Olympus' is not an IANA timezone"):
        plan_calendar(pd.DataFrame([row]), context(timezone="Mars/Olympus"), policy, AS_OF)


def test_levelling_keeps_the_season_or_override_note_of_a_touch_it_moves(policy):
    # 40 check-ins of a CSM with capacity 25: half move to the next week. Each candidate
    # carries the note a season or account override gave it; the moved touch's decision
    # still names it, then says where levelling put the touch.
    contacts, ctx = _forty_accounts_of_one_csm()
    override = ("every 1 months: account override "
                "candidates.account_overrides.a{i}.frequency.strategic_check_in_call")
    rows = [touch(f"ci{i:02}", contact=c, account=f"a{i}", channel="call",
                  template="csm_check_in", message_type="relationship", priority=70,
                  window=13, csm_id="m1", note=override.format(i=i))
            for i, c in enumerate(contacts)]
    result = plan(policy, rows, ctx)
    levelled = result.decisions[result.decisions["rule"] == "9.csm_capacity"]
    assert len(levelled) == 20
    for row in levelled.itertuples():
        i = int(row.touch_id[2:])
        assert row.detail.startswith(override.format(i=i) + "; levelled to "), row.detail
        assert "capacity 25 a week" in row.detail
    kept = result.decisions[result.decisions["rule"] != "9.csm_capacity"]
    assert kept["detail"].str.contains("candidates.account_overrides.").all()
