"""The one written form of an e-mail address every step compares: trimmed, lower-cased,
domain in punycode."""

from __future__ import annotations

import re

import idna

# Any mailbox name without blanks, control characters or "@", then a dotted ASCII domain: the
# form validation accepts (a domain in punycode, as normalise_email writes it).
EMAIL = (r"^[^@\s\x00-\x1f\x7f]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
         r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
_ADDRESS = re.compile(EMAIL)


def is_address(value: object) -> bool:
    """Whether ``value`` (normalised) has the form of a mailbox validation accepts: a junk
    value such as ``bounced@@example`` reaches no one, so it identifies no one."""
    return isinstance(value, str) and bool(_ADDRESS.match(value))


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
