"""Consent fails closed and live means now (issue 11, points 1 and 2): the hourly steps as
the DAG runs them, with the wall clock they are given, on suppression and preference
files a CRM really exports (trailing blanks, capitals, Unicode domains, broken rows)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pandas as pd
import pytest

from cadence.contract.settings import load_settings
from cadence.handoff.consent_holds import UnreadableConsentRows, check_consent_rows
from cadence.orchestration import hourly
from cadence.orchestration.runs import Run
from cadence.quality.consent_rows import email_match_key, normalise_consent_rows
from tests.integration.handoff_fixtures import at, calendar, seed_calendar, seed_people, touch

SUPPRESSION_COLUMNS = ["email", "contact_id", "reason", "scope", "created_at"]
PREFERENCE_COLUMNS = ["contact_id", "category", "channel", "frequency", "updated_at"]


def _run(warehouse, policy, tmp_path, window_end: datetime, wall_clock: datetime,
         **params) -> Run:
    """An hourly run whose data interval ends at ``window_end`` and whose wall clock reads
    ``wall_clock``, on ``warehouse`` and the sources under ``tmp_path/sources``."""
    settings = load_settings({"CADENCE_SOURCE_DIR": str(tmp_path / "sources"),
                              "CADENCE_OUT_DIR": str(tmp_path / "out")})
    run = Run(run_id=f"hourly_{window_end:%H%M}_{wall_clock:%H%M%S}", run_type="scheduled",
              data_interval_start=window_end - timedelta(hours=1),
              data_interval_end=window_end, started_at=wall_clock, clock=lambda: wall_clock,
              params={"lookahead_hours": 1, **params}, settings=settings)
    run.__dict__["warehouse"] = warehouse  # the test's warehouse, not a second engine
    run.__dict__["policy"] = policy
    return run


def _sources(tmp_path, suppressions: list[dict], preferences: list[dict] = ()) -> None:
    folder = tmp_path / "sources"
    folder.mkdir(exist_ok=True)
    pd.DataFrame(list(suppressions), columns=SUPPRESSION_COLUMNS).to_csv(
        folder / "suppressions.csv", index=False)
    pd.DataFrame(list(preferences), columns=PREFERENCE_COLUMNS).to_csv(
        folder / "preferences.csv", index=False)


def _world(warehouse, touches: list[dict], contacts: int = 3, **emails: str) -> None:
    """Staged people (``emails`` overrides cN's address) and their validated contacts."""
    seed_people(warehouse, contacts)
    staged = warehouse.read_table("stg_contacts")
    for contact_id, email in emails.items():
        staged.loc[staged["contact_id"] == contact_id, "email"] = email
    warehouse.write_frame("stg_contacts", staged, replace_all=True)
    warehouse.write_frame("validated_contacts", staged.astype(str), replace_all=True)
    seed_calendar(warehouse, touches)


def _lenient(policy):
    """Rows that are all broken are far over the 5% reject threshold that would fail the
    sync; in a real export they are a handful among thousands."""
    quality = policy.quality.model_copy(update={"reject_rate_threshold": 1.0})
    return policy.model_copy(update={"quality": quality})


def _hour(run: Run) -> dict:
    """The hourly DAG's steps up to the consent check, as Airflow runs them."""
    hourly.sync_consent(run)
    hourly.cancel_forbidden_touches(run)
    return hourly.dispatch_due_touches(run)


def _sent(warehouse) -> set[str]:
    status = calendar(warehouse)["status"]
    return set(status[status == "sent"].index)


# -- live means now ---------------------------------------------------------------------
def test_a_run_dated_a_week_ahead_sends_nothing_and_marks_nothing_stale(
        warehouse, policy, tmp_path):
    """`airflow dags test cadence_hourly <next week>` sent a week early and dropped every
    touch in between as stale."""
    now = at("10:05")
    _world(warehouse, [touch("today", "c1", at("10:30")),
                       touch("tomorrow", "c2", at("09:00") + timedelta(days=1)),
                       touch("next_week", "c3", at("10:30") + timedelta(days=7))])
    _sources(tmp_path, [])
    ahead = _run(warehouse, policy, tmp_path, at("10:00") + timedelta(days=7), now)
    result = _hour(ahead)
    assert result["mode"] == "not_live" and result["sent"] == result["stale"] == 0
    assert set(calendar(warehouse)["status"]) == {"scheduled"}
    decisions = warehouse.read_table("calendar_decisions")
    assert not decisions["rule"].eq("9.staleness").any()

    # the real hourly run that follows still sends today's touch
    assert _hour(_run(warehouse, policy, tmp_path, at("10:00"), now))["sent"] == 1
    assert _sent(warehouse) == {"today"}


def test_a_late_live_run_judges_staleness_and_the_window_by_the_wall_clock(
        warehouse, policy, tmp_path):
    """A run for 10:00 that starts at 15:30 (within the 6 h bound) drops what is stale by
    then and sends what is due by then, not what was due at 10:00."""
    _world(warehouse, [touch("missed", "c1", at("09:00")),
                       touch("due_now", "c2", at("15:45")),
                       touch("tonight", "c3", at("20:00"))])
    _sources(tmp_path, [])
    result = _hour(_run(warehouse, policy, tmp_path, at("10:00"), at("15:30")))
    assert result["mode"] == "live" and result["stale"] == 1
    status = calendar(warehouse)["status"]
    assert (status["missed"], status["due_now"], status["tonight"]) == (
        "dropped", "sent", "scheduled")


# -- consent known at send time ---------------------------------------------------------
def test_an_unsubscribe_at_2310_stops_a_send_at_2326_of_the_2300_run(
        warehouse, policy, tmp_path):
    _world(warehouse, [touch("t1", "c1", at("23:30")), touch("t2", "c2", at("23:30"))])
    _sources(tmp_path, [{"email": "c1@example.com", "reason": "unsubscribe", "scope": "all",
                         "created_at": "2026-11-23T23:10:00Z"}])
    result = _hour(_run(warehouse, policy, tmp_path, at("23:00"), at("23:26")))
    assert result["sent"] == 1 and _sent(warehouse) == {"t2"}
    assert calendar(warehouse).loc["t1", "status"] == "cancelled"


@pytest.mark.parametrize("written", [
    "c1@example.com ",  # trailing blank: was quarantined by the e-mail regex, then emailed
    "  C1@EXAMPLE.COM",
    "\tc1@Example.com\t",
])
def test_an_unsubscribe_with_blanks_or_capitals_is_honoured(warehouse, policy, tmp_path,
                                                             written):
    _world(warehouse, [touch("t1", "c1", at("10:30")), touch("t2", "c2", at("10:30"))])
    _sources(tmp_path, [{"email": written, "reason": " Unsubscribe", "scope": "ALL ",
                         "created_at": " 2026-11-23T09:00:00Z "}])
    _hour(_run(warehouse, policy, tmp_path, at("10:00"), at("10:05")))
    assert _sent(warehouse) == {"t2"}
    assert warehouse.count("quarantine", {"entity": "suppressions"}) == 0
    check_consent_rows(warehouse)  # nothing unreadable: the check passes


def test_an_unsubscribe_with_a_unicode_domain_matches_the_punycode_address(
        warehouse, policy, tmp_path):
    _world(warehouse, [touch("t1", "c1", at("10:30")), touch("t2", "c2", at("10:30"))],
           c1="jo@xn--bcher-kva.example")
    _sources(tmp_path, [{"email": "Jo@Bücher.example", "reason": "unsubscribe",
                         "scope": "all", "created_at": "2026-11-23T09:00:00Z"}])
    _hour(_run(warehouse, policy, tmp_path, at("10:00"), at("10:05")))
    assert _sent(warehouse) == {"t2"}


def test_a_never_preference_with_capitals_and_blanks_is_honoured(warehouse, policy,
                                                                 tmp_path):
    _world(warehouse, [touch("t1", "c1", at("10:30")), touch("t2", "c2", at("10:30"))])
    _sources(tmp_path, [], [{"contact_id": " c1 ", "category": "Educational ",
                             "channel": " EMAIL", "frequency": "Never",
                             "updated_at": "2026-11-23T08:00:00Z"}])
    _hour(_run(warehouse, policy, tmp_path, at("10:00"), at("10:05")))
    assert _sent(warehouse) == {"t2"}


# -- an unreadable consent row holds whom it could refer to -----------------------------
def test_an_unreadable_row_holds_its_contacts_fails_the_check_and_lets_others_go(
        warehouse, policy, tmp_path, caplog):
    policy = _lenient(policy)
    _world(warehouse, [touch(f"t{i}", f"c{i}", at("10:30")) for i in range(1, 5)],
           contacts=4, c3="zoë@xn--bcher-kva.example")
    _sources(tmp_path, [
        # an id and an address no validation can read
        {"contact_id": "c1", "email": "c1@@example", "reason": "unsubscribe",
         "created_at": "2026-11-23T09:00:00Z"},
        # same address as c2 up to case and blanks, a date nobody can read
        {"email": "C2 @Example.com", "reason": "unsubscribe", "created_at": "yesterday"},
        # c3's address with its Unicode domain, an unknown reason
        {"email": "ZOË@bücher.example", "reason": "unsubscribed", "created_at":
         "2026-11-23T09:00:00Z"},
    ], [{"contact_id": "c4", "category": "educational", "channel": "email",
         "frequency": "hourly", "updated_at": "2026-11-23T08:00:00Z"}])
    run = _run(warehouse, policy, tmp_path, at("10:00"), at("10:05"))
    result = _hour(run)
    assert result["held"] == 3 + 1 and result["sent"] == 0
    assert set(calendar(warehouse)["status"]) == {"scheduled"}  # held, not cancelled
    assert warehouse.count("quarantine", {"entity": "suppressions"}) == 3

    with pytest.raises(UnreadableConsentRows) as failure:
        hourly.check_consent_rows(run)
    message = str(failure.value)
    assert "4 consent row(s) cannot be read" in message and "4 contact(s)" in message
    assert "suppressions contact_id c1: suppressions.email" in message
    assert "suppressions.created_at" in message and "suppressions.reason" in message
    assert "preferences contact_id c4: preferences.frequency" in message
    assert "@" not in message  # the check names ids and rules, never an address
    assert all("@" not in r.getMessage() for r in caplog.records)

    # the CRM fixes the rows: the hold is released at the next sync and the touches go
    _sources(tmp_path, [{"contact_id": "c1", "email": "c1@example.com",
                         "reason": "bounce", "created_at": "2026-11-23T09:00:00Z"}])
    later = _run(warehouse, policy, tmp_path, at("11:00"), at("10:20"))
    result = _hour(later)
    assert result["held"] == 0
    assert _sent(warehouse) == {"t2", "t3", "t4"}  # c1 bounced: no email
    assert hourly.check_consent_rows(later) == {"unreadable_rows": 0, "held_contacts": 0}


def test_a_row_naming_nobody_still_fails_the_check_but_holds_no_one(warehouse, policy,
                                                                    tmp_path):
    policy = _lenient(policy)
    _world(warehouse, [touch("t1", "c1", at("10:30"))])
    _sources(tmp_path, [{"reason": "unsubscribe", "created_at": "2026-11-23T09:00:00Z"}])
    run = _run(warehouse, policy, tmp_path, at("10:00"), at("10:05"))
    assert _hour(run)["sent"] == 1
    with pytest.raises(UnreadableConsentRows, match="row without contact_id.*no known contact"):
        hourly.check_consent_rows(run)


# -- the normalisation itself -----------------------------------------------------------
def test_normalisation_trims_lowercases_and_punycodes_only_what_it_should():
    raw = pd.DataFrame({"email": [" Jo@Bücher.Example ", "   ", None],
                        "contact_id": [" C-01 ", "c2", "c3"],
                        "reason": ["Erasure", "bounce ", "unsubscribe"],
                        "scope": ["ALL", None, " marketing"],
                        "created_at": ["2026-11-23T09:00:00Z "] * 3,
                        "_run_id": ["r"] * 3}).astype("str")
    out = normalise_consent_rows("suppressions", raw)
    assert out["email"].tolist()[0] == "jo@xn--bcher-kva.example"
    assert out["email"].isna().tolist() == [False, True, True]
    assert out["contact_id"].tolist() == ["C-01", "c2", "c3"]  # ids keep their case
    assert out["reason"].tolist() == ["erasure", "bounce", "unsubscribe"]
    assert out["created_at"].tolist() == ["2026-11-23T09:00:00Z"] * 3
    assert normalise_consent_rows("contacts", raw) is raw
    assert email_match_key(" Jo @BÜCHER.example") == "jo@xn--bcher-kva.example"


def test_quarantined_consent_rows_keep_what_the_source_said(warehouse, policy, tmp_path):
    policy = _lenient(policy)
    _world(warehouse, [touch("t1", "c1", at("10:30"))])
    _sources(tmp_path, [{"contact_id": "c1", "email": "c1@@example", "reason": "unsubscribe",
                         "created_at": "2026-11-23T09:00:00Z"}])
    _hour(_run(warehouse, policy, tmp_path, at("10:00"), at("10:05")))
    row = json.loads(warehouse.read_table("quarantine", {"entity": "suppressions"})["row"][0])
    assert row["contact_id"] == "c1" and row["reason"] == "unsubscribe"
