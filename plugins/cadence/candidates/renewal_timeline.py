"""The renewal timeline (DESIGN §7): value summary, renewal discussion, proposal, urgent
message and escalation at fixed days before renewal_date, stopping once the renewal is
committed or renewed."""

from __future__ import annotations

import pandas as pd

from cadence.candidates.assembly import (
    DAY,
    PlanContext,
    address,
    assemble_spec,
    empty_candidates,
)


def renewal_timeline_candidates(ctx: PlanContext) -> pd.DataFrame:
    """Candidates of every ``renewal_timeline`` step for accounts still to renew; the
    escalation's task goes to the CSM's manager (cadence.outputs.csm_tasks)."""
    timeline = ctx.policy.renewal_timeline
    accounts = ctx.active_accounts
    accounts = accounts[~accounts["renewal_status"].isin(timeline.stop_statuses)]
    frames = []
    for key, step in timeline.steps.items():
        intended = accounts["renewal_date"] - step.days_before * DAY
        keep = ctx.in_horizon(intended, step)
        occurrences = pd.DataFrame({"account_id": accounts["account_id"][keep],
                                    "intended": intended[keep], "step": 0})
        if occurrences.empty:
            continue
        rows = address(occurrences, step, ctx)
        frames.append(assemble_spec(rows, step, f"renewal_timeline.{key}", "renewal", ctx))
    return pd.concat(frames, ignore_index=True) if frames else empty_candidates()
