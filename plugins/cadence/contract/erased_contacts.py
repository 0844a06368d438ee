"""How an erased contact looks to every step (DESIGN §9.8): the irreversible pseudonyms
:mod:`cadence.privacy.erasure` writes, and :func:`reapply_erasures`, which the extract step
runs so a source that still sends an erased contact loads pseudonyms only."""

from __future__ import annotations

import hashlib
import logging
import re

import pandas as pd

from cadence.contract.emails import normalise_email
from cadence.contract.warehouse import Warehouse

log = logging.getLogger(__name__)

ERASED = "[erased]"
ERASED_DOMAIN = "erased.invalid"
# Column names (and JSON keys) that hold a contact's personal data as a whole value.
PERSONAL = re.compile(r"^(?:contact_)?(?:email|first_name|last_name|full_name|name|phone)$"
                      r"|(?:^|_)comment$")
_EMAIL_COLUMN = re.compile(r"^(?:contact_)?email$")

def email_sha256(email: str) -> str:
    """The proof kept of an erased address: SHA-256 of its normalised form."""
    return hashlib.sha256(str(normalise_email(email)).encode()).hexdigest()


def erased_email(email: str) -> str:
    """The irreversible pseudonym of an address."""
    return f"erased-{email_sha256(email)[:16]}@{ERASED_DOMAIN}"


def is_erased_email(value: object) -> bool:
    """Whether ``value`` is already a pseudonym."""
    return isinstance(value, str) and value.strip().lower().endswith("@" + ERASED_DOMAIN)


def reapply_erasures(warehouse: Warehouse, frames: dict[str, pd.DataFrame]
                     ) -> dict[str, pd.DataFrame]:
    """Source frames (entity -> text columns) with every contact of ``erasure_log``
    pseudonymised again, before they reach ``raw_*``: rows with an erased ``contact_id``
    or an erased address lose their personal columns, erased addresses become pseudonyms."""
    if not warehouse.table_exists("erasure_log"):
        return frames
    done = warehouse.read_table("erasure_log")
    hashes, ids = set(done["email_sha256"].dropna()), set(done["contact_id"].dropna())
    if not hashes and not ids:
        return frames
    out = {}
    for name, frame in frames.items():
        emails = [c for c in frame.columns if _EMAIL_COLUMN.match(c)]
        erased_address = pd.Series(False, index=frame.index)
        for column in emails:
            erased_address |= frame[column].map(
                lambda v: isinstance(v, str) and email_sha256(v) in hashes).astype(bool)
        own = erased_address.copy()
        if "contact_id" in frame.columns:
            own |= frame["contact_id"].map(
                lambda v: isinstance(v, str) and v.strip() in ids).astype(bool)
        if not own.any():
            out[name] = frame
            continue
        frame = frame.copy()
        for column in frame.columns:
            present = own & frame[column].notna()
            if not present.any():
                continue
            if _EMAIL_COLUMN.match(column):
                frame.loc[present, column] = frame.loc[present, column].map(erased_email)
            elif PERSONAL.match(column):
                frame.loc[present, column] = ERASED
        out[name] = frame
        log.info("%s: %d rows of erased contacts pseudonymised at extract", name, int(own.sum()))
    return out
