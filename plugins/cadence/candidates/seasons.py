"""Seasons (policy ``candidates.seasons``): periods of the year when some touches go
lighter or move — per industry (retail in its peak), per account, or around each
account's fiscal year end (its year-end close); an account override's blackout months
(``candidates.account_overrides.<id>.blackout_months``) are seasons of that account. A
season names the rules it changes (fnmatch patterns of rule ids), optionally channels, and
its action:

- ``skip``: the touch is held (decision ``held``, rule 0.hold) with a detail naming the
  season, so the lighter cadence shows in the report instead of touches vanishing;
- ``lighten``: a recurring tier cadence thins out: of the rule's occurrences whose
  intended day falls in the season only one in ``keep_one_in`` goes (counted from the
  cadence's anchor, so consecutive nights agree: the biweekly check-in goes monthly), the
  others are held with a detail naming the season and the thinning;
- ``move``: its window moves to the day after the season ends (same length), and its
  decision detail starts with a note naming the season and the day it was wanted.

A touch is in a season when the first day it may go (earliest_at, UTC) falls in it; the
first season in policy order that holds a touch applies. The touch id does not change,
so consecutive nights propose the same touch."""

from __future__ import annotations

from fnmatch import fnmatchcase

import numpy as np
import pandas as pd

from cadence.candidates.assembly import DAY
from cadence.candidates.policy import CandidatesPolicy, Season


def _on(years: pd.Series, month_day: pd.Series) -> pd.Series:
    # The date of MM-DD in each year, the day clipped to the month's end (29 Feb).
    month = month_day.str.slice(0, 2).astype(int)
    day = month_day.str.slice(3, 5).astype(int)
    first = pd.to_datetime(pd.DataFrame({"year": years, "month": month, "day": 1}))
    return first + (np.minimum(day, first.dt.days_in_month) - 1) * DAY


def season_bounds(days: pd.Series, account_ids: pd.Series, season: Season,
                  fiscal_year_ends: dict[str, str]) -> tuple[pd.Series, pd.Series]:
    """(in the season, the season's last day) for each day and account."""
    years = days.dt.year
    if season.fiscal_year_end:
        fye = account_ids.map(fiscal_year_ends)
        known = fye.notna()
        inside = pd.Series(False, index=days.index)
        last = pd.Series(pd.NaT, index=days.index, dtype="datetime64[ns]")
        if not known.any():
            return inside, last
        for shift in (-1, 0, 1):
            end = _on(years[known] + shift, fye[known])
            hit = ((days[known] >= end - season.days_before * DAY)
                   & (days[known] <= end + season.days_after * DAY))
            inside[hit[hit].index] = True
            last[hit[hit].index] = (end + season.days_after * DAY)[hit]
        return inside, last
    stop = pd.Series(season.end, index=days.index)
    md = days.dt.strftime("%m-%d")
    if season.start <= season.end:
        inside = (md >= season.start) & (md <= season.end)
        last = _on(years, stop)
    else:  # wraps over the new year
        inside = (md >= season.start) | (md <= season.end)
        last = _on(years + (md >= season.start).astype(int), stop)
    return inside, last


def season_entries(policy: CandidatesPolicy) -> list[tuple[str, Season, str]]:
    """(label, season, where it is set) of every season in force: the policy's periods,
    then each account override's blackout months."""
    entries = [(f"season {name}", season, f"policy candidates.seasons.periods.{name}")
               for name, season in policy.seasons.periods.items()]
    for account, override in policy.account_overrides.items():
        entries += [("blackout months", season.model_copy(update={"accounts": [account]}),
                     f"account override candidates.account_overrides.{account}"
                     ".blackout_months") for season in override.blackout_seasons()]
    return entries


def apply_seasons(candidates: pd.DataFrame, accounts: pd.DataFrame,
                  policy: CandidatesPolicy) -> pd.DataFrame:
    """The candidates with each season's action applied: ``hold`` set on skipped ones,
    the window moved and ``note`` set (or extended) on moved ones."""
    entries = season_entries(policy)
    if candidates.empty or not entries:
        return candidates
    out = candidates.copy()
    if "note" not in out.columns:
        out["note"] = None
    industry = out["account_id"].map(
        accounts.set_index("account_id")["industry"].astype(object).str.lower()
        if "industry" in accounts.columns else {})
    earliest = pd.to_datetime(out["earliest_at"], utc=True)
    days = earliest.dt.tz_localize(None).dt.normalize()
    free = out["hold"].isna()
    rule_ids = out["rule_id"].fillna("").astype(str)
    for label, season, where in entries:
        if season.action == "lighten":  # done where the cadence is made: lighten_holds
            continue
        names = {r for r in rule_ids.unique() if any(fnmatchcase(r, p) for p in season.rules)}
        mask = free & rule_ids.isin(names)
        if season.channels:
            mask &= out["channel"].isin(season.channels)
        mask &= _in_scope(season, out["account_id"], industry)
        if not mask.any():
            continue
        inside, last = season_bounds(days[mask], out.loc[mask, "account_id"], season,
                                     policy.seasons.fiscal_year_ends)
        hit = inside[inside].index
        period = season.describe()
        if season.action == "skip":
            out.loc[hit, "hold"] = (f"{label} ({period}; {where}): lighter cadence, "
                                    "this touch is skipped")
        else:
            moved = (last[hit] + DAY).dt.tz_localize("UTC")
            length = pd.to_datetime(out.loc[hit, "latest_at"], utc=True) - earliest[hit]
            out.loc[hit, "note"] = add_note(out.loc[hit, "note"], [
                f"moved past {label} ({period}; {where}): wanted from {d.date().isoformat()}"
                for d in days[hit]])
            out.loc[hit, "earliest_at"] = moved
            out.loc[hit, "latest_at"] = moved + length
        free[hit] = False
    return out


def lighten_holds(occurrences: pd.DataFrame, rule_id: str, accounts: pd.DataFrame,
                  policy: CandidatesPolicy) -> pd.Series:
    """For each occurrence (account_id, intended, step) of the tier cadence ``rule_id``
    the hold text of the first ``lighten`` season that thins it out, else None."""
    holds = pd.Series(None, index=occurrences.index, dtype=object)
    lighter = [(label, season, where) for label, season, where in season_entries(policy)
               if season.action == "lighten"
               and any(fnmatchcase(rule_id, p) for p in season.rules)]
    if occurrences.empty or not lighter:
        return holds
    industry = occurrences["account_id"].map(
        accounts.set_index("account_id")["industry"].astype(object).str.lower()
        if "industry" in accounts.columns else {})
    days = pd.to_datetime(occurrences["intended"]).dt.normalize()
    for label, season, where in lighter:
        mask = holds.isna() & _in_scope(season, occurrences["account_id"], industry)
        if not mask.any():
            continue
        inside, _ = season_bounds(days[mask], occurrences.loc[mask, "account_id"], season,
                                  policy.seasons.fiscal_year_ends)
        thinned = inside & (occurrences.loc[mask, "step"] % season.keep_one_in != 0)
        holds[thinned[thinned].index] = (
            f"{label} ({season.describe()}; {where}): lighter cadence, one in"
            f" {season.keep_one_in} of these touches goes, this one is skipped")
    return holds


def _in_scope(season: Season, account_ids: pd.Series, industry: pd.Series) -> pd.Series:
    # The season's accounts: of its industries or named; every account when neither.
    if not (season.industries or season.accounts):
        return pd.Series(True, index=account_ids.index)
    return (industry.isin([i.lower() for i in season.industries])
            | account_ids.isin(season.accounts))


def add_note(notes: pd.Series, new) -> pd.Series:
    """Each note followed by the new one ("; " between), or the new one alone."""
    new = pd.Series(new, index=notes.index, dtype=object)
    return new.where(notes.isna(), notes.astype(object) + "; " + new)
