"""Account-level cadence overrides: a customer's own frequency, blackout months and
preferred channel, validated, and named in what the touches carry."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from cadence.candidates.generate import generate_candidates
from cadence.policy import PolicyError, parse_policy
from tests.unit.test_candidates import account, make_inputs, rule

AS_OF = date(2026, 7, 20)


def overrides(**accounts):
    return parse_policy({"candidates": {"account_overrides": accounts}})


def test_an_account_gets_its_own_qbr_frequency_and_the_note_names_the_override(policy):
    custom = overrides(a1={"frequency": {"strategic_qbr": {"every_months": 1}}})
    inputs = make_inputs([account("a1", "strategic"), account("a2", "strategic")])
    # Contract start 2024-06-10 + 21 days: quarterly on the 1st of Jan/Apr/Jul/Oct;
    # a1 asked for monthly QBRs, so it also has one on 1 August.
    qbr = rule(generate_candidates(inputs, custom, AS_OF), "tier_cadences.strategic_qbr")
    days = qbr.groupby("account_id")["latest_at"].apply(lambda s: sorted(
        d.date() for d in s))
    assert date(2026, 8, 22) in days["a1"] and date(2026, 8, 22) not in days["a2"]
    assert (qbr.loc[qbr["account_id"] == "a1", "note"] == (
        "every 1 months: account override candidates.account_overrides.a1"
        ".frequency.strategic_qbr")).all()
    assert qbr.loc[qbr["account_id"] == "a2", "note"].isna().all()
    shipped = rule(generate_candidates(inputs, policy, AS_OF), "tier_cadences.strategic_qbr")
    assert len(shipped) < len(qbr)


def test_no_calls_in_august_moves_them_past_the_month_naming_the_override():
    custom = overrides(a1={"blackout_months": [8], "blackout_channels": ["call"]})
    inputs = make_inputs([account("a1", "strategic"), account("a2", "strategic")])
    candidates = generate_candidates(inputs, custom, AS_OF)
    calls = rule(candidates, "tier_cadences.strategic_check_in_call")
    mine = calls[calls["account_id"] == "a1"]
    in_august = mine["note"].notna()
    assert in_august.any() and (mine.loc[in_august, "earliest_at"].dt.date
                                == date(2026, 9, 1)).all()
    assert mine.loc[in_august, "note"].str.startswith(
        "moved past blackout months (08-01 to 08-31; account override "
        "candidates.account_overrides.a1.blackout_months): wanted from 2026-08-").all()
    assert calls.loc[calls["account_id"] == "a2", "note"].isna().all()
    # Emails of a1 in August are not calls: they stay.
    emails = candidates[(candidates["account_id"] == "a1") & (candidates["channel"] == "email")]
    assert emails["note"].isna().all()


def test_preferred_channel_moves_digital_touches_but_not_calls():
    custom = overrides(a1={"preferred_channel": "in_app"})
    candidates = generate_candidates(make_inputs([account("a1", "strategic")]), custom, AS_OF)
    assert set(candidates["channel"]) == {"in_app", "call", "meeting"}
    moved = candidates[candidates["note"].notna()]
    assert len(moved) and moved["note"].str.startswith("email -> in_app: account override "
                                                      "candidates.account_overrides.a1").all()


@pytest.mark.parametrize(("override", "key"), [
    ({"frequency": {"weekly_party": {"every_days": 7}}},
     r"candidates\.account_overrides\.a1\.frequency\.weekly_party: not a tier_cadences rule"),
    ({"frequency": {"strategic_qbr": {"every_days": 7, "every_months": 1}}},
     r"candidates\.account_overrides\.a1\.frequency\.strategic_qbr: .*exactly one"),
    ({"blackout_months": [8, 13]},
     r"candidates\.account_overrides\.a1\.blackout_months: .*months are 1\.\.12, got \[13\]"),
    ({"preferred_channel": "sms"}, r"candidates\.account_overrides\.a1\.preferred_channel"),
])
def test_bad_overrides_are_rejected_naming_the_key(override, key):
    with pytest.raises(PolicyError, match=key):
        overrides(a1=override)


def test_december_and_january_blackout_is_one_period_over_the_new_year():
    from cadence.candidates.policy import AccountOverride

    seasons = AccountOverride(blackout_months=[1, 12, 6]).blackout_seasons()
    assert [(s.start, s.end) for s in seasons] == [("12-01", "01-31"), ("06-01", "06-30")]
    assert pd.Series([s.action for s in seasons]).eq("move").all()
