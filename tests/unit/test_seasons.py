"""Seasons: per-industry and fiscal-year-end periods lighten or move touches, and say so."""

from __future__ import annotations

from datetime import date

import pytest

from cadence.candidates.generate import generate_candidates
from cadence.policy import PolicyError, parse_policy
from tests.unit.test_candidates import account, make_inputs, rule

AS_OF = date(2026, 11, 23)


def seasons(**section):
    return parse_policy({"candidates": {"seasons": section}})


def test_retail_peak_moves_reviews_past_its_end_and_skips_nurture_naming_the_season():
    policy = seasons(periods={
        "peak_reviews": {"industries": ["Retail"], "start": "11-15", "end": "12-31",
                         "rules": ["tier_cadences.mid_market_business_review"],
                         "action": "move"},
        "peak_light": {"industries": ["retail"], "start": "11-15", "end": "12-31",
                       "rules": ["tier_cadences.mid_market_nurture"], "action": "skip"}})
    # Contract start 2024-10-14: business review (offset 45, every 6 months) on 28 Nov,
    # nurture (offset 14, monthly) on 27 Nov.
    shop = account("a1", "mid_market", industry="retail", contract_start="2024-10-14")
    bank = account("a2", "mid_market", industry="financial services",
                   contract_start="2024-10-14")
    candidates = generate_candidates(make_inputs([shop, bank]), policy, AS_OF)
    review = rule(candidates, "tier_cadences.mid_market_business_review").set_index(
        "account_id")
    assert review.loc["a1", "earliest_at"].date() == date(2027, 1, 1)
    assert review.loc["a1", "note"] == (
        "moved past season peak_reviews (11-15 to 12-31; policy "
        "candidates.seasons.periods.peak_reviews): wanted from 2026-11-23")
    window = review["latest_at"] - review["earliest_at"]
    assert window["a1"] == window["a2"]  # the window keeps its length
    assert review.loc["a2", "earliest_at"].date() < date(2026, 12, 1)
    assert review["hold"].isna().all() and review["note"].isna()["a2"]
    nurture = rule(candidates, "tier_cadences.mid_market_nurture")
    held = nurture.loc[nurture["account_id"] == "a1", "hold"]
    assert len(held) == 3 and held.str.startswith("season peak_light (11-15 to 12-31; ").all()
    assert held.str.endswith("lighter cadence, this touch is skipped").all()
    assert nurture.loc[nurture["account_id"] == "a2", "hold"].isna().all()


def test_fiscal_year_close_moves_reviews_around_the_accounts_year_end():
    policy = seasons(
        periods={"close": {"fiscal_year_end": True, "days_before": 14, "days_after": 7,
                           "rules": ["tier_cadences.mid_market_business_review"],
                           "action": "move"}},
        fiscal_year_ends={"a1": "11-30"})
    candidates = generate_candidates(make_inputs([
        account("a1", "mid_market", contract_start="2024-10-14"),
        account("a2", "mid_market", contract_start="2024-10-14")]), policy, AS_OF)
    review = rule(candidates, "tier_cadences.mid_market_business_review").set_index(
        "account_id")
    # 30 Nov year end + 7 days: the review may go from 8 December.
    assert review.loc["a1", "earliest_at"].date() == date(2026, 12, 8)
    assert "account's fiscal year end" in review.loc["a1", "note"]
    assert review["note"].isna()["a2"]  # no fiscal year end known


@pytest.mark.parametrize(("section", "key"), [
    ({"periods": {"x": {"start": "11-31", "end": "12-31", "rules": ["*"], "action": "skip"}}},
     r"candidates\.seasons\.periods\.x\.start: .*expected MM-DD, got '11-31'"),
    ({"periods": {"x": {"start": "11-01", "rules": ["*"], "action": "skip"}}},
     r"candidates\.seasons\.periods\.x: .*give both start and end"),
    ({"periods": {"x": {"start": "11-01", "end": "11-02", "rules": ["*"],
                        "action": "thin"}}},
     r"candidates\.seasons\.periods\.x\.action"),
    ({"periods": {"x": {"start": "11-01", "end": "11-02", "rules": ["tier_cadences.*"],
                        "action": "lighten"}}},
     r"candidates\.seasons\.periods\.x: .*keep_one_in \(2 or more\) goes with action lighten"),
    ({"periods": {"x": {"start": "11-01", "end": "11-02", "rules": ["nps_survey"],
                        "action": "lighten", "keep_one_in": 2}}},
     r"candidates\.seasons\.periods\.x: .*rules must be tier_cadences\.\* patterns"),
    ({"fiscal_year_ends": {"acc-1": "13-01"}},
     r"candidates\.seasons\.fiscal_year_ends\.acc-1: expected MM-DD"),
])
def test_bad_seasons_are_rejected_naming_the_key(section, key):
    with pytest.raises(PolicyError, match=key):
        seasons(**section)


def test_a_fiscal_season_without_any_known_year_end_changes_nothing():
    policy = seasons(periods={"close": {"fiscal_year_end": True, "rules": ["*"],
                                        "action": "skip"}})
    candidates = generate_candidates(make_inputs([account("a1", "mid_market")]), policy,
                                     AS_OF)
    assert len(candidates) and candidates["hold"].isna().all()


def test_lighten_thins_a_cadence_in_the_season_the_same_way_every_night():
    # Biweekly check-in calls of an enterprise account: in the retail peak one in two goes
    # (monthly), the other is held naming the season; a bank's calls are untouched.
    policy = seasons(periods={"peak_calls": {
        "industries": ["retail"], "start": "11-15", "end": "12-31",
        "rules": ["tier_cadences.strategic_check_in_call"], "action": "lighten",
        "keep_one_in": 2}})
    accounts = [account("a1", "enterprise", industry="retail"),
                account("a2", "enterprise", industry="banking")]

    def calls(as_of):
        candidates = generate_candidates(make_inputs(accounts), policy, as_of)
        return rule(candidates, "tier_cadences.strategic_check_in_call").set_index(
            "touch_id")

    tonight = calls(AS_OF)
    shop = tonight[tonight["account_id"] == "a1"]
    assert len(shop) >= 2
    held = shop["hold"].notna()
    assert 0 < held.sum() < len(shop)
    assert list(held) == [held.iloc[0] == (k % 2 == 0) for k in range(len(shop))]  # alternate
    assert shop.loc[held, "hold"].eq(
        "season peak_calls (11-15 to 12-31; policy candidates.seasons.periods.peak_calls): "
        "lighter cadence, one in 2 of these touches goes, this one is skipped").all()
    assert tonight.loc[tonight["account_id"] == "a2", "hold"].isna().all()
    # The next night holds the same touches (the thinning follows the cadence's anchor).
    tomorrow = calls(date(2026, 11, 24))
    both = shop.index.intersection(tomorrow.index)
    assert len(both) and (tomorrow.loc[both, "hold"].notna() == held[both]).all()
