"""Consent fails closed (DESIGN §9.7): a suppression or preference row that cannot be read
even after normalisation is quarantined by validation, *and* every contact it could refer
to has its touches held (not sent) until the row is fixed.

A row could refer to a contact with the same ``contact_id`` or the same e-mail address up
to case, blanks and punycode (:func:`cadence.quality.consent_rows.email_match_key`).
``consent_holds`` has one row per unreadable consent row and contact it holds (contact_id
NULL when the row names nobody identifiable); it is replaced whenever the consent entities
are validated, so fixing the source row releases the hold at the next sync. Dispatch skips
held contacts; the hourly check task fails while any row is unreadable, after everyone
else's touches went out.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

import pandas as pd

from cadence.contract.errors import RetryCannotHelp
from cadence.contract.schema import table_columns
from cadence.contract.warehouse import Warehouse
from cadence.quality.consent_rows import email_match_key

log = logging.getLogger(__name__)

HOLD_COLUMNS = table_columns("consent_holds")
SHOWN = 20  # contact ids listed per row in the check's message


class UnreadableConsentRows(RetryCannotHelp):
    """Consent rows could not be read; their contacts' touches are held. The message names
    entity, rule and contact ids, never an e-mail address. Only fixing the rows helps."""


def contacts_referred_to(rows: pd.DataFrame, contacts: pd.DataFrame) -> pd.DataFrame:
    """Per quarantined consent row (entity, row JSON, rule), each contact of ``contacts``
    (contact_id, email) it could refer to: columns entity, rule, row_number (1-based, in
    ``rows`` order), row_contact_id, contact_id (NA when the row names no known contact)."""
    named_ids = {_named(json.loads(row).get("contact_id")) for row in rows["row"]} - {None}
    ids = contacts["contact_id"]
    by_id = set(ids[ids.isin(named_ids)])
    by_email: dict[str, set[str]] = {}
    # Only contacts whose address could match a row's get the (slow, IDNA) match key: the
    # key's local part is the address's, blanks removed and lower-cased (str.split splits
    # on the blanks ``\s`` matches).
    wanted = {email_match_key(json.loads(row).get("email")) for row in rows["row"]}
    locals_ = {key.rpartition("@")[0] for key in wanted if isinstance(key, str)}
    if locals_:
        emails = contacts["email"].to_numpy(dtype=object, na_value=None).tolist()
        for contact_id, email in zip(ids.to_numpy(dtype=object).tolist(), emails, strict=True):
            if (isinstance(email, str)
                    and "".join(email.split()).lower().rpartition("@")[0] in locals_):
                by_email.setdefault(email_match_key(email), set()).add(contact_id)
    out = []
    for number, (entity, row, rule) in enumerate(
            zip(rows["entity"], rows["row"], rows["rule"], strict=True), start=1):
        values = json.loads(row)
        named = _named(values.get("contact_id"))
        held = {named} & by_id if named else set()
        email = values.get("email")
        if isinstance(email, str) and email.strip():
            held |= by_email.get(email_match_key(email), set())
        for contact_id in sorted(held) or [None]:
            out.append({"contact_id": contact_id, "entity": entity, "rule": rule,
                        "row_number": number, "row_contact_id": named})
    return pd.DataFrame(out, columns=["contact_id", "entity", "rule", "row_number",
                                      "row_contact_id"])


def refresh_consent_holds(warehouse: Warehouse, run_id: str, now: datetime) -> dict:
    """Replace ``consent_holds`` from the consent rows validation run ``run_id``
    quarantined; a contact held before keeps its ``held_since``."""
    rows = warehouse.read_frame(warehouse.render("consent/unreadable_consent_rows.sql"),
                                {"run_id": run_id})
    contacts = _contacts(warehouse) if len(rows) else pd.DataFrame(
        columns=["contact_id", "email"])
    holds = contacts_referred_to(rows, contacts)
    before = warehouse.read_table("consent_holds")
    since = {(c, e, r): s for c, e, r, s in zip(before["contact_id"], before["entity"],
                                                 before["rule"], before["held_since"],
                                                 strict=True)}
    holds["held_since"] = [since.get((c, e, r), now) for c, e, r in
                           zip(holds["contact_id"], holds["entity"], holds["rule"],
                               strict=True)]
    holds["held_since"] = pd.to_datetime(holds["held_since"], utc=True)
    holds["run_id"] = run_id
    warehouse.write_frame("consent_holds", holds[list(HOLD_COLUMNS)], replace_all=True)
    held = holds["contact_id"].dropna().nunique()
    if len(rows):
        log.warning("%d consent rows unreadable; touches of %d contacts held",
                    len(rows), held)
    return {"unreadable_rows": len(rows), "held_contacts": int(held)}


def held_contacts(warehouse: Warehouse) -> set[str]:
    """Contacts whose touches are held until an unreadable consent row is fixed."""
    if not warehouse.table_exists("consent_holds"):
        return set()
    holds = warehouse.read_table("consent_holds")
    return set(holds["contact_id"].dropna())


def check_consent_rows(warehouse: Warehouse) -> dict:
    """Raise :class:`UnreadableConsentRows` while any consent row is unreadable (the
    Airflow check task); otherwise report that consent is readable."""
    if not warehouse.table_exists("consent_holds"):
        return {"unreadable_rows": 0, "held_contacts": 0}
    holds = warehouse.read_table("consent_holds")
    if holds.empty:
        return {"unreadable_rows": 0, "held_contacts": 0}
    lines = []
    for _, group in holds.sort_values("row_number").groupby("row_number", sort=True):
        first = group.iloc[0]
        named = first["row_contact_id"]
        who = f"contact_id {named}" if isinstance(named, str) else "row without contact_id"
        held = sorted(group["contact_id"].dropna())
        shown = ", ".join(held[:SHOWN]) + (f" and {len(held) - SHOWN} more"
                                           if len(held) > SHOWN else "")
        lines.append(f"{first['entity']} {who}: {first['rule']}; holds "
                     f"{shown or 'no known contact'}")
    held = holds["contact_id"].dropna().nunique()
    raise UnreadableConsentRows(
        f"{len(lines)} consent row(s) cannot be read, touches of {held} contact(s) are held "
        "until they are fixed in the source (rows in quarantine):\n" + "\n".join(lines))


def _named(contact_id: object) -> str | None:
    """The contact_id a consent row names, trimmed; None when it names none."""
    return contact_id.strip() if isinstance(contact_id, str) and contact_id.strip() else None


def _contacts(warehouse: Warehouse) -> pd.DataFrame:
    # validated_contacts is the newest (the nightly validates before it stages)
    for table in ("validated_contacts", "stg_contacts"):
        if warehouse.table_exists(table):
            return warehouse.read_columns(f"select contact_id, email from {table}")
    return pd.DataFrame(columns=["contact_id", "email"])
