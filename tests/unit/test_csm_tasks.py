"""CSM task lists: scheduled human touches become tasks with context, per-CSM files."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from icalendar import Calendar

from cadence.candidates.inputs import COLUMNS
from cadence.csm_tasks import TaskContext, build_csm_tasks, write_csm_lists, write_csm_task_lists
from cadence.touches import COMMUNICATION_CALENDAR, CSM_TASKS, ensure_planning_tables

AS_OF = date(2026, 3, 2)


def touch(touch_id, account_id, csm_id, rule_id, when, channel="call", status="scheduled"):
    return {"touch_id": touch_id, "plan_date": AS_OF, "contact_id": f"{account_id}-champ",
            "account_id": account_id, "csm_id": csm_id, "rule_id": rule_id, "channel": channel,
            "template_id": rule_id.rsplit(".", 1)[-1], "status": status, "priority": 80,
            "scheduled_at": pd.Timestamp(when, tz="UTC")}


@pytest.fixture
def calendar():
    return pd.DataFrame([
        touch("t_1", "a1", "csm1", "renewal_timeline.renewal_discussion", "2026-03-03 09:00"),
        touch("t_2", "a2", "csm2", "tier_cadences.strategic_qbr", "2026-03-04 14:00",
              channel="meeting"),
        touch("t_3", "a1", "csm1", "tier_cadences.strategic_check_in_call", "2026-03-04 08:00"),
        touch("t_4", "a1", None, "tier_cadences.strategic_value_report", "2026-03-04 08:00",
              channel="email"),
        touch("t_5", "a2", "csm2", "tier_cadences.strategic_check_in_call", "2026-03-05 08:00",
              status="deferred"),
    ])


@pytest.fixture
def context():
    return TaskContext(
        accounts=pd.DataFrame([
            {"account_id": "a1", "name": "Acme GmbH", "timezone": "Europe/Berlin",
             "arr": 250000.0, "renewal_date": date(2026, 5, 1), "renewal_status": "open"},
            {"account_id": "a2", "name": "Globex Inc", "timezone": "America/New_York",
             "arr": 90000.0, "renewal_date": date(2027, 1, 1), "renewal_status": "open"}]),
        csms=pd.DataFrame([{"csm_id": "csm1", "name": "Carla", "timezone": "Europe/Berlin"},
                           {"csm_id": "csm2", "name": "Dan", "timezone": "America/New_York"}]),
        health=pd.DataFrame([{"account_id": "a1", "score": 48.0, "band": "red",
                              "score_delta_14d": -17.0}]),
        open_tickets=pd.DataFrame([{"account_id": "a1", "priority": "p1"},
                                   {"account_id": "a1", "priority": "p3"}]),
        recent_touches=pd.DataFrame([
            {"account_id": "a1", "channel": "email", "template_id": "renewal_value_summary",
             "scheduled_at": pd.Timestamp("2026-02-01 10:00", tz="UTC")}]),
    )


def test_only_scheduled_human_touches_become_tasks(calendar, context, policy):
    tasks = build_csm_tasks(calendar, context, policy, AS_OF)
    assert set(tasks["touch_id"]) == {"t_1", "t_2", "t_3"}
    assert set(CSM_TASKS) <= set(tasks.columns)
    by_touch = tasks.set_index("touch_id")
    assert by_touch.loc["t_1", "task_type"] == "renewal_discussion"
    assert by_touch.loc["t_2", "task_type"] == "qbr"
    assert by_touch.loc["t_3", "task_type"] == "check_in_call"
    assert (tasks["status"] == "open").all() and (tasks["plan_date"] == AS_OF).all()
    assert tasks["task_id"].is_unique


def test_context_explains_why_now_with_health_renewal_arr_tickets_and_last_touches(
        calendar, context, policy):
    task = build_csm_tasks(calendar, context, policy, AS_OF).set_index("touch_id").loc["t_1"]
    lines = task["context"].splitlines()
    assert lines[0].startswith("Why now: renewal discussion")
    assert "Health: 48 (red), -17 over 14 days" in lines
    assert "Renewal: 2026-05-01 (in 60 days, open)" in lines
    assert "ARR: 250,000" in lines and "Open tickets: 2 (1 P1/P2)" in lines
    assert "Last touches: 2026-02-01 email renewal_value_summary" in lines


def test_due_date_is_the_day_in_the_csm_timezone(context, policy):
    late = pd.DataFrame([touch("t_9", "a2", "csm2", "tier_cadences.strategic_check_in_call",
                               "2026-03-04 02:00")])  # 21:00 on 3 March in New York
    task = build_csm_tasks(late, context, policy, AS_OF).iloc[0]
    assert task["due_date"] == date(2026, 3, 3) and task["starts_at"].hour == 21


def test_each_csm_sees_only_their_accounts_and_ics_parses_back(calendar, context, policy,
                                                               tmp_path):
    tasks = build_csm_tasks(calendar, context, policy, AS_OF)
    paths = write_csm_lists(tasks, context.csms, tmp_path, AS_OF)
    root = tmp_path / "csm_tasks" / AS_OF.isoformat()
    assert sorted(p.relative_to(root).as_posix() for p in paths) == [
        "csm1/2026-03-03.csv", "csm1/2026-03-03.ics", "csm1/2026-03-04.csv",
        "csm1/2026-03-04.ics", "csm2/2026-03-04.csv", "csm2/2026-03-04.ics"]
    for csv in root.glob("*/*.csv"):
        owned = {"csm1": {"a1"}, "csm2": {"a2"}}[csv.parent.name]
        assert set(pd.read_csv(csv)["account_id"]) == owned
    parsed = Calendar.from_ical((root / "csm2" / "2026-03-04.ics").read_bytes())
    [event] = parsed.walk("VEVENT")
    assert str(event["uid"]) == tasks.set_index("touch_id").loc["t_2", "task_id"]
    assert str(event["summary"]) == "Qbr: Globex Inc"
    start = event.decoded("dtstart")
    assert str(start.tzinfo) == "America/New_York" and start.hour == 9  # 14:00 UTC
    assert parsed.walk("VTIMEZONE")


def test_rerun_overwrites_without_stale_files(calendar, context, policy, tmp_path):
    write_csm_lists(build_csm_tasks(calendar, context, policy, AS_OF), context.csms, tmp_path,
                    AS_OF)
    fewer = calendar[calendar["touch_id"] != "t_1"]
    paths = write_csm_lists(build_csm_tasks(fewer, context, policy, AS_OF), context.csms,
                            tmp_path, AS_OF)
    on_disk = sorted((tmp_path / "csm_tasks").rglob("*.*"))
    assert on_disk == sorted(paths) and not any("03-03" in p.name for p in on_disk)


def test_glue_writes_table_and_files_idempotently(any_warehouse, calendar, context, policy,
                                                  tmp_path):
    warehouse = any_warehouse
    ensure_planning_tables(warehouse)
    rows = calendar.reindex(columns=list(COMMUNICATION_CALENDAR))
    warehouse.write_frame("communication_calendar", rows, replace_where={"plan_date": AS_OF})
    accounts = context.accounts.reindex(columns=list(COLUMNS["accounts"])).astype(
        {"country": object, "plan": object, "csm_id": object, "status": object,
         "contract_start": object, "seats_purchased": "float64"})
    warehouse.write_frame("stg_accounts", accounts, replace_all=True)
    warehouse.write_frame("stg_csms", context.csms.assign(weekly_capacity=25), replace_all=True)
    warehouse.write_frame("account_health", context.health.assign(as_of_date=AS_OF),
                          replace_all=True)
    tickets = context.open_tickets.assign(ticket_id=["k1", "k2"], contact_id=None,
                                          opened_at=pd.Timestamp("2026-02-01", tz="UTC"),
                                          status="open")
    tickets["closed_at"] = pd.Series(pd.NaT, index=tickets.index, dtype="datetime64[ns, UTC]")
    warehouse.write_frame("stg_support_tickets", tickets, replace_all=True)
    for _ in range(2):
        summary = write_csm_task_lists(warehouse, policy, tmp_path, AS_OF)
    assert summary["tasks"] == 3 and summary["files"] == 6
    assert warehouse.count("csm_tasks", {"plan_date": AS_OF}) == 3


def test_a_name_that_starts_a_formula_stays_text_in_the_csv(calendar, context, policy,
                                                             tmp_path):
    tasks = build_csm_tasks(calendar, context, policy, AS_OF)
    tasks["account_name"] = '=HYPERLINK("http://evil.example","open")'
    write_csm_lists(tasks, context.csms, tmp_path, AS_OF)
    for csv in (tmp_path / "csm_tasks").rglob("*.csv"):
        names = set(pd.read_csv(csv)["account_name"])
        assert names == {'\'=HYPERLINK("http://evil.example","open")'}
