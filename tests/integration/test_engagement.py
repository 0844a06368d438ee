"""Engagement: provider events land once, opt-outs flow into consent in the same run, and
metrics and falling-engagement flags describe what was sent."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest

from cadence.handoff.consent import cancel_forbidden
from cadence.handoff.dispatch import dispatch_due
from cadence.handoff.engagement import (
    EngagementError,
    compute_engagement_metrics,
    ingest_engagement,
)
from tests.integration.handoff_fixtures import at, calendar, seed_calendar, seed_people, touch

AS_OF = date(2026, 11, 23)


def _event(event: str, touch_id: str, hhmm: str, email: str, **extra) -> dict:
    return {"email": email, "timestamp": int(at(hhmm).timestamp()), "event": event,
            "sg_message_id": f"msg-{touch_id}.filter0001", "touch_id": touch_id,
            "sg_event_id": f"{event}-{touch_id}-{hhmm}", **extra}


@pytest.fixture
def sent_world(any_warehouse, policy, tmp_path):
    """Four emails sent through the outbox at 10:00–11:00 (c3 got two), and one scheduled
    for later to c2; on DuckDB and on PostgreSQL."""
    warehouse = any_warehouse
    seed_people(warehouse)
    seed_calendar(warehouse, [touch("t1", "c1", at("10:30")), touch("t2", "c2", at("10:30")),
                              touch("t3", "c3", at("10:30")), touch("t4", "c3", at("10:45")),
                              touch("later", "c2", at("15:00"))])
    dispatch_due(warehouse, policy, at("10:00"), at("11:00"), run_is_live=True,
                 out_dir=tmp_path / "out")
    return warehouse


def _drop(folder, name: str, events: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(events))


def test_events_land_once_and_unsubscribes_stop_later_touches(sent_world, policy, tmp_path):
    events = tmp_path / "engagement"
    _drop(events, "batch1.json", [
        _event("processed", "t1", "10:59", "c1@example.com"),
        *[_event("delivered", t, "11:01", f"{c}@example.com")
          for t, c in [("t1", "c1"), ("t2", "c2"), ("t3", "c3"), ("t4", "c3")]],
        _event("open", "t1", "11:05", "c1@example.com"),
        _event("open", "t1", "11:30", "c1@example.com"),
        _event("click", "t1", "11:06", "c1@example.com", url="https://example.com"),
        _event("unsubscribe", "t2", "11:10", "C2@example.com"),
    ])
    first = ingest_engagement(sent_world, policy, AS_OF, events_dir=events)
    assert first["new_events"] == 8 and first["untracked_event_types"] == {"processed": 1}
    assert first["new_suppressions"] == 1
    again = ingest_engagement(sent_world, policy, AS_OF, events_dir=events)
    assert again["new_events"] == 0 and again["new_suppressions"] == 0
    assert sent_world.count("engagement_events") == 8

    cancel_forbidden(sent_world, policy, at("12:00"))
    assert calendar(sent_world).loc["later", "status"] == "cancelled"


def test_metrics_per_template_team_segment_week(sent_world, policy, tmp_path):
    events = tmp_path / "engagement"
    _drop(events, "e.json", [
        *[_event("delivered", t, "11:01", "x@example.com") for t in ("t1", "t2", "t3")],
        _event("bounce", "t4", "11:01", "c3@example.com", reason="550", type="bounce"),
        _event("open", "t1", "11:05", "x@example.com"),
        _event("open", "t1", "11:07", "x@example.com"),
        _event("click", "t1", "11:06", "x@example.com"),
    ])
    ingest_engagement(sent_world, policy, AS_OF, events_dir=events)
    result = compute_engagement_metrics(sent_world, policy, AS_OF)
    assert result["metric_rows"] == 1
    row = sent_world.read_table("engagement_metrics").iloc[0]
    assert pd.Timestamp(row["week_start"]).date() == date(2026, 11, 23)
    assert (row["template_id"], row["team"], row["segment"]) == ("d-tips", "cs", "unsegmented")
    assert (row["sent"], row["delivered"]) == (4, 3)
    assert row["open_rate"] == pytest.approx(1 / 3)
    assert row["click_rate"] == pytest.approx(1 / 3)
    assert row["bounce_rate"] == pytest.approx(1 / 4)
    compute_engagement_metrics(sent_world, policy, AS_OF)
    assert sent_world.count("engagement_metrics") == 1


def test_contacts_with_unopened_emails_are_flagged_for_a_lighter_cadence(
        sent_world, policy, tmp_path):
    events = tmp_path / "engagement"
    _drop(events, "e.json", [_event("open", "t1", "11:05", "c1@example.com")])
    ingest_engagement(sent_world, policy, AS_OF, events_dir=events)
    strict = policy.model_copy(update={"handoff": policy.handoff.model_copy(update={
        "engagement": policy.handoff.engagement.model_copy(
            update={"sends_without_open_for_flag": 2})})})
    compute_engagement_metrics(sent_world, strict, AS_OF)
    flags = sent_world.read_table("engagement_flags")
    assert list(flags["contact_id"]) == ["c3"]
    assert list(flags["sends_without_open"]) == [2]


def test_staged_unsubscribe_without_email_suppresses_the_touch_contact(sent_world, policy,
                                                                       tmp_path):
    sent_world.write_frame("stg_engagement_events", pd.DataFrame({
        "provider": ["sendgrid"], "provider_message_id": ["m-2"], "touch_id": ["t2"],
        "event": ["unsubscribe"], "occurred_at": [pd.Timestamp(at("11:00"))]}))
    result = ingest_engagement(sent_world, policy, AS_OF, events_dir=tmp_path / "none")
    assert result["new_events"] == 1 and result["new_suppressions"] == 1
    suppression = sent_world.read_table("consent_suppressions").iloc[0]
    assert (suppression["contact_id"], suppression["reason"]) == ("c2", "unsubscribe")


def test_a_bad_event_file_names_file_row_and_field(warehouse, policy, tmp_path):
    events = tmp_path / "engagement"
    _drop(events, "bad.json", [{"event": "open", "timestamp": 1}])
    with pytest.raises(EngagementError, match="bad.json row 0: field sg_message_id"):
        ingest_engagement(warehouse, policy, AS_OF, events_dir=events)
