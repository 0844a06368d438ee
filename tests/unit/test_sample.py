"""Sample sources: deterministic, consistent across entities, realistic mixes, dirty rows."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import available_timezones

import pandas as pd
import pytest

from cadence.contract.entities import ENTITIES, ENTITY_ORDER
from cadence.devtools.sample import generate_sample, write_sample

AS_OF = date(2026, 11, 23)


@pytest.fixture(scope="module")
def clean() -> dict[str, pd.DataFrame]:
    """A clean sample large enough to show every mix."""
    return generate_sample(accounts=400, seed=11, as_of=AS_OF, dirty_rate=0.0)


def test_same_seed_writes_byte_identical_files(tmp_path):
    first = write_sample(tmp_path / "a", accounts=40, seed=3, as_of=AS_OF)
    second = write_sample(tmp_path / "b", accounts=40, seed=3, as_of=AS_OF)
    assert first == second
    for name in ENTITY_ORDER:
        assert (tmp_path / "a" / f"{name}.csv").read_bytes() == (
            tmp_path / "b" / f"{name}.csv").read_bytes(), name
    write_sample(tmp_path / "c", accounts=40, seed=4, as_of=AS_OF)
    assert (tmp_path / "a" / "contacts.csv").read_bytes() != (
        tmp_path / "c" / "contacts.csv").read_bytes()


def test_every_entity_is_written_with_the_contract_columns(tmp_path):
    counts = write_sample(tmp_path, accounts=30, seed=1, as_of=AS_OF)
    assert list(counts) == list(ENTITY_ORDER)
    for name in ENTITY_ORDER:
        frame = pd.read_csv(tmp_path / f"{name}.csv", dtype=str)
        assert list(frame.columns) == ENTITIES[name].column_names
        assert len(frame) == counts[name] > 0


def test_references_between_clean_entities_all_resolve(clean):
    accounts = set(clean["accounts"]["account_id"])
    contacts = set(clean["contacts"]["contact_id"])
    assert clean["accounts"]["account_id"].is_unique
    assert clean["contacts"]["contact_id"].is_unique
    assert set(clean["accounts"]["csm_id"].dropna()) <= set(clean["csms"]["csm_id"])
    assert set(clean["contacts"]["account_id"]) == accounts
    assert set(clean["usage_daily"]["account_id"]) <= accounts
    assert set(clean["support_tickets"]["account_id"]) <= accounts
    assert set(clean["support_tickets"]["contact_id"].dropna()) <= contacts
    assert set(clean["nps_responses"]["contact_id"]) <= contacts
    assert set(clean["preferences"]["contact_id"]) <= contacts
    assert set(clean["suppressions"]["contact_id"].dropna()) <= contacts
    # A ticket's contact works at the ticket's account.
    tickets = clean["support_tickets"].dropna(subset=["contact_id"]).merge(
        clean["contacts"][["contact_id", "account_id"]], on="contact_id", suffixes=("", "_c"))
    assert (tickets["account_id"] == tickets["account_id_c"]).all()


def test_accounts_mix_tiers_stages_and_renewals(clean):
    accounts = clean["accounts"]
    arr = accounts["arr"].astype(float)
    assert (arr >= 500_000).any() and (arr < 5_000).any()
    assert (arr >= 500_000).mean() < 0.06
    assert set(accounts["status"]) == {"active", "trial", "churned"}
    start = pd.to_datetime(accounts["contract_start"]).dt.date
    renewal = pd.to_datetime(accounts["renewal_date"]).dt.date
    assert (start > AS_OF - timedelta(days=90)).sum() >= 10  # onboarding accounts
    assert (start <= AS_OF).all()
    live = accounts["status"] == "active"
    days_to_renewal = (renewal[live] - AS_OF).map(lambda d: d.days)
    assert (days_to_renewal.between(0, 90)).sum() >= 10
    assert days_to_renewal.max() > 270  # renewals spread over the year
    assert {"open", "committed", "renewed", "lost"} <= set(accounts["renewal_status"])
    assert (accounts.loc[accounts["status"] == "churned", "renewal_status"] == "lost").all()
    assert accounts["csm_id"].notna().sum() / len(clean["csms"]) <= 40


def test_contacts_have_sensible_roles_zones_and_counts(clean):
    contacts = clean["contacts"]
    per_account = contacts.groupby("account_id").size()
    assert per_account.between(2, 15).all()
    assert (contacts.groupby("account_id")["is_primary"].apply(lambda s: (s == "true").sum())
            == 1).all()
    assert set(contacts["role"]) == {"admin", "champion", "executive", "user", "billing"}
    assert contacts["timezone"].isna().any()
    assert set(contacts["timezone"].dropna()) <= available_timezones()
    assert contacts["email"].str.fullmatch(r"[a-z0-9.]+@[a-z0-9.-]+").all()
    joined = contacts.merge(clean["accounts"][["account_id", "country"]], on="account_id")
    us = joined[joined["country"] == "US"]
    assert us["timezone"].dropna().str.startswith("America/").all()


def test_usage_covers_ninety_days_to_as_of_with_feature_rows(clean):
    usage = clean["usage_daily"]
    days = pd.to_datetime(usage["usage_date"]).dt.date
    assert days.max() == AS_OF
    assert days.min() == AS_OF - timedelta(days=89)
    totals = usage[usage["feature"].isna()]
    assert not totals.duplicated(["account_id", "usage_date"]).any()
    assert usage["feature"].notna().any()
    seats = clean["accounts"].set_index("account_id")["seats_purchased"].astype(int)
    active = totals["active_users"].astype(int)
    assert (active <= totals["account_id"].map(seats)).all()
    churned = clean["accounts"].loc[clean["accounts"]["status"] == "churned", "account_id"]
    last_day = pd.to_datetime(totals.groupby("account_id")["usage_date"].max()).dt.date
    assert (last_day.reindex(churned).dropna() < AS_OF).all()


def test_tickets_and_nps_follow_hidden_health(clean):
    usage = clean["usage_daily"]
    totals = usage[usage["feature"].isna()].copy()
    totals["active"] = totals["active_users"].astype(int)
    seats = clean["accounts"].set_index("account_id")["seats_purchased"].astype(int)
    utilisation = totals.groupby("account_id")["active"].mean() / seats
    nps = clean["nps_responses"].merge(clean["contacts"][["contact_id", "account_id"]])
    nps["util"] = nps["account_id"].map(utilisation)
    assert nps["score"].astype(int).corr(nps["util"]) > 0.3


def test_preferences_suppressions_campaigns_cover_the_cases(clean):
    assert "never" in set(clean["preferences"]["frequency"])
    assert not clean["preferences"].duplicated(["contact_id", "category", "channel"]).any()
    reasons = set(clean["suppressions"]["reason"])
    assert {"unsubscribe", "bounce", "erasure"} <= reasons
    campaigns = clean["campaigns"]
    assert {"all", "mid_market or smb", "(smb or mid_market) and not at_risk", "role:admin"} <= set(
        campaigns["audience"])
    assert set(campaigns["approved"]) == {"true", "false"}
    webinar = campaigns[campaigns["template_id"] == "tpl-webinar-invite"]
    assert webinar["event_at"].notna().all()
    # SMS: one urgent (transactional) notice, one non-urgent ask the SMS rule refuses
    sms = campaigns[campaigns["channel"] == "sms"].set_index("team")["message_type"]
    assert sms.to_dict() == {"support": "transactional", "marketing": "educational"}
    assert len(clean["csms"]) == 10  # one per 40 accounts
    assert clean["csms"]["weekly_capacity"].astype(int).between(20, 40).all()
    events = clean["engagement_events"]
    assert {"delivered", "open", "click"} <= set(events["event"])


def test_dirty_rows_are_extra_rows_at_about_the_requested_rate():
    clean = generate_sample(accounts=150, seed=5, as_of=AS_OF, dirty_rate=0.0)
    dirty = generate_sample(accounts=150, seed=5, as_of=AS_OF, dirty_rate=0.03)
    for name in ENTITY_ORDER:
        extra = len(dirty[name]) - len(clean[name])
        assert extra == round(0.03 * len(clean[name])), name
        # The clean rows are all still there, in the same order.
        kept = dirty[name].merge(clean[name], how="inner")
        assert len(kept) >= len(clean[name]), name
    total_clean = sum(len(f) for f in clean.values())
    total_dirty = sum(len(f) for f in dirty.values())
    assert (total_dirty - total_clean) / total_clean == pytest.approx(0.03, abs=0.002)


def test_write_sample_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="accounts"):
        write_sample(tmp_path, accounts=0, seed=1, as_of=AS_OF)
    with pytest.raises(ValueError, match="dirty_rate"):
        write_sample(tmp_path, accounts=5, seed=1, as_of=AS_OF, dirty_rate=1.5)
