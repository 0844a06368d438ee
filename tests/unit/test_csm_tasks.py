"""CSM tasks: owners, meeting times, the person and the talking points, as a CSM reads them."""

from __future__ import annotations

import re
from datetime import date

import pandas as pd
import pytest

from cadence.contract.tables import CSM_TASKS
from cadence.outputs.csm_tasks import (
    TaskContext,
    build_csm_tasks,
    is_safe_id,
    outside_day,
    talking_points,
    talking_points_of,
)
from cadence.policy import parse_policy

AS_OF = date(2026, 12, 1)  # a Tuesday


def touch(touch_id, account_id, csm_id, rule_id, day, channel="call", zone="Europe/Berlin",
          hour=10, contact="c1", priority=70, urgent=False, window=(0, 0)):
    at = pd.Timestamp(f"{day} {hour:02d}:00").tz_localize(zone).tz_convert("UTC")
    return {"touch_id": touch_id, "contact_id": contact, "account_id": account_id,
            "csm_id": csm_id, "rule_id": rule_id, "channel": channel,
            "template_id": rule_id.rsplit(".", 1)[-1], "scheduled_at": at, "timezone": zone,
            "priority": priority, "earliest_at": at - pd.Timedelta(days=window[0]),
            "latest_at": at + pd.Timedelta(days=window[1]), "urgent": urgent,
            "planned_day": date.fromisoformat(day)}


def account(account_id, csm_id, tier="enterprise", country="DE", zone="Europe/Berlin",
            arr=200_000.0, name=None):
    return {"account_id": account_id, "name": name or f"Acme {account_id}", "country": country,
            "timezone": zone, "arr": arr, "csm_id": csm_id,
            "renewal_date": date(2027, 1, 20), "renewal_status": "open",
            "seats_purchased": 100, "tier": tier}


def contact(contact_id, account_id, zone="Europe/Berlin", first="Ana", last="Silva",
            phone=None, role="champion"):
    return {"contact_id": contact_id, "account_id": account_id, "first_name": first,
            "last_name": last, "email": f"{contact_id}@customer.example", "role": role,
            "phone": phone, "timezone": zone}


def make_context(accounts, contacts, csms=None, **frames) -> TaskContext:
    csms = csms if csms is not None else [
        {"csm_id": "csm1", "name": "Carla Diaz", "email": "carla@vendor.example",
         "timezone": "Europe/Berlin", "manager_id": "boss"},
        {"csm_id": "boss", "name": "Mona Lee", "email": "mona@vendor.example",
         "timezone": "Europe/London", "manager_id": None},
        {"csm_id": "csm_ny", "name": "Dan Ortiz", "email": "dan@vendor.example",
         "timezone": "America/New_York", "manager_id": "boss"},
        {"csm_id": "csm_sg", "name": "Wei Tan", "email": "wei@vendor.example",
         "timezone": "Asia/Singapore", "manager_id": None}]
    empty = {
        "health": ["account_id", "score", "band", "score_delta_14d", "product_usage",
                   "adoption_breadth", "engagement", "support", "sentiment", "commercial"],
        "latest_nps": ["account_id", "score", "comment", "responded_at"],
        "open_tickets": ["account_id", "open_tickets", "urgent_tickets", "top_ticket_priority"],
        "usage": ["account_id", "active_users_30d", "active_users_prior_30d", "seats_used_30d"],
        "recent_touches": ["touch_id", "account_id", "team", "channel", "template_id",
                           "scheduled_at"],
        "contact_days": ["contact_id", "touch_id", "day"]}
    built = {k: pd.DataFrame(frames.get(k, []), columns=v) for k, v in empty.items()}
    return TaskContext(accounts=pd.DataFrame(accounts), contacts=pd.DataFrame(contacts),
                       csms=pd.DataFrame(csms), **built)


NO_ESCALATIONS = pd.DataFrame(columns=["touch_id", "contact_id", "account_id", "csm_id",
                                       "rule_id", "channel", "template_id", "priority",
                                       "earliest_at", "latest_at", "detail"])


def build(human, context, policy, escalated=NO_ESCALATIONS, crm=None):
    return build_csm_tasks(pd.DataFrame(human), escalated, context, policy, AS_OF, crm).tasks


def test_a_task_names_the_person_with_facts_as_columns_and_omits_what_is_empty(policy):
    context = make_context(
        [account("a1", "csm1"), account("a2", "csm1")],
        [contact("c1", "a1", phone="+49 30 555 0100"),
         contact("c2", "a2", first=None, last=None, role=None)],
        health=[{"account_id": "a1", "score": 38.4, "band": "red", "score_delta_14d": -16.0,
                 "product_usage": 20.0, "adoption_breadth": 55.0, "engagement": 60.0,
                 "support": 25.0, "sentiment": 70.0, "commercial": 80.0}],
        open_tickets=[{"account_id": "a1", "open_tickets": 2, "urgent_tickets": 1,
                       "top_ticket_priority": "p1"}],
        latest_nps=[{"account_id": "a1", "score": 4, "comment": "Support is slow",
                     "responded_at": pd.Timestamp("2026-11-20", tz="UTC")}],
        usage=[{"account_id": "a1", "active_users_30d": 34.0, "active_users_prior_30d": 50.0,
                "seats_used_30d": 60}],
        recent_touches=[{"touch_id": f"s{k}", "account_id": "a1", "team": team,
                         "channel": "email", "template_id": tpl,
                         "scheduled_at": pd.Timestamp(f"2026-11-{10 + k}", tz="UTC")}
                        for k, (team, tpl) in enumerate([("marketing", "newsletter"),
                                                        ("support", "ticket_follow_up"),
                                                        ("cs", "value_report"),
                                                        ("sales", "upgrade")])])
    tasks = build([touch("t_1", "a1", "csm1", "renewal_timeline.renewal_discussion",
                         "2026-12-02"),
                   touch("t_2", "a2", "csm1", "tier_cadences.strategic_check_in_call",
                         "2026-12-03", contact="c2")], context, policy)
    assert set(CSM_TASKS) == set(tasks.columns)
    one = tasks.set_index("touch_id").loc["t_1"]
    assert (one["contact_name"], one["contact_role"], one["contact_phone"]) == (
        "Ana Silva", "champion", "+49 30 555 0100")
    assert one["contact_email"] == "c1@customer.example"
    assert (one["health_score"], one["health_band"], one["score_delta_14d"]) == (38, "red", -16)
    assert one["weakest_components"] == "product usage 20, support 25"
    assert (one["days_to_renewal"], one["arr"]) == (50, 200_000)
    assert (one["open_tickets"], one["top_ticket_priority"], one["last_nps"]) == (2, "P1", 4)
    assert one["usage_change_30d_pct"] == -32
    # the last three touches across every team, newest first
    assert one["last_touches"] == ("2026-11-13 sales email upgrade; 2026-11-12 cs email "
                                   "value_report; 2026-11-11 support email ticket_follow_up")
    points = one["talking_points"].splitlines()
    assert 2 <= len(points) <= 4
    assert points[0] == "usage down 32% in 30 days: ask what changed in their rollout"
    assert "1 urgent ticket(s) open (top P1)" in points[1]
    # the empty account: no "none", no "-0", the person named by their email, two fallbacks
    two = tasks.set_index("touch_id").loc["t_2"]
    assert two["contact_name"] == "c2@customer.example"
    assert pd.isna(two["health_score"]) and pd.isna(two["last_touches"])
    assert two["talking_points"].splitlines() == [
        "renewal in 50 days (open): confirm the decision path",
        "review goals and what success looks like this quarter"]
    for text in tasks["context"]:
        assert not re.search(r"\bnone\b|\bnan\b|(?<![\d])-0\b", text, re.I), text


def test_calls_go_in_the_overlap_of_both_business_hours_without_overlapping(policy):
    # New York CSM, Berlin contacts: Berlin 09:00-17:00 is New York 03:00-11:00, so the
    # overlap is Berlin 15:00-17:00; the preferred 10:00/14:00 do not fit. Four 30-minute
    # calls fill it; a fifth would not fit without overlapping (next test).
    context = make_context([account("a1", "csm_ny")],
                           [contact(f"c{k}", "a1") for k in range(1, 6)])
    human = [touch(f"t_{k}", "a1", "csm_ny", "tier_cadences.strategic_check_in_call",
                   "2026-12-02", contact=f"c{k}") for k in range(1, 5)]
    tasks = build(human, context, policy)
    local = [t.tz_convert("America/New_York") for t in tasks["starts_at"]]
    berlin = [t.tz_convert("Europe/Berlin") for t in tasks["starts_at"]]
    assert all(t.hour >= 9 and (t + pd.Timedelta(minutes=30)).hour * 60
               + (t + pd.Timedelta(minutes=30)).minute <= 17 * 60 for t in berlin)
    assert all(t.hour >= 9 for t in local)
    assert tasks["within_hours"].all() and tasks["placement_note"].isna().all()
    starts = sorted(tasks["starts_at"])
    assert all(b - a >= pd.Timedelta(minutes=30) for a, b in zip(starts, starts[1:], strict=False))
    assert (tasks["due_date"] == date(2026, 12, 2)).all()
    assert outside_day(tasks) == 0


def test_a_full_overlap_gives_the_least_outside_free_slot_and_says_so(policy):
    context = make_context([account("a1", "csm_ny")],
                           [contact(f"c{k}", "a1") for k in range(1, 6)])
    human = [touch(f"t_{k}", "a1", "csm_ny", "tier_cadences.strategic_check_in_call",
                   "2026-12-02", contact=f"c{k}", priority=80 - k) for k in range(1, 6)]
    tasks = build(human, context, policy).set_index("touch_id")
    assert tasks["within_hours"].sum() == 4 and not tasks.loc["t_5", "within_hours"]
    assert "no overlap of business hours" in tasks.loc["t_5", "placement_note"]
    starts = sorted(tasks["starts_at"])
    assert all(b - a >= pd.Timedelta(minutes=30) for a, b in zip(starts, starts[1:], strict=False))
    assert outside_day(tasks.reset_index()) == 0


def test_two_csms_in_one_zone_get_the_same_day_each_whatever_the_other_booked(policy):
    # Slots are searched per day and zone pair for all owners alike: one CSM's booked
    # calls must never make another's slot look taken.
    csms = [{"csm_id": c, "name": c, "email": f"{c}@vendor.example",
             "timezone": "America/New_York", "manager_id": None} for c in ("csm_a", "csm_b")]
    context = make_context([account("a1", "csm_a"), account("a2", "csm_b")],
                           [contact(f"c{k}", "a1" if k <= 5 else "a2") for k in range(1, 11)],
                           csms=csms)
    human = [touch(f"t_{k:02d}", "a1" if k <= 5 else "a2", "csm_a" if k <= 5 else "csm_b",
                   "tier_cadences.strategic_check_in_call", "2026-12-02", contact=f"c{k}",
                   priority=80 - k) for k in range(1, 11)]
    tasks = build(human, context, policy)
    days = {csm: sorted(t["starts_at"]) for csm, t in tasks.groupby("csm_id")}
    assert days["csm_a"] == days["csm_b"]
    assert tasks.groupby("csm_id")["within_hours"].sum().tolist() == [4, 4]


def test_no_overlap_takes_the_least_outside_slot_in_the_csms_day_and_says_so(policy):
    # Singapore CSM, Los Angeles contact: 16 hours apart, no overlap at all.
    context = make_context([account("a1", "csm_sg", country="US", zone="America/Los_Angeles")],
                           [contact("c1", "a1", zone="America/Los_Angeles")])
    human = [touch("t_1", "a1", "csm_sg", "tier_cadences.strategic_check_in_call",
                   "2026-12-02", zone="America/Los_Angeles", window=(0, 2))]
    task = build(human, context, policy).iloc[0]
    singapore = task["starts_at"].tz_convert("Asia/Singapore")
    assert 8 <= singapore.hour < 19 and singapore.weekday() < 5
    assert not task["within_hours"]
    assert "no overlap of business hours" in task["placement_note"]
    assert task["due_date"] == singapore.date()
    assert outside_day(pd.DataFrame([task])) == 0


def test_a_contact_a_day_ahead_still_gets_a_call_in_the_csms_day(policy):
    # Melbourne is 16 hours ahead of New York: the planned Melbourne day (the plan date)
    # begins on the New York evening before the plan date; the call stays in New York's
    # 08:00-19:00 on or after the plan date.
    context = make_context([account("a1", "csm_ny", country="AU", zone="Australia/Melbourne")],
                           [contact("c1", "a1", zone="Australia/Melbourne")])
    human = [touch("t_1", "a1", "csm_ny", "tier_cadences.strategic_qbr", "2026-12-01",
                   channel="meeting", zone="Australia/Melbourne")]
    task = build(human, context, policy).iloc[0]
    new_york = task["starts_at"].tz_convert("America/New_York")
    assert new_york.hour >= 8 and new_york.hour * 60 + new_york.minute + 60 <= 19 * 60
    assert new_york.date() >= AS_OF and task["due_date"] == new_york.date()
    assert outside_day(pd.DataFrame([task])) == 0 and task["placement_note"]


def test_holidays_of_the_csm_country_move_the_call_inside_its_window(policy):
    # 2026-12-08 is a public holiday in Spain (Inmaculada Concepción), not in Germany.
    context = make_context([account("a1", "csm_es")], [contact("c1", "a1")], csms=[
        {"csm_id": "csm_es", "name": "Eva Ruiz", "email": "eva@vendor.example",
         "timezone": "Europe/Madrid", "manager_id": None}])
    human = [touch("t_1", "a1", "csm_es", "tier_cadences.strategic_check_in_call",
                   "2026-12-08", window=(1, 2))]
    task = build(human, context, policy).iloc[0]
    assert task["starts_at"].tz_convert("Europe/Madrid").date() != date(2026, 12, 8)
    assert task["within_hours"] and "moved from Tue 08 Dec" in task["placement_note"]


def test_due_date_is_never_before_the_plan_date(policy):
    # A Los Angeles call early on the plan day is the previous evening for nobody: the
    # Berlin CSM's day must not be 30 November.
    context = make_context([account("a1", "csm1", country="US", zone="America/Los_Angeles")],
                           [contact("c1", "a1", zone="America/Los_Angeles")])
    human = [touch("t_1", "a1", "csm1", "tier_cadences.strategic_check_in_call",
                   "2026-12-01", zone="America/Los_Angeles", hour=9)]
    task = build(human, context, policy).iloc[0]
    assert task["due_date"] >= AS_OF


def test_owners_manager_for_escalations_queues_otherwise_never_nobody(policy):
    context = make_context(
        [account("a1", "csm1"), account("a2", None), account("a3", "csm_sg"),
         account("a4", "csm1")],
        [contact("c1", "a1"), contact("c2", "a2"), contact("c3", "a3"), contact("c4", "a4")])
    human = [touch("t_1", "a1", "csm1", "renewal_timeline.escalation", "2026-12-02",
                   urgent=True),
             touch("t_2", "a2", None, "renewal_timeline.renewal_discussion", "2026-12-02",
                   contact="c2"),
             touch("t_3", "a3", "csm_sg", "renewal_timeline.escalation", "2026-12-03",
                   contact="c3")]
    escalated = pd.DataFrame([{
        "touch_id": "t_4", "contact_id": "c4", "account_id": "a4", "csm_id": "csm1",
        "rule_id": "onboarding_journey.welcome", "channel": "email",
        "template_id": "onboarding_welcome", "priority": 90,
        "earliest_at": pd.Timestamp("2026-11-30", tz="UTC"),
        "latest_at": pd.Timestamp("2026-12-01", tz="UTC"),
        "detail": "escalated (lifecycle_critical, protected): no allowed day before its"
                  " deadline 1 Dec: every day over the caps"}])
    tasks = build(human, context, policy, escalated).set_index("touch_id")
    assert tasks["csm_id"].notna().all()
    assert tuple(tasks.loc["t_1", ["csm_id", "owner_type", "account_csm_id"]]) == (
        "boss", "manager", "csm1")
    assert tuple(tasks.loc["t_2", ["csm_id", "owner_type"]]) == ("digital_cs", "queue")
    assert tuple(tasks.loc["t_3", ["csm_id", "owner_type"]]) == ("cs_leadership", "queue")
    assert "has no manager" in tasks.loc["t_3", "placement_note"]
    four = tasks.loc["t_4"]
    assert (four["csm_id"], four["task_type"]) == ("boss", "escalation")
    assert four["talking_points"].splitlines()[0].startswith(
        "escalated (lifecycle_critical, protected): no allowed day")
    assert "unassigned" not in set(tasks["csm_id"])


def test_tech_touch_gets_no_human_task_unless_policy_names_one(policy):
    context = make_context(
        [account("a1", "csm1", tier="tech_touch", arr=2_000.0),
         account("a2", "csm1", tier="tech_touch", arr=4_500.0)],
        [contact("c1", "a1"), contact("c2", "a2")])
    human = [touch("t_1", "a1", "csm1", "renewal_timeline.renewal_discussion", "2026-12-02"),
             touch("t_2", "a2", "csm1", "renewal_timeline.renewal_discussion", "2026-12-02",
                   contact="c2"),
             touch("t_3", "a2", "csm1", "renewal_timeline.escalation", "2026-12-03",
                   contact="c2")]
    built = build_csm_tasks(pd.DataFrame(human), NO_ESCALATIONS, context, policy, AS_OF)
    assert list(built.tasks["touch_id"]) == ["t_2"]  # renewal over the policy's 4,000 ARR
    assert sorted(built.suppressed["touch_id"]) == ["t_1", "t_3"]
    assert "csm_tasks.no_human_tiers" in built.suppressed["reason"].iloc[0]


@pytest.mark.parametrize("value", ["../../../x", "..", "a/b", "a\\b", "", None, ".hidden",
                                   "x" * 65, "csm\0"])
def test_ids_that_are_no_file_names_are_refused(value, policy):
    assert not is_safe_id(value, policy.csm_tasks.id_pattern)


def test_a_csm_id_that_is_a_path_is_quarantined_and_its_tasks_pooled(policy):
    csms = [{"csm_id": "../../../x", "name": "Evil", "email": "e@vendor.example",
             "timezone": "UTC", "manager_id": None}]
    context = make_context([account("a1", "../../../x")], [contact("c1", "a1")], csms=csms)
    built = build_csm_tasks(pd.DataFrame([touch("t_1", "a1", "../../../x",
                                                "tier_cadences.strategic_check_in_call",
                                                "2026-12-02")]),
                            NO_ESCALATIONS, context, policy, AS_OF)
    assert list(built.tasks["csm_id"]) == ["digital_cs"]
    [rule] = built.quarantine["rule"]
    assert "csm_id '../../../x' does not match policy csm_tasks.id_pattern" in rule


def test_talking_point_rules_are_policy_and_bad_ones_name_their_key():
    policy = parse_policy({"csm_tasks": {"talking_points": [
        {"fact": "arr", "at_least": 100000, "say": "big account: {arr} ARR"}],
        "min_points": 1}})
    assert talking_points({"arr": 250000.0}, policy.csm_tasks) == ["big account: 250,000 ARR"]
    from cadence.policy import PolicyError

    with pytest.raises(PolicyError, match=r"csm_tasks\.talking_points\.0.*not one of"):
        parse_policy({"csm_tasks": {"talking_points": [
            {"fact": "mood", "below": 3, "say": "x"}]}})


def test_crm_record_url_when_the_crm_is_known(policy):
    context = make_context([account("a1", "csm1")], [contact("c1", "a1")])
    human = [touch("t_1", "a1", "csm1", "tier_cadences.strategic_check_in_call", "2026-12-02")]
    assert build(human, context, policy, crm="hubspot")["crm_url"].iloc[0].endswith(
        "/company/a1")
    assert build(human, context, policy)["crm_url"].isna().all()


def test_a_point_never_quotes_an_empty_fact_and_speaks_once_per_fact(policy):
    rules = policy.csm_tasks
    assert talking_points({"last_nps": 6, "last_nps_comment": None}, rules)[0] == (
        "last NPS 6: ask what would make it a 9")
    points = talking_points({"last_nps": 6, "last_nps_comment": "Support is slow"}, rules)
    assert points[0] == 'last NPS 6: follow up on "Support is slow"'
    assert sum(p.startswith("last NPS") for p in points) == 1
    assert len(talking_points({}, rules)) == rules.min_points  # the fallbacks, nothing empty


def test_playbook_tasks_say_why_the_call_happens(policy):
    points = talking_points({"task_type": "champion_change", "contact_role": "admin"},
                            policy.csm_tasks)
    assert points[0].startswith("new key contact (admin): the champion left")
    review = talking_points({"task_type": "executive_business_review"}, policy.csm_tasks)
    assert review[0].startswith("executive review with the sponsor")


def test_a_booked_solid_owner_gets_later_days_in_stretch_hours_never_the_night(policy):
    # 70 half-hour calls due Wed 2 Dec for one Berlin CSM: the plan day, the planned day
    # and the day after hold 66 slots of 08:00-19:00. The rest go to Friday's stretch
    # hours, saying the window is missed, instead of 04:00.
    context = make_context([account("a1", "csm1")],
                           [contact(f"c{k}", "a1") for k in range(70)])
    human = [touch(f"t_{k:02d}", "a1", "csm1", "tier_cadences.strategic_check_in_call",
                   "2026-12-02", contact=f"c{k}", priority=90 - k // 10) for k in range(70)]
    tasks = build(human, context, policy)
    assert outside_day(tasks) == 0
    starts = sorted(tasks["starts_at"])
    assert all(b - a >= pd.Timedelta(minutes=30) for a, b in zip(starts, starts[1:], strict=False))
    berlin = tasks.set_index("touch_id")["starts_at"].dt.tz_convert("Europe/Berlin")
    late = berlin[berlin.dt.date > date(2026, 12, 3)]
    assert len(late) == 4 and (late.dt.date == date(2026, 12, 4)).all()
    assert late.index.str.startswith("t_6").all()  # the least important wait
    notes = tasks.set_index("touch_id").loc[late.index, "placement_note"]
    assert notes.str.contains("past the touch's window").all()


def test_a_person_booked_solid_for_two_weeks_gets_an_overlap_in_working_hours(policy):
    # 320 half-hour calls for one Berlin CSM from Wed 2 Dec: 22 fit in a day's 08:00-19:00,
    # so the plan day to Thu and the two weeks after hold 286. The rest overlap the fewest
    # calls in the CSM's hours around the planned day and say so; none is at night.
    context = make_context([account("a1", "csm1")],
                           [contact(f"c{k}", "a1") for k in range(320)])
    human = [touch(f"t_{k:03d}", "a1", "csm1", "tier_cadences.strategic_check_in_call",
                   "2026-12-02", contact=f"c{k}", priority=90 - k // 100) for k in range(320)]
    tasks = build(human, context, policy).set_index("touch_id")
    assert outside_day(tasks.reset_index()) == 0
    clash = tasks["placement_note"].fillna("").str.contains("reassign one")
    assert clash.sum() == 320 - 286
    # the least important clash
    assert tasks.loc[clash, "priority"].max() <= tasks.loc[~clash, "priority"].min()
    berlin = tasks.loc[clash, "starts_at"].dt.tz_convert("Europe/Berlin")
    assert berlin.dt.date.between(date(2026, 12, 1), date(2026, 12, 3)).all()
    assert tasks.loc[clash, "placement_note"].str.contains(
        r"overlaps 1 other call\(s\)").all()


def test_the_talking_points_of_many_tasks_are_each_tasks_own(policy):
    """Tested a rule at a time over a column, each task still gets what its own facts
    say: the same points as alone, in order, a fact spoken for once, 2-4 points."""
    facts = pd.DataFrame({
        "last_nps": [6, None, 9, 3, None],
        "last_nps_comment": ["Support is slow", None, None, "", "Great"],
        "arr": [250000.0, None, 1200.0, 90000.0, float("nan")],
        "usage_drop_30d_pct": [40.0, None, 5.0, 80.0, None],
        "health_band": ["red", None, "green", "amber", "red"],
        "task_type": ["check_in_call", "champion_change", None, "qbr", "renewal_call"],
        "contact_role": ["admin", "champion", None, None, "sponsor"]})
    together = talking_points_of(facts, policy.csm_tasks)
    rules = policy.csm_tasks
    for i, row in enumerate(facts.to_dict("records")):
        assert together[i] == talking_points(row, rules)
        assert rules.min_points <= len(together[i]) <= rules.max_points
    assert together[0][0] == 'last NPS 6: follow up on "Support is slow"'
    assert together[1] != together[2]
