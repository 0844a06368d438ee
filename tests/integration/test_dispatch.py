"""Dispatch through the outbox protocol: every due touch ends sent exactly once or failed
with a reason, whatever crashes in between; past runs send nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import pytest

from cadence.handoff import dispatch
from cadence.handoff.consent import add_suppressions, normalise_suppressions
from cadence.handoff.dispatch import dispatch_due
from tests.integration.handoff_fixtures import (
    PLAN_DATE,
    at,
    calendar,
    seed_calendar,
    seed_people,
    touch,
)


def _due_touches(count: int = 3, channel: str = "email") -> list[dict]:
    return [touch(f"t{i}", f"c{i}", at("10:30"), channel=channel) for i in range(1, count + 1)]


def test_outbox_dispatch_writes_each_due_touch_once(any_warehouse, policy, tmp_path):
    warehouse = any_warehouse
    seed_people(warehouse)
    seed_calendar(warehouse, [*_due_touches(), touch("later", "c1", at("15:00"))])
    result = dispatch_due(warehouse, policy, at("10:00"), at("11:00"), run_is_live=True,
                          out_dir=tmp_path)
    assert result["sent"] == 3 and result["failed"] == 0
    files = list((tmp_path / "outbox" / "2026-11-23").glob("*.jsonl"))
    lines = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    assert sorted(m["touch_id"] for m in lines) == ["t1", "t2", "t3"]
    assert lines[0]["data"]["company"] == "Acme" and lines[0]["data"]["csm_name"] == "Sam CSM"
    cal = calendar(warehouse)
    assert set(cal.loc[["t1", "t2", "t3"], "status"]) == {"sent"}
    assert cal.loc["later", "status"] == "scheduled"

    again = dispatch_due(warehouse, policy, at("10:00"), at("11:00"), run_is_live=True,
                         out_dir=tmp_path)
    assert again["sent"] == 0 and warehouse.count("deliveries") == 3


def test_a_backfill_sends_nothing_and_simulation_replays_through_the_outbox(
        warehouse, policy, tmp_path):
    seed_people(warehouse)
    seed_calendar(warehouse, _due_touches())
    live_policy = policy.model_copy(update={"handoff": policy.handoff.model_copy(
        update={"channel_providers": {"email": "sendgrid"}})})
    result = dispatch_due(warehouse, live_policy, at("10:00"), at("11:00"), run_is_live=False,
                          out_dir=tmp_path)
    assert result["mode"] == "not_live" and result["sent"] == 0
    assert set(calendar(warehouse)["status"]) == {"scheduled"}

    replay = dispatch_due(warehouse, live_policy, at("10:00"), at("11:00"), run_is_live=False,
                          simulation=True, out_dir=tmp_path)
    assert replay["sent"] == 3
    assert set(warehouse.read_table("deliveries")["provider"]) == {"outbox"}


def test_stale_touches_are_dropped_with_a_reason(warehouse, policy, tmp_path):
    seed_people(warehouse)
    seed_calendar(warehouse, [touch("old", "c1", at("01:00")), touch("new", "c2", at("10:30"))])
    result = dispatch_due(warehouse, policy, at("10:00"), at("11:00"), run_is_live=True,
                          out_dir=tmp_path)
    assert result["stale"] == 1 and result["sent"] == 1
    cal = calendar(warehouse)
    assert cal.loc["old", "status"] == "dropped" and "stale" in cal.loc["old", "reason"]
    decisions = warehouse.read_table("calendar_decisions").set_index("touch_id")
    assert decisions.loc["old", "rule"] == "9.staleness"  # replaces the planner's decision
    assert decisions.loc["new", "decision"] == "scheduled" and len(decisions) == 2


def test_unrenderable_touch_fails_with_a_reason(warehouse, policy, tmp_path):
    seed_people(warehouse)
    seed_calendar(warehouse, [touch("ghost", "nobody", at("10:30"))])
    dispatch_due(warehouse, policy, at("10:00"), at("11:00"), run_is_live=True,
                 out_dir=tmp_path)
    cal = calendar(warehouse)
    assert cal.loc["ghost", "status"] == "failed"
    assert cal.loc["ghost", "reason"] == "contact not found in stg_contacts"


def test_an_sms_needs_a_phone_number_and_carries_it_in_e164(warehouse, policy, tmp_path):
    seed_people(warehouse, 2)
    people = warehouse.read_table("stg_contacts")
    people.loc[people["contact_id"] == "c2", "phone"] = "call reception"
    warehouse.write_frame("stg_contacts", people, replace_all=True)
    seed_calendar(warehouse, [touch("s1", "c1", at("10:30"), channel="sms"),
                              touch("s2", "c2", at("10:30"), channel="sms")])
    dispatch_due(warehouse, policy, at("10:00"), at("11:00"), run_is_live=True,
                 out_dir=tmp_path)
    cal = calendar(warehouse)
    assert cal.loc["s2", "status"] == "failed"
    assert cal.loc["s2", "reason"] == "contact has no phone number in E.164 form"
    assert cal.loc["s1", "status"] == "sent"
    sent = [json.loads(line) for f in (tmp_path / "outbox").rglob("*.jsonl")
            for line in f.read_text().splitlines()]
    assert [m["phone"] for m in sent] == ["+447700900001"]


def test_dry_run_renders_files_and_changes_nothing(warehouse, policy, tmp_path):
    seed_people(warehouse)
    seed_calendar(warehouse, _due_touches())
    result = dispatch_due(warehouse, policy, at("10:00"), at("11:00"), run_is_live=True,
                          dry_run=True, out_dir=tmp_path)
    assert result["rendered"] == 3
    assert list((tmp_path / "dry_run" / "outbox").rglob("*.jsonl"))
    assert set(calendar(warehouse)["status"]) == {"scheduled"}
    assert warehouse.count("deliveries") == 0


@pytest.mark.parametrize("crash_point", ["_mark_sending", "_record_outcome"])
def test_outbox_crash_then_rerun_neither_loses_nor_doubles(warehouse, policy, tmp_path,
                                                            monkeypatch, crash_point):
    seed_people(warehouse)
    seed_calendar(warehouse, _due_touches())
    original = getattr(dispatch, crash_point)

    def crash(*args, **kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(dispatch, crash_point, crash)
    with pytest.raises(RuntimeError):
        dispatch_due(warehouse, policy, at("10:00"), at("11:00"), run_is_live=True,
                     out_dir=tmp_path)
    monkeypatch.setattr(dispatch, crash_point, original)
    result = dispatch_due(warehouse, policy, at("10:00"), at("11:00"), run_is_live=True,
                          out_dir=tmp_path)
    assert result["resumed_batches"] == 1 and result["sent"] == 3
    assert set(calendar(warehouse)["status"]) == {"sent"}
    files = list((tmp_path / "outbox").rglob("*.jsonl"))
    assert len(files) == 1 and len(files[0].read_text().splitlines()) == 3


def test_a_touch_sent_under_yesterdays_plan_is_not_sent_again_when_replanned(
        warehouse, policy, tmp_path):
    seed_people(warehouse)
    seed_calendar(warehouse, [touch("t1", "c1", at("23:30"))])
    dispatch_due(warehouse, policy, at("23:00"), at("23:59"), run_is_live=True,
                 out_dir=tmp_path)
    next_day = PLAN_DATE + timedelta(days=1)
    seed_calendar(warehouse, [touch("t1", "c1", at("23:30"), plan_date=next_day)],
                  plan_date=next_day)
    result = dispatch_due(warehouse, policy, at("00:00", next_day), at("01:00", next_day),
                          run_is_live=True, out_dir=tmp_path)
    assert result["sent"] == 0 and warehouse.count("deliveries") == 1
    replanned = warehouse.read_table("communication_calendar", {"plan_date": next_day})
    assert list(replanned["status"]) == ["sent"]


def test_consent_is_rechecked_at_send_time(warehouse, policy, tmp_path):
    seed_people(warehouse)
    seed_calendar(warehouse, _due_touches(2))
    add_suppressions(warehouse, normalise_suppressions(pd.DataFrame({
        "email": [None], "contact_id": ["c1"], "reason": ["do_not_contact"],
        "scope": [None], "created_at": [at("09:50")]}), "files", at("09:50")))
    result = dispatch_due(warehouse, policy, at("10:00"), at("11:00"), run_is_live=True,
                          out_dir=tmp_path)
    assert result["cancelled"] == 1 and result["sent"] == 1
    assert calendar(warehouse).loc["t1", "status"] == "cancelled"
    decisions = warehouse.read_table("calendar_decisions").set_index("touch_id")
    assert decisions.loc["t1", "rule"] == "1.consent"
    assert decisions.index.is_unique
