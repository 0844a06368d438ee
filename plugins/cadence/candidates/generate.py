"""All touch candidates of one plan date: the domain function and its warehouse glue."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from cadence.candidates.account_overrides import prefer_channels
from cadence.candidates.assembly import PAYLOAD_EXTRAS, PlanContext, empty_candidates
from cadence.candidates.behaviour_triggers import behaviour_trigger_candidates
from cadence.candidates.campaign_touches import (
    AUDIENCE_REJECTS,
    campaign_candidates,
    split_campaign_audiences,
)
from cadence.candidates.champion_change import champion_change_candidates
from cadence.candidates.inputs import CandidateInputs, read_candidate_inputs
from cadence.candidates.minimum_cadence import minimum_cadence_candidates
from cadence.candidates.nps_survey import nps_survey_candidates
from cadence.candidates.onboarding_journey import onboarding_journey_candidates
from cadence.candidates.personalization import personalization_payloads
from cadence.candidates.policy import LighterCadence
from cadence.candidates.renewal_timeline import renewal_timeline_candidates
from cadence.candidates.seasons import apply_seasons
from cadence.candidates.tier_cadence import tier_cadence_candidates
from cadence.contract.tables import TOUCH_CANDIDATES
from cadence.contract.warehouse import Warehouse

if TYPE_CHECKING:
    from cadence.policy import Policy

SOURCES = (
    tier_cadence_candidates,
    onboarding_journey_candidates,
    renewal_timeline_candidates,
    behaviour_trigger_candidates,
    campaign_candidates,
    nps_survey_candidates,
    champion_change_candidates,
)


def generate_candidates(inputs: CandidateInputs, policy: Policy, as_of: date,
                        horizon_days: int = 28) -> pd.DataFrame:
    """Every touch each team wants to send in the ``horizon_days`` from ``as_of``, with the
    ``touch_candidates`` columns, sorted by touch_id. Touches already sent (history) are
    facts and are not proposed again; campaign rows whose audience does not parse are left
    out here and reported by :func:`cadence.candidates.campaign_touches
    .split_campaign_audiences`."""
    inputs = inputs.normalized()
    ctx = PlanContext(inputs, policy.candidates, as_of, horizon_days)
    frames = [frame for source in SOURCES if len(frame := source(ctx))]
    planned = pd.concat(frames, ignore_index=True) if frames else empty_candidates()
    del frames  # millions of rows at 100,000 accounts: not held twice while the rest runs
    extra = minimum_cadence_candidates(ctx, planned)
    if len(extra):
        planned = pd.concat([planned, extra], ignore_index=True)
    planned = apply_seasons(planned, inputs.accounts, policy.candidates)
    planned = prefer_channels(planned, policy.candidates.account_overrides)
    sent = inputs.history.loc[inputs.history["status"] == "sent", "touch_id"]
    planned = planned[~planned["touch_id"].isin(sent) & ~lighter_cadence_skips(
        planned, inputs.fading_contacts, policy.candidates.lighter_cadence)]
    planned = planned.sort_values("touch_id", kind="stable").reset_index(drop=True)
    planned["payload"] = personalization_payloads(planned, inputs, policy.candidates)
    return planned.drop(columns=list(PAYLOAD_EXTRAS))[list(TOUCH_CANDIDATES)]


def lighter_cadence_skips(candidates: pd.DataFrame, fading_contacts: pd.DataFrame,
                          rules: LighterCadence) -> pd.Series:
    """Mask of the candidates a fading contact (flagged by the engagement run) does not
    get: the policy's message types on the policy's channels."""
    return (candidates["contact_id"].isin(fading_contacts["contact_id"])
            & candidates["message_type"].isin(rules.skip_message_types)
            & candidates["channel"].isin(rules.skip_channels))


def generate_touch_candidates(warehouse: Warehouse, policy: Policy, as_of: date,
                              horizon_days: int = 28, run_id: str | None = None) -> dict:
    """Nightly task: read the inputs, write ``touch_candidates`` (partition plan_date) and
    campaign rows with unparseable audiences to ``quarantine`` (partition as_of_date and
    entity ``campaigns_audience``). Returns counts for the task log."""
    summary, candidates, _ = candidates_of_plan_date(warehouse, policy, as_of, horizon_days,
                                                     run_id)
    warehouse.write_frame("touch_candidates", candidates, replace_where={"plan_date": as_of})
    return summary


def candidates_of_plan_date(warehouse: Warehouse, policy: Policy, as_of: date,
                            horizon_days: int = 28, run_id: str | None = None
                            ) -> tuple[dict, pd.DataFrame, CandidateInputs]:
    """:func:`generate_touch_candidates` up to writing the candidates: the counts, the
    candidates and the inputs they came from (callers that relabel the candidates write
    them once, and generate again from the same inputs)."""
    inputs = read_candidate_inputs(warehouse, as_of)
    candidates = generate_candidates(inputs, policy, as_of, horizon_days)
    _, rejects = split_campaign_audiences(inputs.campaigns)
    # Outside Airflow (CLI, tests) the plan date names the run.
    rejects = rejects.assign(run_id=run_id or f"plan__{as_of.isoformat()}", as_of_date=as_of)
    # An empty frame cannot type a new table; with no table there is nothing to replace.
    if len(rejects) or warehouse.table_exists("quarantine"):
        warehouse.write_frame("quarantine", rejects,
                              replace_where={"as_of_date": as_of, "entity": AUDIENCE_REJECTS})
    return {
        "plan_date": as_of.isoformat(),
        "candidates": len(candidates),
        "by_source": {k: int(v) for k, v in candidates["source"].value_counts().items()},
        "audience_rejects": len(rejects),
        "fading_contacts": len(inputs.fading_contacts),
    }, candidates, inputs
