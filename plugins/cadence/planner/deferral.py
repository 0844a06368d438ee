"""Rule 11: a touch that cannot go on its day moves to the next allowed slot while before
its latest_at; past that it is dropped. Each day tried runs the sequential rules (4 caps,
5 spacing, 6 announcement clash, 7 mix) against what the contact and the account already
receive; a decision names the first of them in precedence that refused its day."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from datetime import date, timedelta
from functools import lru_cache

from cadence.planner.conflicts import announcement_block
from cadence.planner.frequency_cap import account_has_room, cap_block, contact_cap_block
from cadence.planner.load import Block, ContactLoad, DayLog, Touch, describe
from cadence.planner.policy import Limits
from cadence.planner.promotional_mix import mix_block
from cadence.planner.send_timing import DayRules
from cadence.planner.spacing import spacing_allows, spacing_block

RULE = "11.deferral"
_UNKNOWN = object()


def first_block(touch: Touch, day: int, contact: ContactLoad, account: DayLog, limits: Limits,
                caps: dict[str, list[tuple[int, int]]]) -> Block | None:
    """The first rule (in precedence) refusing ``touch`` on ``day``, or None."""
    return (cap_block(touch, day, contact, account, limits, caps)
            or spacing_block(touch, day, contact, limits)
            or announcement_block(touch, day, contact)
            or mix_block(touch, day, contact, limits))


def fits(touch: Touch, day: int, contact: ContactLoad, account: DayLog, limits: Limits,
         caps: dict[str, list[tuple[int, int]]]) -> bool:
    """Whether no rule refuses ``touch`` on ``day`` (``first_block`` is None).

    Cheapest and most often refusing checks first: when a full account or a taken day
    refuses, the contact's caps need not be counted; which rule refused is asked of
    :func:`first_block` only for the day a decision names.
    """
    return account_has_room(day, account, limits) and _contact_allows(touch, day, contact,
                                                                      limits, caps)


def _contact_allows(touch: Touch, day: int, contact: ContactLoad, limits: Limits,
                    caps: dict[str, list[tuple[int, int]]]) -> bool:
    # The checks of :func:`fits` after the account's room, in the same order.
    return (spacing_allows(touch, day, contact, limits)
            and contact_cap_block(touch, day, contact, limits, caps) is None
            and announcement_block(touch, day, contact) is None
            and mix_block(touch, day, contact, limits) is None)


def refusal_of(touch: Touch, contact: ContactLoad, account: DayLog, limits: Limits,
               caps: dict[str, list[tuple[int, int]]]) -> Callable[[int], Block]:
    """The refusal of a day :func:`fits` refused, as :func:`first_block` names it."""
    return lambda day: first_block(touch, day, contact, account, limits, caps)


def days_to_try(rules: DayRules, first: int, last: int) -> list[int]:
    """Allowed days of the window: preferred weekdays first, then the other business days,
    each in date order."""
    preferred = rules.preferred[bisect_left(rules.preferred, first):
                                bisect_right(rules.preferred, last)]
    other = rules.other[bisect_left(rules.other, first):bisect_right(rules.other, last)]
    return preferred + other


def place(touch: Touch, days: list[int], contact: ContactLoad, account: DayLog, limits: Limits,
          caps: dict[str, list[tuple[int, int]]]) -> tuple[int | None, list[int]]:
    """The first of ``days`` (see :func:`days_to_try`) the touch may go on (None: none
    fits) and the days refused before it, in the order they were tried."""
    refused: list[int] = []
    cap = limits.account_per_7_days
    # A full account refuses the same days to touch after touch: its cached answer (the
    # log is unchanged while one touch is placed) is read before any rule is called.
    known = account.full
    for day in days:
        full = known.get((day, 7, cap), _UNKNOWN)
        if full is _UNKNOWN:
            full = account.window_full(day, 7, cap)
        if full is None and _contact_allows(touch, day, contact, limits, caps):
            return day, refused
        refused.append(day)
    return None, refused


@lru_cache(maxsize=4096)
def day_text(as_of: date, day: int) -> str:
    """"Tue 2026-11-24" for a day relative to the plan date."""
    when = as_of + timedelta(days=day)
    return f"{when.strftime('%a')} {when.isoformat()}"


def first_hard_block(as_of: date, rules: DayRules, first: int, chosen: int,
                     refused: list[int], explain: Callable[[int], Block] | None
                     ) -> tuple[int, str, str] | None:
    """The earliest day before ``chosen`` a rule (not mere weekday preference) refused:
    (day, rule, why). ``explain`` (given when a day was refused) names a day's refusal."""
    found = None
    for day in range(first, chosen):
        if day in rules.why_not:
            rule, why = rules.why_not[day]
            found = (day, rule, why)
            break
    earlier = [day for day in refused if day < chosen]
    if earlier:
        day = min(earlier)
        if found is None or day < found[0]:
            block = explain(day)
            found = (day, block[0], describe(block, as_of))
    return found


def deferred_reason(as_of: date, hard: tuple[int, str, str]) -> str:
    """Calendar reason of a touch moved later, e.g. "deferred from Sat 2026-11-28: weekend"."""
    day, _, why = hard
    return f"deferred from {day_text(as_of, day)}: {why}"


def dropped_detail(as_of: date, rules: DayRules, first: int, last: int, refused: list[int],
                   explain: Callable[[int], Block] | None, latest_text: str
                   ) -> tuple[str, str]:
    """(rule, detail) of a touch no day fits before its latest_at; ``explain`` (given when
    a day was refused) names a day's refusal."""
    if refused:
        day = refused[0]  # the wanted slot's refusal
        block = explain(day)
        return block[0], (f"no allowed slot before latest_at {latest_text}; on "
                          f"{day_text(as_of, day)}: {describe(block, as_of)}")
    if first > last:
        return RULE, f"window closed: no business-hours slot before latest_at {latest_text}"
    rule, why = rules.why_not.get(first, (RULE, "no allowed day"))
    return rule, (f"no allowed day from {day_text(as_of, first)} to "
                  f"{day_text(as_of, last)} (latest_at {latest_text}): {why}")
