"""Consent: what the customer said stops the touches it should, within the hour, and
nothing else."""

from __future__ import annotations

import pandas as pd
import pytest

from cadence.devtools.stand_ins import StandIn
from cadence.handoff.consent import ConsentError, cancel_forbidden, sync_consent
from cadence.providers.base import HttpClient
from cadence.providers.sendgrid import SendGridProvider
from tests.integration.handoff_fixtures import (
    at,
    calendar,
    fast_policy,
    seed_calendar,
    seed_people,
    touch,
)


def _suppressions(warehouse, rows: list[dict]) -> None:
    frame = pd.DataFrame(rows, columns=["email", "contact_id", "reason", "scope", "created_at"])
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    warehouse.write_frame("stg_suppressions", frame.astype({"email": "object",
                                                            "contact_id": "object",
                                                            "scope": "object"}),
                          replace_all=True)


def _sync_and_cancel(warehouse, policy, now):
    sync_consent(warehouse, policy, now)
    return cancel_forbidden(warehouse, policy, now)


def test_unsubscribe_at_1005_cancels_the_1030_touch(any_warehouse, policy):
    seed_people(any_warehouse)
    seed_calendar(any_warehouse, [touch("t1", "c1", at("10:30")),
                                  touch("t2", "c2", at("10:30"))])
    _suppressions(any_warehouse, [{"email": "C1@example.com", "contact_id": None,
                                   "reason": "unsubscribe", "scope": "all",
                                   "created_at": at("10:05")}])
    result = _sync_and_cancel(any_warehouse, policy, at("10:10"))
    assert result["cancelled"] == 1
    cal = calendar(any_warehouse)
    assert cal.loc["t1", "status"] == "cancelled" and cal.loc["t2", "status"] == "scheduled"
    decisions = any_warehouse.read_table("calendar_decisions").set_index("touch_id")
    assert len(decisions) == 2  # still exactly one decision per touch
    decision = decisions.loc["t1"]
    assert (decision["decision"], decision["rule"]) == ("suppressed", "1.consent")
    assert decisions.loc["t2", "decision"] == "scheduled"
    assert "unsubscribe" in decision["detail"] and "@" not in decision["detail"]


def test_marketing_opt_out_still_lets_transactional_and_account_messages_through(
        warehouse, policy):
    seed_people(warehouse)
    seed_calendar(warehouse, [
        touch("promo", "c1", at("10:30"), message_type="promotional", category="promotional"),
        touch("tips", "c1", at("10:30"), message_type="educational"),
        touch("invoice", "c1", at("10:30"), message_type="transactional",
              category="operational"),
        touch("maintenance", "c1", at("10:30"), message_type="operational",
              category="operational"),
    ])
    _suppressions(warehouse, [{"email": None, "contact_id": "c1", "reason": "unsubscribe",
                               "scope": "marketing", "created_at": at("09:00")}])
    _sync_and_cancel(warehouse, policy, at("10:10"))
    status = calendar(warehouse)["status"]
    assert status["promo"] == status["tips"] == "cancelled"
    assert status["invoice"] == status["maintenance"] == "scheduled"


@pytest.mark.parametrize(("reason", "cancelled"), [
    ("bounce", {"email"}),
    ("spam_report", {"email"}),
    ("erasure", {"email", "in_app", "receipt"}),
    ("do_not_contact", {"email", "in_app", "receipt"}),
])
def test_hard_suppressions(warehouse, policy, reason, cancelled):
    seed_people(warehouse)
    seed_calendar(warehouse, [
        touch("email", "c1", at("10:30")),
        touch("in_app", "c1", at("10:30"), channel="in_app"),
        touch("receipt", "c1", at("10:30"), channel="in_app", message_type="transactional"),
    ])
    _suppressions(warehouse, [{"email": "c1@example.com", "contact_id": None,
                               "reason": reason, "scope": None, "created_at": at("09:00")}])
    _sync_and_cancel(warehouse, policy, at("10:10"))
    status = calendar(warehouse)["status"]
    assert set(status[status == "cancelled"].index) == cancelled


def test_never_preference_cancels_that_category_on_that_channel_only(warehouse, policy):
    seed_people(warehouse)
    seed_calendar(warehouse, [
        touch("promo_email", "c1", at("10:30"), message_type="promotional",
              category="promotional"),
        touch("promo_in_app", "c1", at("10:30"), channel="in_app",
              message_type="promotional", category="promotional"),
    ])
    warehouse.write_frame("stg_preferences", pd.DataFrame({
        "contact_id": ["c1"], "category": ["promotional"], "channel": ["email"],
        "frequency": ["never"], "updated_at": [pd.Timestamp(at("08:00"))]}))
    _sync_and_cancel(warehouse, policy, at("10:10"))
    status = calendar(warehouse)["status"]
    assert status["promo_email"] == "cancelled" and status["promo_in_app"] == "scheduled"


def test_a_suppression_dated_after_the_run_clock_is_applied(warehouse, policy):
    """Consent known now is honoured whatever the run's logical time or the row's stamp
    (a CRM clock a little ahead must not let a send through)."""
    seed_people(warehouse)
    seed_calendar(warehouse, [touch("t1", "c1", at("10:30"))])
    _suppressions(warehouse, [{"email": None, "contact_id": "c1", "reason": "unsubscribe",
                               "scope": "all", "created_at": at("12:00")}])
    assert _sync_and_cancel(warehouse, policy, at("10:10"))["cancelled"] == 1


def test_bad_suppression_row_names_row_and_column(warehouse, policy):
    _suppressions(warehouse, [{"email": None, "contact_id": None, "reason": "unsubscribe",
                               "scope": None, "created_at": at("09:00")}])
    with pytest.raises(ConsentError, match="row 0: column email/contact_id"):
        sync_consent(warehouse, policy, at("10:10"))


def test_sendgrid_suppressions_sync_from_a_watermark_without_duplicates(warehouse, policy):
    server = StandIn("sendgrid").start()
    try:
        created = int(at("09:00").timestamp())
        server.suppressions = {
            "unsubscribes": [{"email": "c1@example.com", "created": created}],
            "bounces": [{"email": "c2@example.com", "created": created, "reason": "550",
                         "status": "5.1.1"}],
            "spam_reports": [],
        }
        fast = fast_policy(policy)
        client = HttpClient(server.url, {}, fast.handoff.retry, 1000)
        sendgrid = SendGridProvider(client, fast.handoff.sendgrid)
        first = sync_consent(warehouse, fast, at("10:00"), sendgrid=sendgrid)
        second = sync_consent(warehouse, fast, at("11:00"), sendgrid=sendgrid)
        assert first["new_suppressions"] == 2 and second["new_suppressions"] == 0
        assert "start_time=" + str(created) in server.received[-1].path
        assert warehouse.count("consent_suppressions") == 2

        server.suppressions["spam_reports"].append({"email": "c3@example.com",
                                                    "created": created + 3600})
        assert sync_consent(warehouse, fast, at("12:00"),
                            sendgrid=sendgrid)["new_suppressions"] == 1
        reasons = set(warehouse.read_table("consent_suppressions")["reason"])
        assert reasons == {"unsubscribe", "bounce", "spam_report"}
    finally:
        server.stop()
