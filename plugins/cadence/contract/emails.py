"""The one written form of an e-mail address every step compares: trimmed, lower-cased,
domain in punycode."""

from __future__ import annotations

import idna


def normalise_email(value: object) -> object:
    """``value`` trimmed and lower-cased, its domain in punycode (IDNA 2008, UTS 46); a
    value whose domain IDNA refuses is returned trimmed and lower-cased only (validation
    then rejects it). Missing values stay missing."""
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    local, at, domain = text.rpartition("@")
    if not at or domain.isascii():
        return text
    try:
        return f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}"
    except idna.IDNAError:
        return text
