"""The NPS survey program: every contact of the policy's audience is asked for an NPS
score by email once a period (quarterly by default). Each contact's survey day sits at a
stable, hash-spread offset into the period counted from the account's contract start, so
surveys are spread over the quarter and consecutive nights propose the same touch id.

Exclusions (policy ``candidates.nps_survey``): never in the account's first days
(onboarding week one), never within ``days_after_ticket`` of a support ticket of the
account (open, opened or closed), never within ``days_after_answer`` of the contact's own
last answer. The answers come back through the ``nps_responses`` source."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from cadence.candidates.assembly import DAY, PlanContext, assemble_spec, empty_candidates

RULE_ID = "nps_survey"


def spread_days(contact_ids: pd.Series, every_days: int) -> np.ndarray:
    """A stable day offset in [0, every_days) per contact (same on every machine)."""
    return np.array([int.from_bytes(hashlib.blake2b(str(c).encode(), digest_size=8).digest(),
                                    "big") % every_days for c in contact_ids], dtype=np.int64)


def nps_survey_candidates(ctx: PlanContext) -> pd.DataFrame:
    """One survey email per audience contact whose survey day of the period meets the
    horizon and is clear of the exclusions."""
    rule = ctx.policy.nps_survey
    if not rule.enabled:
        return empty_candidates()
    accounts = ctx.active_accounts
    if rule.tiers is not None:
        accounts = accounts[accounts["tier"].isin(rule.tiers)]
    contacts = ctx.audience(rule.audience).merge(
        accounts[["account_id", "contract_start"]], on="account_id")
    if contacts.empty:
        return empty_candidates()
    contacts["first"] = contacts["contract_start"] + rule.not_in_first_days * DAY
    anchor = contacts["first"] + spread_days(contacts["contact_id"], rule.every_days) * DAY
    period = rule.every_days * DAY
    # Occurrences from the first whose window can still meet the horizon, as many as the
    # horizon can hold.
    low = ctx.start - rule.window_days * DAY
    steps = np.ceil((low - anchor) / period).clip(lower=0)
    span = ctx.horizon_days + rule.window_days + rule.lead_days
    rows = pd.concat([contacts.assign(intended=anchor + (steps + k) * period)
                      for k in range(span // rule.every_days + 1)], ignore_index=True)
    rows = rows[ctx.in_horizon(rows["intended"], rule) & (rows["intended"] >= rows["first"])]
    rows = rows[~near_ticket(rows, ctx, rule.days_after_ticket)
                & ~answered_recently(rows, ctx, rule.days_after_answer)]
    if rows.empty:
        return empty_candidates()
    rows = rows.assign(channel=rule.channel, csm_id=None)
    return assemble_spec(rows[["contact_id", "account_id", "intended", "channel", "csm_id"]],
                         rule, RULE_ID, "cadence", ctx)


def near_ticket(rows: pd.DataFrame, ctx: PlanContext, days: int) -> pd.Series:
    """Whether the account had a ticket open on, or closed within ``days`` before, the
    survey day (a ticket still open counts as open from its opening on)."""
    tickets = ctx.inputs.recent_tickets
    if rows.empty or tickets.empty:
        return pd.Series(False, index=rows.index)
    pairs = rows[["account_id", "intended"]].reset_index().merge(
        tickets[["account_id", "opened_at", "closed_at"]], on="account_id")
    opened = pairs["opened_at"].dt.tz_localize(None).dt.normalize()
    closed = pairs["closed_at"].dt.tz_localize(None).dt.normalize()
    near = (opened <= pairs["intended"]) & (
        closed.isna() | (closed >= pairs["intended"] - days * DAY))
    return rows.index.to_series().isin(pairs.loc[near, "index"])


def answered_recently(rows: pd.DataFrame, ctx: PlanContext, days: int) -> pd.Series:
    """Whether the contact's last NPS answer is within ``days`` before the survey day."""
    nps = ctx.inputs.latest_nps[["contact_id", "responded_at"]]
    answered = rows[["contact_id", "intended"]].merge(nps, on="contact_id", how="left")
    at = answered["responded_at"].dt.tz_localize(None).dt.normalize()
    recent = (at > answered["intended"] - days * DAY).fillna(False).to_numpy(dtype=bool)
    return pd.Series(recent, index=rows.index)
