"""Rule 11: a touch that cannot go on its day moves to the next allowed slot while before
its latest_at; past that it is dropped. Each day tried runs the sequential rules in
precedence (4 caps, 5 spacing, 6 announcement clash, 7 mix) against what the contact and
the account already receive."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date, timedelta
from functools import lru_cache

from cadence.planner.conflicts import announcement_block
from cadence.planner.frequency_cap import cap_block
from cadence.planner.load import Block, ContactLoad, DayLog, Touch, describe
from cadence.planner.policy import Limits
from cadence.planner.promotional_mix import mix_block
from cadence.planner.send_timing import DayRules
from cadence.planner.spacing import spacing_block

RULE = "11.deferral"


def first_block(touch: Touch, day: int, contact: ContactLoad, account: DayLog, limits: Limits,
                caps: dict[str, list[tuple[int, int]]]) -> Block | None:
    """The first rule (in precedence) refusing ``touch`` on ``day``, or None."""
    return (cap_block(touch, day, contact, account, limits, caps)
            or spacing_block(touch, day, contact, limits)
            or announcement_block(touch, day, contact)
            or mix_block(touch, day, contact, limits))


def days_to_try(rules: DayRules, first: int, last: int) -> list[int]:
    """Allowed days of the window: preferred weekdays first, then the other business days,
    each in date order."""
    preferred = rules.preferred[bisect_left(rules.preferred, first):
                                bisect_right(rules.preferred, last)]
    other = rules.other[bisect_left(rules.other, first):bisect_right(rules.other, last)]
    return preferred + other


def place(touch: Touch, first: int, last: int, rules: DayRules, contact: ContactLoad,
          account: DayLog, limits: Limits, caps: dict[str, list[tuple[int, int]]],
          ) -> tuple[int | None, list[tuple[int, Block]]]:
    """The day the touch goes (None: no day fits) and the refusals met on the way."""
    refusals: list[tuple[int, Block]] = []
    for day in days_to_try(rules, first, last):
        block = first_block(touch, day, contact, account, limits, caps)
        if block is None:
            return day, refusals
        refusals.append((day, block))
    return None, refusals


@lru_cache(maxsize=4096)
def day_text(as_of: date, day: int) -> str:
    """"Tue 2026-11-24" for a day relative to the plan date."""
    when = as_of + timedelta(days=day)
    return f"{when.strftime('%a')} {when.isoformat()}"


def first_hard_block(as_of: date, rules: DayRules, first: int, chosen: int,
                     refusals: list[tuple[int, Block]]) -> tuple[int, str, str] | None:
    """The earliest day before ``chosen`` a rule (not mere weekday preference) refused:
    (day, rule, why)."""
    found = None
    for day in range(first, chosen):
        if day in rules.why_not:
            rule, why = rules.why_not[day]
            found = (day, rule, why)
            break
    refused = [(day, block) for day, block in refusals if day < chosen]
    if refused:
        day, block = min(refused, key=lambda item: item[0])
        if found is None or day < found[0]:
            found = (day, block[0], describe(block, as_of))
    return found


def deferred_reason(as_of: date, hard: tuple[int, str, str]) -> str:
    """Calendar reason of a touch moved later, e.g. "deferred from Sat 2026-11-28: weekend"."""
    day, _, why = hard
    return f"deferred from {day_text(as_of, day)}: {why}"


def dropped_detail(as_of: date, rules: DayRules, first: int, last: int,
                   refusals: list[tuple[int, Block]], latest_text: str) -> tuple[str, str]:
    """(rule, detail) of a touch no day fits before its latest_at."""
    if refusals:
        day, block = refusals[0]  # the wanted slot's refusal
        return block[0], (f"no allowed slot before latest_at {latest_text}; on "
                          f"{day_text(as_of, day)}: {describe(block, as_of)}")
    if first > last:
        return RULE, f"window closed: no business-hours slot before latest_at {latest_text}"
    rule, why = rules.why_not.get(first, (RULE, "no allowed day"))
    return rule, (f"no allowed day from {day_text(as_of, first)} to "
                  f"{day_text(as_of, last)} (latest_at {latest_text}): {why}")

