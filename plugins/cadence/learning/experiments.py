"""Cadence experiments: assignment, arm policies and the per-arm readout.

Assignment is per account (caps are per contact and account, so an account's touches are
planned under one policy): a stable hash of salt and account id picks the arm, so the same
account always lands in the same arm. An account enters an experiment on the first plan
day it is in the population while the experiment runs and stays in its arm after (the
readout compares the arms as assigned). An account is in at most one experiment: the
first running one, in policy order, whose population holds it.

Arms override part of the policy: candidates are generated per arm under the arm's policy,
and the accounts of an arm with planner overrides are planned in shards of their own under
that policy (like shards, partitioned by arm). The holdout gets only transactional and
lifecycle touches (onboarding journey and renewal timeline). Every candidate and calendar
row carries ``experiment_arm`` (``<experiment>:<arm>``, empty outside experiments).
"""

from __future__ import annotations

import hashlib
from datetime import date

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from cadence.contract.audience import audience_mask
from cadence.learning.policy import Experiment

HOLDOUT = "holdout"
LIFECYCLE_SOURCES = ("lifecycle", "renewal")  # touches the holdout still gets
ASSIGNMENT_COLUMNS = ["experiment_id", "account_id", "arm", "experiment_arm", "assigned_on"]


def arm_label(experiment_id: str, arm: str) -> str:
    """The ``experiment_arm`` value a touch carries."""
    return f"{experiment_id}:{arm}"


def pick_arm(experiment: Experiment, account_id: str) -> str:
    """The arm of an account: a stable hash of salt and account id placed on the arms'
    cumulative shares (holdout last)."""
    salt = experiment.salt or experiment.id
    digest = hashlib.sha256(f"{salt}|{account_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64
    edge = 0.0
    for name, arm in experiment.arms.items():
        edge += arm.share
        if point < edge:
            return name
    return HOLDOUT if experiment.holdout_share > 0 else list(experiment.arms)[-1]


def assign_accounts(experiments: list[Experiment], accounts: pd.Series,
                    segments: pd.DataFrame, earlier: pd.DataFrame, as_of: date
                    ) -> pd.DataFrame:
    """New assignments of ``as_of`` (columns :data:`ASSIGNMENT_COLUMNS`): accounts in a
    running experiment's population not assigned before (``earlier``)."""
    taken = set(earlier["account_id"])
    frame = pd.DataFrame({"account_id": pd.Series(accounts, dtype=object).drop_duplicates()})
    frame["role"] = None  # populations select accounts: role atoms match none
    rows = []
    for experiment in experiments:
        if not experiment.running(as_of):
            continue
        member = audience_mask(experiment.population, frame, segments)
        for account_id in frame.loc[member, "account_id"]:
            if account_id in taken:
                continue
            taken.add(account_id)
            arm = pick_arm(experiment, account_id)
            rows.append((experiment.id, account_id, arm, arm_label(experiment.id, arm), as_of))
    return pd.DataFrame(rows, columns=ASSIGNMENT_COLUMNS)


def arm_policies(policy, as_of: date) -> dict[str, object]:
    """``experiment_arm`` -> the arm's policy, for every arm of a running experiment (the
    holdout keeps the base policy; its touches are filtered instead)."""
    out = {}
    for experiment in policy.experiments:
        if experiment.running(as_of):
            for name, arm in experiment.arms.items():
                out[arm_label(experiment.id, name)] = policy.with_overrides(
                    arm.overrides, source=f"experiments.{experiment.id}.arms.{name}")
    return out


def planner_arms(policy, as_of: date) -> list[str]:
    """The arms whose accounts are planned in shards of their own (arms overriding the
    planner section), in a fixed order: arm k's shards are k * n_shards + base shard."""
    return [arm_label(e.id, name) for e in policy.experiments if e.running(as_of)
            for name, arm in e.arms.items() if "planner" in arm.overrides]


def arm_of_shard(policy, as_of: date, shard: int) -> str | None:
    """The arm a shard plans (None: the base policy's shards)."""
    index = shard // policy.planner.shards
    arms = planner_arms(policy, as_of)
    return arms[index - 1] if 0 < index <= len(arms) else None


def split_candidates(base: pd.DataFrame, by_arm: dict[str, pd.DataFrame],
                     assignments: pd.DataFrame) -> pd.DataFrame:
    """One candidate set: each account's candidates from its arm's generation (the base
    generation outside experiments), the holdout's cut to transactional and lifecycle
    touches, every row labelled with its ``experiment_arm``."""
    arm_of = dict(zip(assignments["account_id"], assignments["experiment_arm"], strict=True))
    labels = base["account_id"].map(arm_of)
    outside = (labels.isna() | ~labels.isin(list(by_arm))).to_numpy()
    # Which rows of which generation, in that order: the rows are then taken a column at a
    # time (millions of rows at 100,000 accounts: no whole-frame copies along the way).
    parts = [(base, np.flatnonzero(outside), labels[outside].to_numpy(dtype=object))]
    for label, frame in by_arm.items():
        rows = np.flatnonzero((frame["account_id"].map(arm_of) == label).to_numpy())
        parts.append((frame, rows, np.full(len(rows), label, dtype=object)))

    def column(name: str) -> pd.Series:
        return pd.concat([frame[name].iloc[rows] for frame, rows, _ in parts],
                         ignore_index=True)

    arm = pd.Series(np.concatenate([label for _, _, label in parts]), dtype=object)
    holdout = arm.fillna("").str.endswith(f":{HOLDOUT}")
    kept = (column("message_type") == "transactional") | column("source").isin(
        LIFECYCLE_SOURCES)
    keep = np.flatnonzero((~holdout | kept).to_numpy())
    order = keep[np.argsort(column("touch_id").to_numpy(dtype=object)[keep], kind="stable")]
    out = pd.DataFrame({name: column(name).take(order).reset_index(drop=True)
                        for name in base.columns})
    out["experiment_arm"] = arm.take(order).reset_index(drop=True)
    return out


# -- analysis ----------------------------------------------------------------------------
READOUT_COLUMNS = ["experiment_id", "arm", "week_start", "metric", "numerator", "denominator",
                   "rate", "ci_low", "ci_high", "difference", "p_value", "significant",
                   "enough_sample", "note"]
METRICS = (("delivered_rate", "delivered", "sent"), ("open_rate", "opened", "delivered"),
           ("click_rate", "clicked", "delivered"),
           ("unsubscribe_rate", "unsubscribed", "delivered"))


def two_proportion_test(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value of a difference between two proportions (pooled z-test); 1.0
    when either side is empty or both rates are 0 or 1."""
    if n1 == 0 or n2 == 0:
        return 1.0
    pooled = (x1 + x2) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = (x1 / n1 - x2 / n2) / se
    return float(2 * stats.norm.sf(abs(z)))


def arm_readout(messages: pd.DataFrame, experiment: Experiment, alpha: float = 0.05,
                by_week: bool = True) -> pd.DataFrame:
    """Per arm (and week, plus ``all weeks``): delivered, open, click and unsubscribe
    rates with Wilson confidence intervals; the difference to the first arm (the control)
    with a two-proportion test. ``messages`` has experiment_arm, sent_at, delivered,
    opened, clicked, unsubscribed (0/1 per message). A rate on fewer than the experiment's
    ``min_sample_per_arm`` messages is flagged (``enough_sample`` false, with a note)."""
    prefix = f"{experiment.id}:"
    mine = messages[messages["experiment_arm"].fillna("").str.startswith(prefix)].copy()
    mine["arm"] = mine["experiment_arm"].str.slice(len(prefix))
    sent_day = pd.to_datetime(mine["sent_at"], utc=True).dt.tz_localize(None).dt.normalize()
    mine["week_start"] = (sent_day - pd.to_timedelta(sent_day.dt.weekday, unit="D")).dt.date
    mine["sent"] = 1
    arms = [*experiment.arms, *([HOLDOUT] if experiment.holdout_share else [])]
    control = arms[0]
    periods = [("all weeks", mine)]
    if by_week:
        periods += [(str(week), frame) for week, frame in mine.groupby("week_start", sort=True)]
    rows = []
    for period, frame in periods:
        totals = frame.groupby("arm")[["sent", "delivered", "opened", "clicked",
                                       "unsubscribed"]].sum()
        totals = totals.reindex(arms, fill_value=0)
        for metric, hit, base in METRICS:
            cx, cn = int(totals.loc[control, hit]), int(totals.loc[control, base])
            for arm in arms:
                x, n = int(totals.loc[arm, hit]), int(totals.loc[arm, base])
                low, high = proportion_confint(x, n, alpha=alpha, method="wilson") if n else (
                    np.nan, np.nan)
                rate = x / n if n else np.nan
                is_control = arm == control
                p = np.nan if is_control else two_proportion_test(x, n, cx, cn)
                enough = n >= experiment.min_sample_per_arm
                rows.append({
                    "experiment_id": experiment.id, "arm": arm, "week_start": period,
                    "metric": metric, "numerator": x, "denominator": n, "rate": rate,
                    "ci_low": low, "ci_high": high,
                    "difference": np.nan if is_control or not cn or not n else rate - cx / cn,
                    "p_value": p, "significant": bool(not is_control and p < alpha),
                    "enough_sample": enough,
                    "note": "" if enough else (f"fewer than {experiment.min_sample_per_arm} "
                                               "messages: too few to conclude")})
    return pd.DataFrame(rows, columns=READOUT_COLUMNS)


def account_outcomes(assignments: pd.DataFrame, health: pd.DataFrame,
                     accounts: pd.DataFrame, experiment: Experiment) -> pd.DataFrame:
    """Per arm: accounts, mean health change since assignment (with a t-interval) and the
    renewal outcome of those whose renewal came up (renewed or committed of decided)."""
    mine = assignments[assignments["experiment_id"] == experiment.id]
    rows = []
    for arm, group in mine.groupby("arm", sort=True):
        merged = group.merge(health, on="account_id", how="left")
        merged = merged.sort_values("as_of_date")
        first = merged[merged["as_of_date"] >= merged["assigned_on"]].groupby(
            "account_id")["score"].first()
        last = merged.groupby("account_id")["score"].last()
        delta = (last - first).dropna()
        mean = float(delta.mean()) if len(delta) else np.nan
        if len(delta) > 1 and delta.std() > 0:
            low, high = stats.t.interval(0.95, len(delta) - 1, loc=mean,
                                         scale=delta.std(ddof=1) / np.sqrt(len(delta)))
        else:
            low = high = np.nan
        status = accounts[accounts["account_id"].isin(group["account_id"])]["renewal_status"]
        decided = status.isin(["renewed", "committed", "lost"])
        rows.append({"experiment_id": experiment.id, "arm": arm, "accounts": len(group),
                     "health_delta": mean, "health_delta_ci_low": low,
                     "health_delta_ci_high": high, "renewals_decided": int(decided.sum()),
                     "renewed_or_committed": int(status.isin(["renewed", "committed"]).sum())})
    return pd.DataFrame(rows, columns=["experiment_id", "arm", "accounts", "health_delta",
                                       "health_delta_ci_low", "health_delta_ci_high",
                                       "renewals_decided", "renewed_or_committed"])
