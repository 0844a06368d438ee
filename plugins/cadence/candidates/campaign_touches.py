"""Campaign touches (DESIGN §7): every campaign row becomes one candidate per contact of
its audience inside its window; webinars (event_at set) become an invitation and reminders
at fixed days before the event. While ``require_approval`` is on, an unapproved row's
candidates carry a hold ("awaiting approval") that the planner records as decision
``held`` (rule 0.hold) instead of placing them. Rows whose audience does not parse are
returned as quarantine rejects, never dropped silently."""

from __future__ import annotations

import json

import pandas as pd

from cadence.candidates.assembly import DAY, PlanContext, assemble, empty_candidates
from cadence.candidates.policy import HUMAN_CHANNELS
from cadence.contract.audience import AudienceError, parse_audience

# Quarantine entity of campaign rows whose audience does not parse: its own partition key,
# so validation's "campaigns" rejects and these are replaced independently.
AUDIENCE_REJECTS = "campaigns_audience"


def split_campaign_audiences(campaigns: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(campaigns whose audience parses, rejects) where rejects has the quarantine columns
    entity, row (the campaign row as JSON) and rule naming the parse error."""
    bad, rejects = [], []
    for index, row in campaigns.iterrows():  # one row per campaign: a handful, not contacts
        try:
            parse_audience(row["audience"] if isinstance(row["audience"], str) else "")
        except AudienceError as exc:
            bad.append(index)
            rejects.append({"entity": AUDIENCE_REJECTS,
                            "row": json.dumps(_as_text(row.to_dict()), sort_keys=True),
                            "rule": f"campaigns.audience: does not parse: {exc}"})
    return campaigns.drop(index=bad), pd.DataFrame(rejects, columns=["entity", "row", "rule"])


def _as_text(row: dict) -> dict:
    # Quarantine rows hold every value as text, like the raw source row.
    return {k: None if pd.isna(v) else str(v)
            for k, v in row.items()}


def campaign_candidates(ctx: PlanContext) -> pd.DataFrame:
    """Candidates of every campaign with a valid audience; those of an unapproved one
    (under ``require_approval``) are held, awaiting approval."""
    rules = ctx.policy.campaigns
    campaigns, _ = split_campaign_audiences(ctx.inputs.campaigns)
    frames = []
    for campaign in campaigns.itertuples(index=False):
        windows = campaign_windows(campaign, ctx)
        if windows.empty:
            continue
        recipients = ctx.audience(campaign.audience)
        if campaign.channel in HUMAN_CHANNELS:
            recipients = recipients[recipients["contact_id"].isin(ctx.primary["contact_id"])]
        rows = windows.merge(recipients, how="cross")
        rows = rows.merge(ctx.inputs.accounts[["account_id", "csm_id"]], on="account_id",
                          how="left")
        if campaign.channel not in HUMAN_CHANNELS:
            rows["csm_id"] = None
        boost = 0 if pd.isna(campaign.priority) else int(campaign.priority)
        message_type = campaign.message_type
        frames.append(assemble(rows.assign(
            team=campaign.team, message_type=message_type,
            category="operational" if message_type == "transactional" else message_type,
            channel=campaign.channel, template_id=campaign.template_id, source="campaign",
            id_key=campaign.campaign_id,
            priority=ctx.policy.priorities[message_type]
            + min(max(boost, 0), rules.max_priority_boost),
            urgent=False, campaign_id=campaign.campaign_id, event_at=campaign.event_at,
            hold=awaiting_approval(campaign) if rules.require_approval else None,
        ), ctx))
    return pd.concat(frames, ignore_index=True) if frames else empty_candidates()


def awaiting_approval(campaign) -> str | None:
    """The hold of an unapproved campaign row's candidates, naming the campaign."""
    if campaign.approved:
        return None
    return (f"awaiting approval: campaign {campaign.campaign_id} is not approved "
            "(policy candidates.campaigns.require_approval)")


def campaign_windows(campaign, ctx: PlanContext) -> pd.DataFrame:
    """rule_id, intent, intended, earliest_at, latest_at of a campaign's sends that meet the
    horizon: one send over its window, or a webinar's invitation and reminders."""
    intent = campaign.intent if isinstance(campaign.intent, str) and campaign.intent \
        else campaign.template_id
    window_start, window_end = campaign.window_start, campaign.window_end
    if pd.isna(campaign.event_at):
        sends = [{"rule_id": "campaigns", "intent": intent,
                  "intended": window_start.tz_localize(None).normalize(),
                  "earliest_at": window_start, "latest_at": window_end}]
    else:
        sends = []
        event_day = campaign.event_at.tz_localize(None).normalize()
        for key, step in ctx.policy.campaigns.webinar_steps.items():
            intended = event_day - step.days_before * DAY
            sends.append({
                "rule_id": f"campaigns.{key}", "intent": intent + step.intent_suffix,
                "intended": intended,
                "earliest_at": max(intended.tz_localize("UTC"), window_start),
                "latest_at": min((intended + (step.window_days + 1) * DAY).tz_localize("UTC")
                                 - pd.Timedelta(seconds=1), campaign.event_at, window_end),
            })
    windows = pd.DataFrame(sends)
    start = ctx.start.tz_localize("UTC")
    end = ctx.end.tz_localize("UTC")
    keep = ((windows["latest_at"] >= start) & (windows["earliest_at"] < end)
            & (windows["earliest_at"] <= windows["latest_at"]))
    return windows[keep]
