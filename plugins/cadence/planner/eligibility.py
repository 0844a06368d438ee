"""Rule 1: hard eligibility, vectorized over all candidates.

Erased or do_not_contact -> nothing; churned account -> only transactional; bounced or
spam-reported email -> no email (other channels may go); an unsubscribe blocks
non-transactional touches in its scope (all, marketing = promotional and educational, or
email) while transactional and account messages still go; a contact's ``never`` for a
category (and channel) -> none of it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RULE = "1.eligibility"
MARKETING = ("promotional", "educational")


def ineligible(candidates: pd.DataFrame, transactional: np.ndarray, contacts: pd.DataFrame,
               accounts: pd.DataFrame, preferences: pd.DataFrame,
               suppressions: pd.DataFrame) -> np.ndarray:
    """For each candidate why it may not go (object array; None when it may)."""
    n = len(candidates)
    why = np.full(n, None, dtype=object)
    if n == 0:
        return why
    contact_ids = candidates["contact_id"]
    channel = candidates["channel"].to_numpy(dtype=object)
    category = candidates["category"].fillna(candidates["message_type"]).to_numpy(dtype=object)
    email = channel == "email"

    undecided = np.ones(n, dtype=bool)

    def mark(mask: np.ndarray, text: str) -> None:
        hit = mask & undecided
        why[hit] = text
        undecided[hit] = False

    rules = _suppression_rules(suppressions, contacts)
    for reason in ("erasure", "do_not_contact"):
        hit = contact_ids.isin(rules.get((reason, "any"), ())).to_numpy()
        mark(hit, f"contact suppressed: {reason}")

    churned = set(accounts.loc[accounts["status"] == "churned", "account_id"])
    mark(candidates["account_id"].isin(churned).to_numpy() & ~transactional,
         "account churned: only transactional messages")

    for reason in ("bounce", "spam_report"):
        hit = contact_ids.isin(rules.get((reason, "any"), ())).to_numpy() & email
        mark(hit, f"email address suppressed: {reason}; other channels may go")

    scoped = {
        "all": ~transactional,
        "marketing": ~transactional & np.isin(category, MARKETING),
        "email": ~transactional & email,
    }
    for scope, applies in scoped.items():
        hit = contact_ids.isin(rules.get(("unsubscribe", scope), ())).to_numpy() & applies
        mark(hit, f"contact unsubscribed (scope {scope})")

    never = preferences[preferences["frequency"] == "never"]
    if len(never):
        keys = pd.DataFrame({"contact_id": contact_ids.to_numpy(), "category": category,
                             "channel": channel, "row": np.arange(n)})
        # A preference names a category and a channel; a missing one means "any".
        for by, rows in (
            (["contact_id", "category", "channel"], never.dropna(subset=["category", "channel"])),
            (["contact_id", "category"], never[never["channel"].isna()]),
            (["contact_id", "channel"], never[never["category"].isna()]),
        ):
            hit_rows = keys.merge(rows[by].drop_duplicates(), on=by)["row"].to_numpy()
            hit = np.zeros(n, dtype=bool)
            hit[hit_rows] = True
            what = " and ".join(by[1:])
            mark(hit & ~transactional, f"contact prefers never for this {what}")
    return why


def _suppression_rules(suppressions: pd.DataFrame,
                       contacts: pd.DataFrame) -> dict[tuple[str, str], set[str]]:
    # (reason, scope) -> contact ids; a suppression names a contact or an email address.
    if not len(suppressions):
        return {}
    by_email = contacts.dropna(subset=["email"])
    emails = pd.Series(by_email["contact_id"].to_numpy(),
                       index=by_email["email"].str.strip().str.lower().to_numpy())
    rules: dict[tuple[str, str], set[str]] = {}
    for row in suppressions.itertuples(index=False):
        ids: set[str] = set()
        if isinstance(getattr(row, "contact_id", None), str):
            ids.add(row.contact_id)
        address = getattr(row, "email", None)
        if isinstance(address, str):
            matched = emails.get(address.strip().lower())
            if matched is not None:
                ids.update([matched] if isinstance(matched, str) else list(matched))
        scope = row.scope if isinstance(getattr(row, "scope", None), str) else "all"
        rules.setdefault((row.reason, "any"), set()).update(ids)
        rules.setdefault((row.reason, scope), set()).update(ids)
    return rules
