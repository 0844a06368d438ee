"""The onboarding journey (DESIGN §7): welcome, setup reminder, training webinar invite and
check-in on fixed days after contract_start."""

from __future__ import annotations

import pandas as pd

from cadence.candidates.assembly import DAY, PlanContext, empty_candidates, spec_touches


def onboarding_journey_candidates(ctx: PlanContext) -> pd.DataFrame:
    """Candidates of every ``onboarding_journey`` step whose day meets the horizon."""
    frames = []
    accounts = ctx.active_accounts
    for key, step in ctx.policy.onboarding_journey.steps.items():
        intended = accounts["contract_start"] + step.day * DAY
        keep = ctx.in_horizon(intended, step)
        occurrences = pd.DataFrame({"account_id": accounts["account_id"][keep],
                                    "intended": intended[keep], "step": 0})
        if len(occurrences):
            frames.append(spec_touches(occurrences, step, f"onboarding_journey.{key}",
                                       "lifecycle", ctx))
    return pd.concat(frames, ignore_index=True) if frames else empty_candidates()
