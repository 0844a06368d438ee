"""Consent rows are read leniently before they are judged (DESIGN §9.7: consent fails
closed): suppression and preference values are trimmed, e-mail addresses lower-cased and
their domain turned into punycode, enumerations lower-cased, so ``" Jo@Bücher.de "`` and an
``Unsubscribe`` reason are honoured instead of quarantined. What still fails validation
holds the touches of every contact it could refer to (:mod:`cadence.handoff.consent_holds`).
"""

from __future__ import annotations

import re

import pandas as pd

from cadence.contract.emails import normalise_email

CONSENT_ENTITIES = ("preferences", "suppressions")
# Columns whose values are fixed words (lower-cased) and columns only trimmed (ids and
# timestamps keep their case).
_WORDS = {"suppressions": ("reason", "scope"),
          "preferences": ("category", "channel", "frequency")}
_BLANKS = re.compile(r"\s+")


def email_match_key(value: object) -> object:
    """The form two addresses share when they could be the same mailbox: every blank
    removed, then :func:`normalise_email`. Used to find whom an unreadable row refers to."""
    if not isinstance(value, str):
        return value
    return normalise_email(_BLANKS.sub("", value))


def normalise_consent_rows(entity: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Raw ``suppressions`` or ``preferences`` rows (text columns) in the form validation
    judges: every value trimmed (blank becomes missing), e-mails normalised, enumerations
    lower-cased. Other entities are returned unchanged."""
    if entity not in CONSENT_ENTITIES:
        return frame
    out = frame.copy()
    for column in out.columns:
        if column.startswith("_") or not _is_text(out[column]):
            continue
        trimmed = out[column].str.strip()
        out[column] = trimmed.where(trimmed != "", None)
        if column in _WORDS[entity]:
            out[column] = out[column].str.lower()
    if "email" in out.columns:
        out["email"] = out["email"].map(normalise_email, na_action="ignore")
    return out


def _is_text(series: pd.Series) -> bool:
    return series.dtype == "str" or series.dtype == object
