"""Rule 11: a touch that cannot go on its day moves to the next allowed slot while before
its latest_at; past that an unprotected touch is dropped and a protected one escalated.
Each day tried runs the sequential rules (4 caps, 5 spacing, 6 announcement clash, 7 mix)
against what the contact and the account already receive; a decision names the first of
them in precedence that refused its day.

The placement pass is compiled (:mod:`cadence.planner.placement`); :func:`fits` answers
the same question for one touch over :class:`ContactLoad` logs, for CSM levelling, which
moves a few human touches after the pass."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date, timedelta
from functools import lru_cache

from cadence.planner.conflicts import (
    announcement_block,
)
from cadence.planner.day_logs import ContactLoad, DayLog, Touch
from cadence.planner.frequency_cap import (
    account_has_room,
    contact_cap_block,
)
from cadence.planner.policy import Limits
from cadence.planner.promotional_mix import mix_block
from cadence.planner.send_timing import DayRules
from cadence.planner.spacing import spacing_allows

RULE = "11.deferral"


def fits(touch: Touch, day: int, contact: ContactLoad, account: DayLog, limits: Limits,
         caps: dict[str, list[tuple[int, int]]]) -> bool:
    """Whether no rule refuses ``touch`` on ``day``; cheapest and most often refusing
    checks first."""
    return account_has_room(day, account, limits) and _contact_allows(touch, day, contact,
                                                                      limits, caps)


def _contact_allows(touch: Touch, day: int, contact: ContactLoad, limits: Limits,
                    caps: dict[str, list[tuple[int, int]]]) -> bool:
    # The checks of :func:`fits` after the account's room, in the same order.
    return (spacing_allows(touch, day, contact, limits)
            and contact_cap_block(touch, day, contact, limits, caps) is None
            and announcement_block(touch, day, contact) is None
            and mix_block(touch, day, contact, limits) is None)


def days_to_try(rules: DayRules, first: int, last: int) -> list[int]:
    """Allowed days of the window: preferred weekdays first, then the other business days,
    each in date order."""
    preferred = rules.preferred[bisect_left(rules.preferred, first):
                                bisect_right(rules.preferred, last)]
    other = rules.other[bisect_left(rules.other, first):bisect_right(rules.other, last)]
    return preferred + other


@lru_cache(maxsize=4096)
def day_text(as_of: date, day: int) -> str:
    """"Tue 2026-11-24" for a day relative to the plan date."""
    when = as_of + timedelta(days=day)
    return f"{when.strftime('%a')} {when.isoformat()}"
