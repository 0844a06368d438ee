"""Experiments: stable assignment, arm policies, holdout, and the readout's statistics.

The A/A and planted-effect tests run the analysis over many seeds of generated
engagement (cadence.devtools.sample_engagement answers sent messages, with an open lift planted
on one arm) and check the error rates against what the test promises.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from cadence.devtools.sample_engagement import engagement_for_sent
from cadence.learning import experiments as exp
from cadence.learning.policy import Experiment
from cadence.policy import PolicyError, parse_policy

AS_OF = date(2026, 12, 1)


def experiment(**changes) -> Experiment:
    spec = {"id": "cadence_test", "population": "mid_market", "start": "2026-11-01",
            "end": "2027-01-31", "min_sample_per_arm": 100,
            "arms": {"a": {"share": 0.5}, "b": {"share": 0.5}}}
    spec.update(changes)
    return Experiment.model_validate(spec)


def test_assignment_is_stable_and_follows_the_shares():
    two = experiment(holdout_share=0.1, arms={"a": {"share": 0.45}, "b": {"share": 0.45}})
    accounts = [f"acc-{i:05d}" for i in range(4000)]
    arms = [exp.pick_arm(two, a) for a in accounts]
    assert arms == [exp.pick_arm(two, a) for a in accounts]  # same account, same arm
    shares = pd.Series(arms).value_counts(normalize=True)
    assert abs(shares["a"] - 0.45) < 0.03 and abs(shares["holdout"] - 0.1) < 0.02
    reshuffled = [exp.pick_arm(two.model_copy(update={"salt": "again"}), a) for a in accounts]
    assert np.mean(np.array(arms) != np.array(reshuffled)) > 0.3  # a new salt reshuffles


def test_accounts_enter_once_and_only_from_the_population():
    one = experiment()
    segments = pd.DataFrame({"account_id": ["m1", "m2", "s1"],
                             "segment_key": ["mid_market", "mid_market", "smb"]})
    earlier = pd.DataFrame({"experiment_id": ["cadence_test"], "account_id": ["m1"],
                            "arm": ["a"], "experiment_arm": ["cadence_test:a"],
                            "assigned_on": [date(2026, 11, 2)]})
    new = exp.assign_accounts([one], pd.Series(["m1", "m2", "s1"]), segments, earlier, AS_OF)
    assert list(new["account_id"]) == ["m2"]  # m1 keeps its arm, s1 is not in mid_market
    ended = experiment(end="2026-11-15")
    assert exp.assign_accounts([ended], pd.Series(["m2"]), segments, earlier[:0], AS_OF).empty


def test_holdout_keeps_only_transactional_and_lifecycle_touches():
    base = pd.DataFrame({
        "touch_id": ["t1", "t2", "t3", "t4"], "account_id": ["h", "h", "h", "x"],
        "message_type": ["transactional", "educational", "educational", "promotional"],
        "source": ["campaign", "lifecycle", "cadence", "campaign"]})
    assignments = pd.DataFrame({"account_id": ["h"], "experiment_arm": ["e:holdout"]})
    out = exp.split_candidates(base, {}, assignments)
    assert list(out["touch_id"]) == ["t1", "t2", "t4"]
    assert out.set_index("touch_id")["experiment_arm"].fillna("").to_dict() == {
        "t1": "e:holdout", "t2": "e:holdout", "t4": ""}


def test_an_arm_overrides_only_its_keys_and_a_bad_key_is_named(policy):
    data = {"experiments": [{
        "id": "cap", "population": "smb", "start": "2026-11-01", "end": "2027-01-31",
        "arms": {"two": {"share": 0.5},
                 "three": {"share": 0.5,
                           "overrides": {"planner": {"limits": {"email_per_7_days": 3}}}}}}]}
    parsed = parse_policy(data)
    arms = exp.arm_policies(parsed, AS_OF)
    assert arms["cap:three"].planner.limits.email_per_7_days == 3
    assert arms["cap:three"].planner.limits.email_per_30_days == 8  # untouched
    assert arms["cap:two"].planner.limits.email_per_7_days == 2
    assert exp.planner_arms(parsed, AS_OF) == ["cap:three"]
    assert exp.arm_of_shard(parsed, AS_OF, parsed.planner.shards + 1) == "cap:three"
    assert exp.arm_of_shard(parsed, AS_OF, 1) is None
    data["experiments"][0]["arms"]["three"]["overrides"]["planner"]["limits"] = {
        "emails_per_week": 3}
    with pytest.raises(PolicyError, match=r"experiments\.0\.arms\.three\.overrides: "
                                          r"planner\.limits\.emails_per_week"):
        parse_policy(data)
    data["experiments"][0]["arms"]["three"] = {"share": 0.6}
    with pytest.raises(PolicyError, match="add up to 1"):
        parse_policy(data)


# -- statistics --------------------------------------------------------------------------
N_PER_ARM = 300
SEEDS = 40


def generated_readout(seed: int, lift: float) -> pd.DataFrame:
    """One generated experiment: N_PER_ARM contacts per arm, one email each, answered by
    the sample generator with ``lift`` planted on arm b's opens."""
    n = 2 * N_PER_ARM
    contacts = [f"con-{seed}-{i}" for i in range(n)]
    sent = pd.DataFrame({
        "touch_id": [f"t-{seed}-{i}" for i in range(n)], "contact_id": contacts,
        "channel": "email", "template_id": "tips", "message_type": "educational",
        "batch_id": "b", "send_at": pd.Timestamp("2026-11-17 10:00", tz="UTC")})
    labels = ["cadence_test:a"] * N_PER_ARM + ["cadence_test:b"] * N_PER_ARM
    arms = dict(zip(sent["touch_id"], labels, strict=True))
    events = engagement_for_sent(sent, {}, seed, pd.Timestamp("2026-12-31", tz="UTC"),
                                 fading_share=0.0, open_lift={"cadence_test:b": lift},
                                 arms=arms)
    seen = events.groupby(["touch_id", "event"]).size().unstack(fill_value=0)
    flags = {e: sent["touch_id"].map(seen.get(e, {})).fillna(0).gt(0).astype(int)
             for e in ("delivered", "open", "click", "unsubscribe")}
    messages = pd.DataFrame({
        "experiment_arm": sent["touch_id"].map(arms), "sent_at": sent["send_at"],
        "delivered": flags["delivered"], "opened": flags["open"],
        "clicked": flags["click"], "unsubscribed": flags["unsubscribe"]})
    readout = exp.arm_readout(messages, experiment(), by_week=False)
    row = readout[(readout["arm"] == "b") & (readout["metric"] == "open_rate")].iloc[0]
    assert row["denominator"] > 0.95 * N_PER_ARM  # every delivered message was read out
    return row


def test_a_a_shows_no_difference_beyond_the_error_rate():
    significant = sum(bool(generated_readout(seed, 0.0)["significant"])
                      for seed in range(SEEDS))
    # alpha = 5%: 2 expected of 40; 7 or more has probability < 0.5% under the null.
    assert significant <= 6


def test_a_planted_open_lift_is_detected_at_the_expected_rate():
    rows = [generated_readout(seed, 0.3) for seed in range(SEEDS)]
    detected = np.mean([bool(r["significant"]) and r["difference"] > 0 for r in rows])
    # The power the test should have: base open rate of the generator's personas
    # (0.25..0.70, mean ~0.47, a few sends in the habit slot) against 30% more.
    control = np.mean([r["rate"] - r["difference"] for r in rows])
    lifted = min(control * 1.3, 0.95)
    expected = NormalIndPower().power(proportion_effectsize(lifted, control),
                                      nobs1=N_PER_ARM, alpha=0.05, ratio=1.0)
    assert expected > 0.9
    assert detected >= expected - 0.12
    assert all(r["ci_low"] <= r["rate"] <= r["ci_high"] for r in rows)


def test_a_readout_below_the_minimum_sample_says_so():
    messages = pd.DataFrame({"experiment_arm": ["cadence_test:a"] * 5 + ["cadence_test:b"] * 5,
                             "sent_at": pd.Timestamp("2026-11-17", tz="UTC"),
                             "delivered": 1, "opened": [1, 0, 1, 0, 1] * 2, "clicked": 0,
                             "unsubscribed": 0})
    readout = exp.arm_readout(messages, experiment())
    assert not readout["enough_sample"].any()
    assert readout["note"].str.contains("too few to conclude").all()
    assert set(readout["week_start"]) == {"all weeks", "2026-11-16"}
