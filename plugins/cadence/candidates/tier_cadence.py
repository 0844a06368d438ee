"""Tier cadences (DESIGN §7): recurring check-ins, QBRs, value reports and nurture per tier.

Occurrences are anchored on the account's contract_start (plus the rule's offset), so
consecutive nights propose the same intended dates and therefore the same touch ids.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cadence.candidates.account_overrides import frequency_note, overridden_rule
from cadence.candidates.assembly import DAY, PlanContext, empty_candidates, spec_touches
from cadence.candidates.policy import CadenceRule
from cadence.candidates.seasons import lighten_holds


def tier_cadence_candidates(ctx: PlanContext) -> pd.DataFrame:
    """Candidates of every ``tier_cadences`` rule for the accounts of its tiers."""
    frames = []
    for key, rule in ctx.policy.tier_cadences.items():
        rule_id = f"tier_cadences.{key}"
        accounts = ctx.active_accounts[ctx.active_accounts["tier"].isin(rule.tiers)]
        # Accounts that asked for their own frequency of this touch (account overrides).
        own = {a: o.frequency[key] for a, o in ctx.policy.account_overrides.items()
               if key in o.frequency}
        occurrences = cadence_occurrences(accounts[~accounts["account_id"].isin(own)], rule,
                                          ctx)
        # Seasons that lighten this cadence hold some occurrences (one text per season).
        holds = lighten_holds(occurrences, rule_id, ctx.active_accounts, ctx.policy)
        for hold, part in occurrences.groupby(holds.fillna(""), sort=True):
            touches = spec_touches(part, rule, rule_id, "cadence", ctx)
            frames.append(touches.assign(hold=hold) if hold else touches)
        for account, frequency in own.items():
            custom = overridden_rule(rule, frequency)
            occurrences = cadence_occurrences(accounts[accounts["account_id"] == account],
                                              custom, ctx)
            if len(occurrences):
                frames.append(spec_touches(occurrences, custom, rule_id, "cadence", ctx)
                              .assign(note=frequency_note(account, key, frequency)))
    return pd.concat(frames, ignore_index=True) if frames else empty_candidates()


def cadence_occurrences(accounts: pd.DataFrame, rule: CadenceRule,
                        ctx: PlanContext) -> pd.DataFrame:
    """account_id, intended, step (occurrence number since the anchor) of the rule's
    occurrences whose window meets the horizon and that fall in its active days."""
    anchor = accounts["contract_start"] + rule.offset_days * DAY
    # Widest range of intended dates whose window can meet the horizon.
    low = ctx.start - rule.window_days * DAY
    high = ctx.end + rule.lead_days * DAY
    if rule.every_days:
        first = np.ceil((low - anchor) / (rule.every_days * DAY)).clip(lower=0)
        last = np.floor((high - anchor) / (rule.every_days * DAY))
    else:
        months_to_low = (low.year - anchor.dt.year) * 12 + (low.month - anchor.dt.month)
        months_to_high = (high.year - anchor.dt.year) * 12 + (high.month - anchor.dt.month)
        # One occurrence of slack on each side; the exact horizon test follows below.
        first = np.floor((months_to_low - 1) / rule.every_months).clip(lower=0)
        last = np.ceil((months_to_high + 1) / rule.every_months)
    counts = (last - first + 1).clip(lower=0).fillna(0).astype("int64").to_numpy()
    position = np.repeat(np.arange(len(accounts)), counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    step = first.fillna(0).to_numpy(dtype=np.int64)[position] + within
    occurrences = pd.DataFrame({
        "account_id": accounts["account_id"].to_numpy()[position],
        "contract_start": accounts["contract_start"].to_numpy()[position],
        "anchor": anchor.to_numpy()[position],
        "step": step,
    })
    if rule.every_days:
        occurrences["intended"] = occurrences["anchor"] + occurrences["step"] * (
            rule.every_days * DAY)
    else:
        occurrences["intended"] = add_months(occurrences["anchor"],
                                             occurrences["step"] * rule.every_months)
    day = (occurrences["intended"] - occurrences["contract_start"]) / DAY
    keep = ctx.in_horizon(occurrences["intended"], rule) & (day >= rule.from_day)
    if rule.until_day is not None:
        keep &= day <= rule.until_day
    return occurrences.loc[keep, ["account_id", "intended", "step"]]


def add_months(dates: pd.Series, months: pd.Series) -> pd.Series:
    """``dates`` plus a number of calendar months each, the day clipped to the month's end
    (31 Jan + 1 month = 28/29 Feb)."""
    total = dates.dt.year * 12 + (dates.dt.month - 1) + months
    first = pd.to_datetime(pd.DataFrame({"year": total // 12, "month": total % 12 + 1,
                                         "day": 1}))
    day = np.minimum(dates.dt.day, first.dt.days_in_month)
    return first + (day - 1) * DAY
