"""Shared set-up of the handoff tests: a small staged world and a calendar to dispatch."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pandas as pd

from cadence.contract.tables import COMMUNICATION_CALENDAR

PLAN_DATE = date(2026, 11, 23)


def at(hhmm: str, day: date = PLAN_DATE) -> datetime:
    """A UTC time on ``day``."""
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=UTC)


def seed_people(warehouse, contacts: int = 3) -> None:
    """Accounts, CSMs and contacts c1..cN (emails cN@example.com)."""
    warehouse.write_frame("stg_csms", pd.DataFrame({
        "csm_id": ["s1"], "name": ["Sam CSM"], "email": ["sam@vendor.example"]}),
        replace_all=True)
    warehouse.write_frame("stg_accounts", pd.DataFrame({
        "account_id": ["a1"], "name": ["Acme"], "csm_id": ["s1"]}), replace_all=True)
    ids = [f"c{i}" for i in range(1, contacts + 1)]
    warehouse.write_frame("stg_contacts", pd.DataFrame({
        "contact_id": ids, "account_id": ["a1"] * len(ids),
        "email": [f"{c}@Example.com" for c in ids], "first_name": [f"First{c}" for c in ids],
        "last_name": ["Doe"] * len(ids),
        "phone": [f"+44 7700 900{n:03d}" for n in range(1, len(ids) + 1)]}), replace_all=True)


def touch(touch_id: str, contact_id: str, scheduled_at: datetime, channel: str = "email",
          message_type: str = "educational", category: str = "educational",
          template_id: str = "d-tips", plan_date: date = PLAN_DATE, **payload) -> dict:
    """One scheduled calendar row."""
    return {"touch_id": touch_id, "plan_date": plan_date, "contact_id": contact_id,
            "account_id": "a1", "csm_id": "s1", "team": "cs", "message_type": message_type,
            "category": category, "channel": channel, "template_id": template_id,
            "intent": template_id, "source": "cadence", "rule_id": "r1",
            "scheduled_at": scheduled_at, "local_send_at": scheduled_at.replace(tzinfo=None),
            "timezone": "UTC", "status": "scheduled", "reason": None, "priority": 1,
            "payload": json.dumps({"subject": "Tips", **payload}), "batch_id": None,
            "provider_message_id": None, "updated_at": scheduled_at}


def seed_calendar(warehouse, rows: list[dict], plan_date: date = PLAN_DATE) -> None:
    """Write the calendar partition ``plan_date`` with the planner's column types."""
    frame = pd.DataFrame(rows, columns=list(COMMUNICATION_CALENDAR))
    frame["scheduled_at"] = pd.to_datetime(frame["scheduled_at"], utc=True)
    frame["updated_at"] = pd.to_datetime(frame["updated_at"], utc=True)
    warehouse.write_frame("communication_calendar", frame, replace_where={"plan_date": plan_date})
    # the planner's decision for each touch, which the hourly run's outcome replaces
    decisions = frame[["touch_id", "plan_date", "contact_id", "account_id"]].assign(
        decision="scheduled", rule="8.send_timing", detail="planned by the nightly run",
        decided_at=frame["updated_at"])
    warehouse.write_frame("calendar_decisions", decisions, replace_where={"plan_date": plan_date})


def calendar(warehouse) -> pd.DataFrame:
    """The calendar rows by touch id."""
    return warehouse.read_table("communication_calendar").set_index("touch_id")


def fast_policy(policy, **channel_providers: str):
    """The shipped policy with tiny timeouts and backoffs, and the given channel providers."""
    from cadence.providers.policy import RetryPolicy

    retry = RetryPolicy(max_attempts=4, initial_backoff_seconds=0.01, max_backoff_seconds=0.05,
                        max_total_seconds=5, connect_timeout_seconds=1,
                        read_timeout_seconds=0.3)
    handoff = policy.handoff.model_copy(update={
        "retry": retry,
        "channel_providers": {**policy.handoff.channel_providers, **channel_providers},
        "sendgrid": policy.handoff.sendgrid.model_copy(
            update={"requests_per_second": 1000, "asm_groups": {"educational": 42}}),
        "intercom": policy.handoff.intercom.model_copy(update={"requests_per_second": 1000}),
        "webhook": policy.handoff.webhook.model_copy(update={"requests_per_second": 1000}),
        "twilio": policy.handoff.twilio.model_copy(update={
            "requests_per_second": 1000, "from_number": "+15005550006",
            "bodies": {"d-tips": "Tips for {first_name}"}}),
    })
    return policy.model_copy(update={"handoff": handoff})
