"""Minimum cadence (DESIGN §7): every contact of a paying account gets at least one touch
a period (default 30 days); one nobody else touches gets a light value touch.

The intended date is the next day on a grid of periods anchored at contract_start, so
consecutive nights propose the same touch id until that day passes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cadence.candidates.assembly import DAY, PlanContext, assemble_spec, empty_candidates

RULE_ID = "minimum_cadence"


def minimum_cadence_candidates(ctx: PlanContext, planned: pd.DataFrame) -> pd.DataFrame:
    """A light touch for each paying contact with no touch in the period before its next
    grid day, counting the history and the other sources' ``planned`` candidates."""
    rule = ctx.policy.minimum_cadence
    accounts = ctx.inputs.accounts
    paying = accounts[accounts["status"].isin(rule.paying_statuses) & (accounts["arr"] > 0)]
    period = rule.period_days * DAY
    steps = np.ceil((ctx.start - paying["contract_start"]) / period).clip(lower=0)
    due = pd.DataFrame({"account_id": paying["account_id"],
                        "intended": paying["contract_start"] + steps * period})
    due = due[ctx.in_horizon(due["intended"], rule)]
    contacts = ctx.audience(rule.audience).merge(due, on="account_id")
    if contacts.empty:
        return empty_candidates()
    touched = touches_by_contact(ctx, planned)
    seen = contacts[["contact_id", "intended"]].merge(touched, on="contact_id")
    covered = seen.loc[(seen["day"] > seen["intended"] - period)
                       & (seen["day"] <= seen["intended"] + rule.window_days * DAY),
                       "contact_id"]
    rows = contacts[~contacts["contact_id"].isin(covered)].assign(channel=rule.channel,
                                                                   csm_id=None)
    if rows.empty:
        return empty_candidates()
    return assemble_spec(rows, rule, RULE_ID, "cadence", ctx)


def touches_by_contact(ctx: PlanContext, planned: pd.DataFrame) -> pd.DataFrame:
    """contact_id, day of every touch that counts: other sources' candidates and the
    history's planned or sent touches (this rule's own unsent plans excluded, so they do
    not cover themselves, and held candidates too)."""
    history = ctx.inputs.history
    counted = history["status"].isin(ctx.policy.counted_statuses)
    own_unsent = (history["rule_id"] == RULE_ID) & (history["status"] != "sent")
    history = history[counted & ~own_unsent]
    free = planned[planned["hold"].isna()]
    return pd.concat([
        pd.DataFrame({"contact_id": history["contact_id"],
                      "day": history["scheduled_at"].dt.tz_localize(None).dt.normalize()}),
        # A held candidate (awaiting approval) may never go, so it covers nobody.
        pd.DataFrame({"contact_id": free["contact_id"],
                      "day": pd.to_datetime(free["earliest_at"]).dt.tz_localize(None)
                      .dt.normalize()}),
    ], ignore_index=True)
