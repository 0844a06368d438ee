"""The onboarding journey (DESIGN §7): welcome, setup reminder, training webinar invite and
check-in on fixed days after contract_start, advanced by milestones read from usage.

Policy ``candidates.onboarding_journey.milestones`` names each milestone (first login,
setup done, first value, ...) and the usage that marks it; it is reached on the first
usage day that shows it. A step with ``until_milestone`` is not sent once its milestone is
reached; the first milestone not reached by its due day (the step that stalled) gets its
nudge, on the due day or the day after the milestone before it was reached, whichever is
later, so consecutive nights propose the same touch."""

from __future__ import annotations

import pandas as pd

from cadence.candidates.assembly import DAY, PlanContext, empty_candidates, spec_touches
from cadence.candidates.policy import Milestone


def onboarding_journey_candidates(ctx: PlanContext) -> pd.DataFrame:
    """Candidates of every ``onboarding_journey`` step whose day meets the horizon (and
    whose milestone is not reached yet), and the nudges of stalled milestones."""
    journey = ctx.policy.onboarding_journey
    reached = milestones_reached(ctx.inputs.onboarding_usage, journey.milestones)
    reached = reached[reached["reached_on"] <= ctx.start]
    frames = []
    accounts = ctx.active_accounts
    for key, step in journey.steps.items():
        intended = accounts["contract_start"] + step.day * DAY
        keep = ctx.in_horizon(intended, step)
        if step.until_milestone is not None:
            done = reached.loc[reached["milestone"] == step.until_milestone, "account_id"]
            keep &= ~accounts["account_id"].isin(done)
        occurrences = pd.DataFrame({"account_id": accounts["account_id"][keep],
                                    "intended": intended[keep], "step": 0})
        if len(occurrences):
            frames.append(spec_touches(occurrences, step, f"onboarding_journey.{key}",
                                       "lifecycle", ctx))
    frames += milestone_nudges(ctx, reached)
    return pd.concat(frames, ignore_index=True) if frames else empty_candidates()


def milestones_reached(usage: pd.DataFrame, milestones: dict[str, Milestone]) -> pd.DataFrame:
    """account_id, milestone, reached_on (the first usage day that marks it)."""
    frames = []
    for name, milestone in milestones.items():
        rows = usage[usage["feature"].isna()] if milestone.feature is None \
            else usage[usage["feature"] == milestone.feature]
        rows = rows[rows[milestone.metric] >= milestone.at_least]
        first = rows.groupby("account_id", as_index=False)["usage_date"].min()
        frames.append(first.rename(columns={"usage_date": "reached_on"}).assign(
            milestone=name))
    if not frames:
        return pd.DataFrame({"account_id": pd.Series(dtype=object),
                             "milestone": pd.Series(dtype=object),
                             "reached_on": pd.Series(dtype="datetime64[ns]")})
    return pd.concat(frames, ignore_index=True)[["account_id", "milestone", "reached_on"]]


def milestone_nudges(ctx: PlanContext, reached: pd.DataFrame) -> list[pd.DataFrame]:
    """The nudge of each account's first milestone not reached (by the plan date), due on
    its due day or the day after the milestone before it, inside the onboarding days."""
    journey = ctx.policy.onboarding_journey
    accounts = ctx.active_accounts[["account_id", "contract_start"]]
    stalled = pd.Series(False, index=accounts.index)  # an earlier milestone is not reached
    previous = pd.Series(pd.NaT, index=accounts.index, dtype="datetime64[ns]")
    frames = []
    for name, milestone in journey.milestones.items():
        mine = reached.loc[reached["milestone"] == name, ["account_id", "reached_on"]]
        on = accounts[["account_id"]].merge(mine, on="account_id", how="left")["reached_on"]
        on = pd.Series(pd.to_datetime(on).to_numpy(), index=accounts.index)
        first_missing = on.isna() & ~stalled
        intended = (accounts["contract_start"] + milestone.due_day * DAY).where(
            previous.isna() | (previous + DAY <= accounts["contract_start"]
                               + milestone.due_day * DAY), previous + DAY)
        if milestone.nudge is not None:
            keep = (first_missing & ctx.in_horizon(intended, milestone.nudge)
                    & (intended <= accounts["contract_start"] + journey.nudge_until_day * DAY))
            occurrences = pd.DataFrame({"account_id": accounts["account_id"][keep],
                                        "intended": intended[keep], "step": 0})
            if len(occurrences):
                frames.append(spec_touches(occurrences, milestone.nudge,
                                           f"onboarding_journey.milestones.{name}",
                                           "lifecycle", ctx))
        stalled |= on.isna()
        previous = on
    return frames
