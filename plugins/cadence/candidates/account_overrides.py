"""Account-level cadence overrides (policy ``candidates.account_overrides``, keyed by
account id): what one customer asked for beyond the tier's cadence — its own frequency
per cadence rule (monthly QBRs), blackout months (no calls in August: the touches move
past them, see :mod:`cadence.candidates.seasons`) and the channel its digital touches
prefer. Every touch an override changed carries a note naming the override, which starts
its decision detail."""

from __future__ import annotations

import pandas as pd

from cadence.candidates.policy import AccountOverride, CadenceRule, Frequency
from cadence.candidates.seasons import add_note

DIGITAL = ("email", "in_app")


def overridden_rule(rule: CadenceRule, frequency: Frequency) -> CadenceRule:
    """The cadence rule at the account's own frequency."""
    return rule.model_copy(update={"every_days": frequency.every_days,
                                   "every_months": frequency.every_months})


def frequency_note(account: str, key: str, frequency: Frequency) -> str:
    """The note of a touch planned at an account's own frequency."""
    every = (f"every {frequency.every_days} days" if frequency.every_days
             else f"every {frequency.every_months} months")
    return (f"{every}: account override candidates.account_overrides.{account}"
            f".frequency.{key}")


def prefer_channels(candidates: pd.DataFrame,
                    overrides: dict[str, AccountOverride]) -> pd.DataFrame:
    """Digital touches (email, in-app) of accounts with a preferred channel go by it;
    transactional ones keep theirs (they go where the provider must send them)."""
    preferred = {a: o.preferred_channel for a, o in overrides.items() if o.preferred_channel}
    if candidates.empty or not preferred:
        return candidates
    out = candidates.copy()
    wanted = out["account_id"].map(preferred)
    change = (wanted.notna() & out["channel"].isin(DIGITAL) & (out["channel"] != wanted)
              & (out["message_type"] != "transactional"))
    if change.any():
        out.loc[change, "note"] = add_note(out.loc[change, "note"], [
            f"{old} -> {new}: account override candidates.account_overrides.{account}"
            ".preferred_channel" for old, new, account in
            zip(out.loc[change, "channel"], wanted[change], out.loc[change, "account_id"],
                strict=True)])
        out.loc[change, "channel"] = wanted[change]
    return out
