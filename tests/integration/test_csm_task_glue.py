"""The nightly CSM task step on the warehouse (DuckDB and PostgreSQL): the plan's human
touches become owned, placed tasks; the calendar gets the meeting times; a replan the next
night updates the moved task's event and cancels the dropped one in the live feed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
from icalendar import Calendar

from cadence.outputs.csm_tasks import write_csm_task_lists

DAY1, DAY2 = date(2026, 12, 1), date(2026, 12, 2)


def at(text: str, zone: str = "Europe/Berlin") -> pd.Timestamp:
    return pd.Timestamp(text).tz_localize(zone).tz_convert("UTC")


def seed(warehouse) -> None:
    loaded = pd.Timestamp("2026-12-01", tz="UTC")
    tables = {
        "stg_accounts": [
            {"account_id": "a1", "name": '=HYPERLINK("http://evil.example/x","Renewal")',
             "country": "DE", "timezone": "Europe/Berlin", "arr": 250000.0, "csm_id": "csm1",
             "renewal_date": date(2027, 1, 20), "renewal_status": "open",
             "seats_purchased": 100, "status": "active"},
            {"account_id": "a2", "name": "Tiny Co", "country": "DE",
             "timezone": "Europe/Berlin", "arr": 1200.0, "csm_id": None,
             "renewal_date": date(2026, 12, 9), "renewal_status": "open",
             "seats_purchased": 3, "status": "active"}],
        "stg_contacts": [
            {"contact_id": "c1", "account_id": "a1", "first_name": "Ana", "last_name": "Silva",
             "email": "ana@customer.example", "role": "champion", "phone": "+49 30 5550100",
             "timezone": "Europe/Berlin"},
            {"contact_id": "c2", "account_id": "a2", "first_name": "Ben", "last_name": "Kim",
             "email": "ben@tiny.example", "role": "admin", "phone": None,
             "timezone": "Europe/Berlin"}],
        "stg_csms": [
            {"csm_id": "csm1", "name": "Dan Ortiz", "email": "dan@vendor.example",
             "timezone": "America/New_York", "weekly_capacity": 25, "manager_id": "boss"},
            {"csm_id": "boss", "name": "Mona Lee", "email": "mona@vendor.example",
             "timezone": "Europe/London", "weekly_capacity": 10, "manager_id": None}],
        "segment_membership": [
            {"account_id": a, "segment_type": "tier", "segment_key": tier,
             "valid_from": date(2026, 1, 1), "valid_to": None, "is_current": True}
            for a, tier in (("a1", "enterprise"), ("a2", "tech_touch"))],
        "account_health": [
            {"account_id": "a1", "as_of_date": d, "score": 45.0, "band": "yellow",
             "score_delta_14d": -12.0, "product_usage": 30.0, "adoption_breadth": 60.0,
             "engagement": 50.0, "support": 40.0, "sentiment": 70.0, "commercial": 80.0}
            for d in (DAY1, DAY2)],
        "stg_support_tickets": [
            {"ticket_id": "k1", "account_id": "a1", "contact_id": None, "priority": "p2",
             "status": "open", "opened_at": pd.Timestamp("2026-11-20", tz="UTC"),
             "closed_at": None, "csat": None}],
        "stg_nps_responses": [
            {"response_id": "n1", "contact_id": "c1", "score": 5, "comment": "Support is slow",
             "responded_at": pd.Timestamp("2026-11-10", tz="UTC")}],
        "stg_usage_daily": [
            {"account_id": "a1", "usage_date": d.date(), "active_users": users,
             "seats_used": 60, "feature": None}
            for d, users in zip(pd.date_range("2026-10-05", "2026-12-01"),
                                [50] * 28 + [30] * 30, strict=False)],
    }
    for name, rows in tables.items():
        frame = pd.DataFrame(rows)
        for column in ("valid_to", "closed_at", "csat", "feature", "csm_id", "phone",
                       "manager_id"):
            if column in frame and frame[column].isna().all():
                frame[column] = frame[column].astype(
                    {"closed_at": "datetime64[us, UTC]", "valid_to": "datetime64[us]",
                     "csat": "float64"}.get(column, object))
        frame["_loaded_at"] = loaded
        warehouse.write_frame(name, frame, replace_all=True)


def plan(warehouse, day: date, touches: list[tuple]) -> None:
    calendar, candidates = [], []
    for touch_id, account, contact, csm, rule, local, channel in touches:
        when = at(local)
        calendar.append({
            "touch_id": touch_id, "plan_date": day, "contact_id": contact,
            "account_id": account, "csm_id": csm, "team": "cs", "message_type": "relationship",
            "category": "relationship", "channel": channel, "template_id": rule.split(".")[1],
            "intent": rule, "source": "cadence", "rule_id": rule, "scheduled_at": when,
            "local_send_at": pd.Timestamp(local), "timezone": "Europe/Berlin",
            "status": "scheduled", "reason": "planned", "priority": 70, "shard": 0})
        candidates.append({
            "touch_id": touch_id, "plan_date": day, "contact_id": contact,
            "account_id": account, "csm_id": csm, "rule_id": rule, "channel": channel,
            "earliest_at": when - pd.Timedelta(days=1), "latest_at": when + pd.Timedelta(days=1),
            "priority": 70, "urgent": False})
    warehouse.write_frame("communication_calendar", pd.DataFrame(calendar),
                          replace_where={"plan_date": day})
    warehouse.write_frame("touch_candidates", pd.DataFrame(candidates),
                          replace_where={"plan_date": day})
    decisions = pd.DataFrame({"touch_id": [c["touch_id"] for c in candidates], "plan_date": day,
                              "decision": "scheduled", "rule": "8.send_timing",
                              "detail": "planned", "shard": 0})
    warehouse.write_frame("calendar_decisions", decisions, replace_where={"plan_date": day})


CHECK_IN = "tier_cadences.strategic_check_in_call"
# A Berlin contact's check-in call with a New York CSM, and a tech-touch account's renewal
# call under the ARR threshold (no human task: suppressed).
BERLIN_CHECK_IN = ("t_1", "a1", "c1", "csm1", CHECK_IN, "2026-12-02 10:00", "call")
TECH_TOUCH_CALL = ("t_3", "a2", "c2", None, "renewal_timeline.renewal_discussion",
                   "2026-12-03 10:00", "call")


def test_nightly_step_places_owns_and_publishes_then_a_replan_moves_and_cancels(
        any_warehouse, policy, tmp_path):
    warehouse = any_warehouse
    seed(warehouse)
    plan(warehouse, DAY1, [
        BERLIN_CHECK_IN,
        ("t_2", "a1", "c1", "csm1", "tier_cadences.strategic_qbr", "2026-12-04 10:00",
         "meeting"),
        TECH_TOUCH_CALL,
        ("t_4", "a1", "c1", "csm1", "renewal_timeline.escalation", "2026-12-07 10:00", "call"),
    ])
    # #9's planner: a protected touch it could not place is decided 'escalated', with why.
    when = at("2026-12-01 10:00")
    warehouse.write_frame("touch_candidates", pd.DataFrame([{
        "touch_id": "t_5", "plan_date": DAY1, "contact_id": "c1", "account_id": "a1",
        "csm_id": "csm1", "rule_id": "onboarding_journey.welcome", "channel": "email",
        "earliest_at": when, "latest_at": when, "priority": 90, "urgent": False}]))
    warehouse.write_frame("calendar_decisions", pd.DataFrame([{
        "touch_id": "t_5", "plan_date": DAY1, "decision": "escalated", "rule": "11.deferral",
        "detail": "no day left before 1 Dec for this protected touch", "shard": 0}]))
    summary = write_csm_task_lists(warehouse, policy, tmp_path, DAY1,
                                   datetime(2026, 12, 1, 1, tzinfo=UTC))
    tasks = warehouse.read_table("csm_tasks", {"plan_date": DAY1}).set_index("touch_id")
    # tech_touch a2 under the ARR threshold gets no task; its call is suppressed with why
    assert sorted(tasks.index) == ["t_1", "t_2", "t_4", "t_5"]
    assert tuple(tasks.loc["t_5", ["csm_id", "task_type"]]) == ("boss", "escalation")
    assert tasks.loc["t_5", "escalation_reason"].startswith("no day left")
    assert tasks.loc["t_5", "due_date"] >= DAY1
    assert summary["no_human_tier_suppressed"] == 1 and summary["without_owner"] == 0
    calendar = warehouse.read_table("communication_calendar", {"plan_date": DAY1})
    calendar = calendar.set_index("touch_id")
    assert calendar.loc["t_3", "status"] == "cancelled"  # never sent, never a task
    decision = warehouse.read_table("calendar_decisions", {"plan_date": DAY1})
    decision = decision.set_index("touch_id")
    assert tuple(decision.loc["t_3", ["decision", "rule"]]) == (
        "suppressed", "csm_tasks.no_human_tier")
    assert "tech_touch accounts get no human task" in decision.loc["t_3", "detail"]
    assert decision.loc["t_1", "decision"] == "scheduled"
    assert tuple(tasks.loc["t_4", ["csm_id", "owner_type"]]) == ("boss", "manager")
    # Berlin contact, New York CSM: the call is in Berlin 15:00-17:00, 09:00-11:00 in NY,
    # and the calendar says so too
    for touch in ("t_1", "t_2"):
        start = pd.Timestamp(calendar.loc[touch, "scheduled_at"])
        assert start == pd.Timestamp(tasks.loc[touch, "starts_at"])
        assert 9 <= start.tz_convert("America/New_York").hour < 11
        assert 15 <= start.tz_convert("Europe/Berlin").hour < 17
    assert summary["outside_08_19_owner_time"] == 0
    one = tasks.loc["t_1"]
    assert (one["contact_name"], one["contact_phone"]) == ("Ana Silva", "+49 30 5550100")
    assert one["usage_change_30d_pct"] == -40 and one["last_nps"] == 5
    assert one["talking_points"].splitlines()[0] == (
        "usage down 40% in 30 days: ask what changed in their rollout")
    feed_path = tmp_path / "csm_tasks" / "csm1.ics"
    first = {str(e["uid"]): e for e in Calendar.from_ical(feed_path.read_bytes()).walk("VEVENT")}
    assert set(first) == {"task_1@cadence.example", "task_2@cadence.example"}
    with open(next((tmp_path / "csm_tasks" / "csm1").glob("*.csv"))) as handle:
        assert "'=HYPERLINK" in handle.read()

    # The next night the check-in moves to Thursday and the QBR is gone.
    plan(warehouse, DAY2, [
        ("t_1", "a1", "c1", "csm1", CHECK_IN, "2026-12-03 10:00", "call"),
        ("t_4", "a1", "c1", "csm1", "renewal_timeline.escalation", "2026-12-07 10:00", "call"),
    ])
    write_csm_task_lists(warehouse, policy, tmp_path, DAY2, datetime(2026, 12, 2, 1, tzinfo=UTC))
    second = {str(e["uid"]): e for e in
              Calendar.from_ical(feed_path.read_bytes()).walk("VEVENT")}
    assert set(second) == set(first)  # the same events, none added
    moved, gone = second["task_1@cadence.example"], second["task_2@cadence.example"]
    assert (int(moved["sequence"]), str(moved["status"])) == (1, "CONFIRMED")
    assert moved.decoded("dtstart").astimezone(UTC).date() == date(2026, 12, 3)
    assert (int(gone["sequence"]), str(gone["status"])) == (1, "CANCELLED")


def test_a_rerun_of_the_step_leaves_the_calendar_decisions_tasks_and_files_as_they_were(
        any_warehouse, policy, tmp_path):
    # The placed rows are replaced (deleted, inserted changed): a rerun for the same night
    # must find them again and neither double nor lose a row or a column.
    warehouse = any_warehouse
    seed(warehouse)
    plan(warehouse, DAY1, [BERLIN_CHECK_IN, TECH_TOUCH_CALL])
    started = datetime(2026, 12, 1, 1, tzinfo=UTC)
    out = tmp_path / "out"

    def state():
        files = {p.relative_to(out).as_posix(): p.read_bytes()
                 for p in sorted(out.rglob("*")) if p.is_file()}
        return [warehouse.read_table(t, {"plan_date": DAY1}).sort_values("touch_id")
                .reset_index(drop=True)
                for t in ("communication_calendar", "calendar_decisions", "csm_tasks")], files

    first = write_csm_task_lists(warehouse, policy, out, DAY1, started)
    tables, files = state()
    assert write_csm_task_lists(warehouse, policy, out, DAY1, started) == first
    again, files_again = state()
    for before, after in zip(tables, again, strict=True):
        pd.testing.assert_frame_equal(before, after)
    assert files_again == files and "csm_tasks/csm1.ics" in files
    calendar, decisions = tables[0].set_index("touch_id"), tables[1].set_index("touch_id")
    assert calendar.loc["t_1", "reason"].startswith("CSM call")
    assert calendar.loc["t_1", ["team", "template_id", "shard"]].notna().all()
    assert calendar.loc["t_3", "status"] == "cancelled"
    assert decisions.loc["t_3", "decision"] == "suppressed"
