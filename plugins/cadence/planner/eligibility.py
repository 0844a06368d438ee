"""Rule 1: hard eligibility, vectorized over all candidates.

Erased or do_not_contact -> nothing; churned account -> only transactional; bounced or
spam-reported email -> no email (other channels may go); an unsubscribe blocks
non-transactional touches in its scope (all, marketing = promotional and educational, or
email) while transactional and account messages still go; a contact's ``never`` for a
category (and channel) -> none of it. SMS is for the urgent only: an SMS touch whose
priority class is not in ``planner.sms_classes`` (shipped: transactional such as an outage
or security notice, lifecycle_critical such as the renewal deadline) is suppressed, naming
its class and the classes SMS is kept for; an SMS to a contact known to have no phone
number is suppressed too (an unknown one goes on, dispatch checks the number).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cadence.planner.membership import is_in

RULE = "1.eligibility"
MARKETING = ("promotional", "educational")


def ineligible(candidates: pd.DataFrame, transactional: np.ndarray, contacts: pd.DataFrame,
               accounts: pd.DataFrame, preferences: pd.DataFrame,
               suppressions: pd.DataFrame, klass: np.ndarray | None = None,
               class_names: list[str] | None = None,
               sms_classes: list[str] | None = None) -> np.ndarray:
    """For each candidate why it may not go (object array; None when it may). ``klass``
    (class index per candidate into ``class_names``) and ``sms_classes`` restrict SMS."""
    n = len(candidates)
    why = np.full(n, None, dtype=object)
    if n == 0:
        return why
    contact_ids = candidates["contact_id"]
    channel = candidates["channel"]
    category = candidates["category"]
    email = (channel == "email").to_numpy(dtype=bool)

    undecided = np.ones(n, dtype=bool)

    def mark(mask: np.ndarray, text: str) -> None:
        hit = mask & undecided
        why[hit] = text
        undecided[hit] = False

    rules = _suppression_rules(suppressions, contacts)

    def suppressed(reason: str, scope: str) -> np.ndarray:
        members = rules.get((reason, scope))
        if not members:
            return np.zeros(n, dtype=bool)
        return is_in(contact_ids, members)

    for reason in ("erasure", "do_not_contact"):
        mark(suppressed(reason, "any"), f"contact suppressed: {reason}")

    churned = accounts.loc[accounts["status"] == "churned", "account_id"]
    mark(is_in(candidates["account_id"], churned) & ~transactional,
         "account churned: only transactional messages")

    for reason in ("bounce", "spam_report"):
        mark(suppressed(reason, "any") & email,
             f"email address suppressed: {reason}; other channels may go")

    # A missing category is the message type's.
    marketing = np.where(category.isna().to_numpy(dtype=bool),
                         candidates["message_type"].isin(MARKETING).to_numpy(dtype=bool),
                         category.isin(MARKETING).to_numpy(dtype=bool))
    scoped = {
        "all": ~transactional,
        "marketing": ~transactional & marketing,
        "email": ~transactional & email,
    }
    for scope, applies in scoped.items():
        mark(suppressed("unsubscribe", scope) & applies,
             f"contact unsubscribed (scope {scope})")

    if klass is not None and class_names is not None and sms_classes is not None:
        sms = (channel == "sms").to_numpy(dtype=bool)
        allowed = np.array([name in sms_classes for name in class_names], dtype=bool)
        kept_for = ", ".join(sms_classes) or "no class"
        for index in np.unique(klass[sms & ~allowed[klass]]):
            mark(sms & (klass == index),
                 f"sms only for urgent classes ({kept_for}); this touch is"
                 f" {class_names[index]}: use email or in-app")

    if "has_phone" in contacts.columns:
        no_phone = contacts.loc[contacts["has_phone"].eq(False), "contact_id"]
        if len(no_phone):
            mark((channel == "sms").to_numpy(dtype=bool) & is_in(contact_ids, no_phone),
                 "contact has no phone number: no sms")

    never = preferences[preferences["frequency"] == "never"]
    if len(never):
        # Only the candidates of contacts with a "never" can match one.
        rows = np.flatnonzero(is_in(contact_ids, never["contact_id"]))
        keys = pd.DataFrame({
            "contact_id": contact_ids.iloc[rows].to_numpy(),
            "category": category.iloc[rows].fillna(
                candidates["message_type"].iloc[rows]).to_numpy(dtype=object),
            "channel": channel.iloc[rows].to_numpy(dtype=object), "row": rows})
        # A preference names a category and a channel; a missing one means "any".
        for by, prefs in (
            (["contact_id", "category", "channel"], never.dropna(subset=["category", "channel"])),
            (["contact_id", "category"], never[never["channel"].isna()]),
            (["contact_id", "channel"], never[never["category"].isna()]),
        ):
            hit_rows = keys.merge(prefs[by].drop_duplicates(), on=by)["row"].to_numpy()
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
    addresses = suppressions["email"].tolist()
    # The contacts of each suppressed address (several share one, e.g. a team inbox):
    # a dict, as a lookup in a non-unique index scans it whole each time.
    wanted = {a.strip().lower() for a in addresses if isinstance(a, str)}
    emails: dict[str, list[str]] = {}
    if wanted:
        normal = contacts["email"].str.strip().str.lower()
        hit = normal.isin(wanted).to_numpy()
        for address, contact_id in zip(normal[hit].tolist(),
                                       contacts["contact_id"][hit].tolist(), strict=True):
            emails.setdefault(address, []).append(contact_id)
    rules: dict[tuple[str, str], set[str]] = {}
    for contact_id, address, reason, scope in zip(
            suppressions["contact_id"].tolist(), addresses, suppressions["reason"].tolist(),
            suppressions["scope"].tolist(), strict=True):
        ids: set[str] = set()
        if isinstance(contact_id, str):
            ids.add(contact_id)
        if isinstance(address, str):
            ids.update(emails.get(address.strip().lower(), ()))
        scope = scope if isinstance(scope, str) else "all"
        rules.setdefault((reason, "any"), set()).update(ids)
        rules.setdefault((reason, scope), set()).update(ids)
    return rules
