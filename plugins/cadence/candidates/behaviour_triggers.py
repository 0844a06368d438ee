"""Behaviour triggers (DESIGN §7): at_risk, inactive, expansion_ready, promoter and the
onboarding milestone start touches, each episode anchored on the day its signal began
(the segment's valid_from, or the NPS response) so every night proposes the same ids."""

from __future__ import annotations

import pandas as pd

from cadence.candidates.assembly import (
    DAY,
    PlanContext,
    address,
    assemble_spec,
    empty_candidates,
)
from cadence.candidates.policy import TriggerRule


def behaviour_trigger_candidates(ctx: PlanContext) -> pd.DataFrame:
    """Candidates of every ``behaviour_triggers`` rule."""
    frames = []
    for key, rule in ctx.policy.behaviour_triggers.items():
        rule_id = f"behaviour_triggers.{key}"
        episodes = trigger_episodes(rule, ctx)
        occurrences = pd.concat(
            [episodes.assign(intended=episodes["anchor"] + days * DAY, step=step)
             for step, days in enumerate(rule.steps_days)], ignore_index=True)
        occurrences = occurrences[ctx.in_horizon(occurrences["intended"], rule)]
        if occurrences.empty:
            continue
        rows = address(occurrences, rule, ctx)
        rows = rows[~in_cooldown(rows, rule, rule_id, ctx)]
        if len(rows):
            frames.append(assemble_spec(rows, rule, rule_id, "trigger", ctx))
    return pd.concat(frames, ignore_index=True) if frames else empty_candidates()


def trigger_episodes(rule: TriggerRule, ctx: PlanContext) -> pd.DataFrame:
    """account_id, anchor (and contact_id for NPS respondents) of the rule's episodes among
    active accounts of its tiers that meet its health and ticket conditions."""
    accounts = ctx.active_accounts
    if rule.tiers is not None:
        accounts = accounts[accounts["tier"].isin(rule.tiers)]
    if rule.require_bands is not None:
        banded = ctx.inputs.health.loc[ctx.inputs.health["band"].isin(rule.require_bands),
                                       "account_id"]
        accounts = accounts[accounts["account_id"].isin(banded)]
    if rule.require_no_open_ticket:
        accounts = accounts[~accounts["account_id"].isin(ctx.inputs.open_tickets["account_id"])]
    if rule.recipients == "nps_respondent":
        day_end = (ctx.start + DAY).tz_localize("UTC")
        since = day_end - pd.Timedelta(hours=rule.nps_within_hours)
        nps = ctx.inputs.latest_nps
        nps = nps[(nps["score"] >= rule.nps_min_score) & (nps["responded_at"] >= since)]
        episodes = nps.merge(ctx.inputs.contacts[["contact_id", "account_id"]], on="contact_id")
        episodes["anchor"] = episodes["responded_at"].dt.tz_localize(None).dt.normalize()
        return episodes.loc[episodes["account_id"].isin(accounts["account_id"]),
                            ["account_id", "contact_id", "anchor"]]
    segments = ctx.inputs.segments
    started = segments.loc[segments["segment_key"] == rule.signal, ["account_id", "valid_from"]]
    episodes = started.rename(columns={"valid_from": "anchor"})
    return episodes[episodes["account_id"].isin(accounts["account_id"])]


def in_cooldown(rows: pd.DataFrame, rule: TriggerRule, rule_id: str,
                ctx: PlanContext) -> pd.Series:
    """Whether the rule already touched the contact (or account) within ``cooldown_days``
    before the episode began, by a planned or sent touch of the history."""
    if not rule.cooldown_days or rows.empty:
        return pd.Series(False, index=rows.index)
    history = ctx.inputs.history
    history = history[(history["rule_id"] == rule_id)
                      & history["status"].isin(ctx.policy.counted_statuses)]
    scope = "account_id" if rule.cooldown_scope == "account" else "contact_id"
    touched = rows[[scope, "anchor"]].reset_index().merge(
        history[[scope, "scheduled_at"]], on=scope)
    at = touched["scheduled_at"].dt.tz_localize(None)
    recent = (at < touched["anchor"]) & (at >= touched["anchor"] - rule.cooldown_days * DAY)
    return rows.index.to_series().isin(touched.loc[recent, "index"])
