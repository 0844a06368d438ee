"""Value types the policy sections share, so every timezone, tier, entity, channel and
date in ``policy.yml`` is checked on load and a typo fails with its dotted path instead of
failing a shard at run time or silently matching nothing.

Kept import-light (no pandas, no warehouse): every policy section imports it.
"""

from __future__ import annotations

import codecs
import re
from datetime import date
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field

from cadence.contract.entities import CATEGORIES, CHANNELS, ENTITIES, MESSAGE_TYPES

TIERS = ("strategic", "enterprise", "mid_market", "smb", "tech_touch")
STAGES = ("onboarding", "adoption", "mature", "renewal", "churned")
SIGNALS = ("at_risk", "expansion_ready", "promoter", "detractor", "silent", "inactive")
BANDS = ("green", "yellow", "red")


def _one_of(kind: str, known: tuple[str, ...]):
    def check(value: str) -> str:
        if value not in known:
            raise ValueError(f"unknown {kind} {value!r}; known: {', '.join(known)}")
        return value

    return AfterValidator(check)


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):  # ValueError: not a zone key at all ("../x")
        raise ValueError(f"unknown IANA timezone {value!r} (e.g. Europe/Berlin, UTC)") from None
    return value


def _encoding(value: str) -> str:
    try:
        codecs.lookup(value)
    except LookupError:
        raise ValueError(f"unknown text encoding {value!r} (e.g. utf-8, latin-1, cp1252)"
                         ) from None
    return value


def _iso_date(value: str) -> str:
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"expected an ISO date YYYY-MM-DD, got {value!r}") from None
    return value


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from None
    return value


Timezone = Annotated[str, AfterValidator(_timezone)]
Tier = Annotated[str, _one_of("tier", TIERS)]
Entity = Annotated[str, _one_of("entity", tuple(ENTITIES))]
Channel = Annotated[str, _one_of("channel", CHANNELS)]
MessageType = Annotated[str, _one_of("message type", MESSAGE_TYPES)]
Category = Annotated[str, _one_of("category", CATEGORIES)]
# A segment key a trigger can start on: a stage or a signal.
Signal = Annotated[str, _one_of("stage or signal", STAGES + SIGNALS)]
Band = Annotated[str, _one_of("health band", BANDS)]
Encoding = Annotated[str, AfterValidator(_encoding)]
IsoDate = Annotated[str, AfterValidator(_iso_date)]
Regex = Annotated[str, AfterValidator(_regex)]
# A share of rows or touches, e.g. a reject-rate threshold.
Share = Annotated[float, Field(ge=0, le=1)]
Provider = Literal["outbox", "sendgrid", "intercom", "webhook", "twilio"]
