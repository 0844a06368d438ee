"""Rule 8: timing — the preferred local slot (e.g. Tue–Thu 10:00) inside business hours in
the contact's timezone (the account's when unset), never on weekends or public holidays of
the account's country (``holidays``) unless transactional or urgent, never in a seasonal
blackout (e.g. no QBR 15 Dec–5 Jan).

Days are integers relative to the plan date; every allowed day is computed once per
(country, urgency, blackouts, check-in) group, not per touch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import numpy as np
import pandas as pd

from cadence.planner.policy import WEEKDAYS, Blackout, Timing

RULE = "8.send_timing"
DAY_S = 86_400


def check_timezones(names: list[str]) -> None:
    """Fail with the bad name when a timezone is not an IANA zone."""
    for name in names:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"timezone {name!r} is not an IANA timezone") from exc


def local_clock(utc_s: np.ndarray, zone: np.ndarray, zones: list[str],
                as_of: date) -> tuple[np.ndarray, np.ndarray]:
    """Local day (relative to ``as_of``) and second of day of UTC epoch seconds, each row in
    its zone (``zone`` indexes ``zones``)."""
    local = np.empty(len(utc_s), dtype=np.int64)
    for code, name in enumerate(zones):
        rows = np.flatnonzero(zone == code)
        if not len(rows):
            continue
        stamps = pd.DatetimeIndex(utc_s[rows].astype("datetime64[s]")).tz_localize("UTC")
        wall = stamps.tz_convert(name).tz_localize(None)
        local[rows] = wall.to_numpy().astype("datetime64[s]").astype(np.int64)
    origin = _epoch_s(as_of)
    return (local - origin) // DAY_S, (local - origin) % DAY_S


def utc_of_local(day: np.ndarray, second: np.ndarray, zone: np.ndarray, zones: list[str],
                 as_of: date) -> tuple[np.ndarray, np.ndarray]:
    """UTC epoch seconds and local wall-clock epoch seconds of a local day and second.

    A wall-clock time skipped by a DST change moves forward; a repeated one takes the
    standard-time instant, so the result is always defined and deterministic.
    """
    wall = _epoch_s(as_of) + day * DAY_S + second
    utc = np.empty(len(day), dtype=np.int64)
    for code, name in enumerate(zones):
        rows = np.flatnonzero(zone == code)
        if not len(rows):
            continue
        stamps = pd.DatetimeIndex(wall[rows].astype("datetime64[s]"))
        aware = stamps.tz_localize(name, ambiguous=np.zeros(len(rows), dtype=bool),
                                   nonexistent="shift_forward")
        utc[rows] = aware.tz_convert("UTC").tz_localize(None).to_numpy().astype(
            "datetime64[s]").astype(np.int64)
    return utc, wall


def _epoch_s(day: date) -> int:
    return int((day - date(1970, 1, 1)).days) * DAY_S


@lru_cache(maxsize=512)
def _holidays(country: str, years: tuple[int, ...]) -> dict[date, str]:
    try:
        return dict(holidays.country_holidays(country, years=years))
    except NotImplementedError:  # a country the library does not know has no holidays here
        return {}


def _in_blackout(day: date, blackout: Blackout) -> bool:
    key = (day.month, day.day)
    start = tuple(int(x) for x in blackout.start.split("-"))
    end = tuple(int(x) for x in blackout.end.split("-"))
    if start <= end:
        return start <= key <= end
    return key >= start or key <= end


@dataclass
class DayRules:
    """The days one group of touches may go on, in the order they are tried."""

    preferred: list[int]
    other: list[int]
    why_not: dict[int, tuple[str, str]] = field(default_factory=dict)  # day -> (rule, reason)


def day_rules(timing: Timing, as_of: date, first: int, last: int, country: str | None,
              any_day: bool, blackouts: tuple[int, ...], announcement_days: frozenset[int],
              ) -> DayRules:
    """Allowed days from ``first`` to ``last`` for a group: preferred weekdays first.

    ``any_day`` (urgent) allows weekends and holidays and prefers no weekday; blackouts
    index ``timing.blackouts``; ``announcement_days`` are forbidden (check-ins only).
    """
    business = {WEEKDAYS.index(d) for d in timing.business_weekdays}
    preferred_days = {WEEKDAYS.index(d) for d in timing.preferred_weekdays}
    years = tuple(range((as_of + timedelta(first)).year, (as_of + timedelta(last)).year + 1))
    public = _holidays(country, years) if country and not any_day else {}
    rules = DayRules([], [])
    for offset in range(first, last + 1):
        day = as_of + timedelta(days=offset)
        why = None
        for index in blackouts:
            if _in_blackout(day, timing.blackouts[index]):
                why = (RULE, f"blackout {timing.blackouts[index].name}")
                break
        if why is None and offset in announcement_days:
            why = ("6.conflicts", "major product announcement day")
        if why is None and not any_day:
            if day.weekday() not in business:
                why = (RULE, "weekend")
            elif day in public:
                why = (RULE, f"public holiday in {country}: {public[day]}")
        if why is not None:
            rules.why_not[offset] = why
        elif any_day or day.weekday() in preferred_days:
            rules.preferred.append(offset)
        else:
            rules.other.append(offset)
    return rules
