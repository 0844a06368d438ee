"""Rule 8: timing — the preferred local slot (e.g. Tue–Thu 10:00) inside business hours in
the contact's timezone (the account's when unset), never on weekends or public holidays of
the account's country (``holidays``) unless transactional or urgent, never in a seasonal
blackout (e.g. no QBR 15 Dec–5 Jan).

Days are integers relative to the plan date; every allowed day is computed once per
(country, urgency, blackouts, check-in) group, not per touch.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from operator import itemgetter
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


# -- meeting time (DESIGN §9.6): calls in the overlap of both parties' business hours -------


@lru_cache(maxsize=1)
def _zone_countries() -> dict[str, str]:
    # tzdata's zone.tab names the country of every geographic zone.
    from importlib.resources import files

    table = files("tzdata").joinpath("zoneinfo", "zone.tab").read_text()
    rows = (line.split("\t") for line in table.splitlines() if line and line[0] != "#")
    return {row[2]: row[0] for row in rows if len(row) >= 3}


@cache
def zone_of(name: str) -> ZoneInfo:
    """The zone of an IANA name, kept for the process: ZoneInfo's own cache holds eight
    strongly, and a planner cycling through more would reread the tz files."""
    return ZoneInfo(name)


def zone_country(zone: str | None) -> str | None:
    """The ISO country of an IANA zone (``Europe/Berlin`` -> ``DE``), None when the zone
    names none (``UTC``)."""
    return _zone_countries().get(zone) if zone else None


@dataclass(frozen=True)
class Meeting:
    """One call to place. Days are the contact's local days; ``other_days`` are the days
    of the contact's other planned touches (a moved call keeps spacing and caps)."""

    key: str
    owner: str
    owner_zone: str | None  # None: a pooled queue that follows the contact's hours
    owner_country: str | None
    contact_zone: str
    contact_country: str | None
    planned_day: date
    first_day: date
    last_day: date
    minutes: int
    any_day: bool = False  # urgent: the contact's weekend or holiday is allowed
    other_days: tuple[date, ...] = ()


@dataclass(frozen=True)
class Placement:
    """Where a call goes: its start (UTC), whether it is inside both parties' business
    hours and business days, and what the task says when it is not or when it moved."""

    starts_at: datetime
    within_hours: bool
    note: str | None


_FIRST = itemgetter(0)
_FIRST_TWO = itemgetter(0, 1)
LATER_DAYS = 14  # how far past the planned day a call of a fully booked owner may move
DOUBLE_BOOKED = "reassign one"  # ends the note of a call placed over another


class MeetingPlanner:
    """Places calls one by one (callers pass them in priority order): a slot in both
    parties' business hours on a business day of both calendars (weekends and public
    holidays), the contact's preferred times first, never overlapping another call of the
    same owner, never before the plan date; the planned day first, then the other days of
    the touch's window in the same week that keep the contact's spacing and 7-day cap; with
    no such slot, the slot least outside both parties' hours within the owner's stretch
    hours (08:00-19:00) on an owner's business day, else in the owner's stretch hours
    around the planned day, else (an owner booked solid) in the stretch hours of the
    owner's next business days, else (solid for two weeks) overlapping the fewest other
    calls in the stretch hours around the planned day: a person's call never leaves their
    08:00-19:00; the task says so."""

    def __init__(self, hours, as_of: date, min_gap_days: int, per_7_days: int) -> None:
        self.hours = hours
        self.as_of = as_of
        self.min_gap = min_gap_days
        self.per_7 = per_7_days
        self.business = {WEEKDAYS.index(d) for d in hours.business_weekdays}
        self.preferred = [int(t[:2]) * 60 + int(t[3:]) for t in hours.preferred_times]
        # Each owner's calls (UTC seconds of the start and the end), sorted, and the
        # longest: a slot is checked only against the calls that can reach it.
        self.busy: dict[str, list[tuple[float, float]]] = {}
        self.longest: dict[str, float] = {}
        self._slots: dict[tuple, list] = {}

    def place(self, meeting: Meeting) -> Placement:
        """The placement of one call; it is booked in its owner's calendar."""
        contact = zone_of(meeting.contact_zone)
        owner = zone_of(meeting.owner_zone) if meeting.owner_zone else None
        days = self._days(meeting)
        found = None
        for day in days:  # 1: inside both business hours
            start = self._first_free(meeting, self._inside_slots(day, meeting))
            if start is not None:
                found = (start, True)
                break
        if found is None:  # 2: least outside, owner's business day, stretch hours
            found = self._least_outside(days, meeting, strict=True)
        if found is None and owner is not None:  # 3: any free slot of the owner's stretch
            start = self._first_free(meeting, self._stretch_slots(meeting))
            found = (start, False) if start is not None else None
        for day in self._later_owner_days(meeting) if found is None and owner else ():
            # 4: the owner's calendar is full around the planned day: the next business
            # days of the owner, still in stretch hours (a late call beats one at 04:00)
            start = self._first_free(meeting, self._owner_day_slots(day, meeting))
            if start is not None:
                found = (start, False)
                break
        overlaps = 0
        if found is None and owner is not None:
            # 5: a person booked solid for two weeks: their stretch hours still, on the
            # call that overlaps fewest others; the task says to reassign it
            least = min(((self._overlaps(meeting.owner, start, meeting.minutes), k, start)
                         for k, start in enumerate(self._stretch_slots(meeting))),
                        default=None)
            if least is not None:
                overlaps, _, start = least
                found = (start, False)
        if found is None:  # 6: a queue: least outside anywhere free
            found = self._least_outside(days, meeting, strict=False)
        start, inside = found or (datetime.combine(meeting.planned_day, time(10),
                                                   tzinfo=contact), False)
        if owner is not None:
            at = start.timestamp()
            insort(self.busy.setdefault(meeting.owner, []), (at, at + 60.0 * meeting.minutes))
            self.longest[meeting.owner] = max(self.longest.get(meeting.owner, 0.0),
                                              60.0 * meeting.minutes)
        notes = [self._note(meeting, start, inside, contact, owner)]
        if overlaps:
            notes.append(f"your calendar is full for {LATER_DAYS} days from the planned day:"
                         f" this call overlaps {overlaps} other call(s); {DOUBLE_BOOKED}")
        return Placement(start.astimezone(UTC), inside, "; ".join(filter(None, notes)) or None)

    def _days(self, meeting: Meeting) -> list[date]:
        # The contact's business days of the window in the planned week, nearest the planned
        # day first (the same for every call of that window and calendar), then those that
        # keep the contact's spacing and cap.
        key = ("days", meeting.planned_day, meeting.first_day, meeting.last_day,
               meeting.contact_country, meeting.any_day)
        others = self._slots.get(key)
        if others is None:
            week = meeting.planned_day - timedelta(days=meeting.planned_day.weekday())
            lo = max(meeting.first_day, week, self.as_of)
            hi = min(meeting.last_day, week + timedelta(days=6))
            days = [lo + timedelta(days=k) for k in range((hi - lo).days + 1)]
            others = self._slots[key] = sorted(
                ((d, d.toordinal()) for d in days
                 if d != meeting.planned_day and self._contact_day(d, meeting)),
                key=lambda d: (abs((d[0] - meeting.planned_day).days), d[0]))
        taken = sorted(other.toordinal() for other in meeting.other_days)
        return [max(meeting.planned_day, self.as_of),
                *(d for d, ordinal in others if self._keeps_caps(ordinal, taken))]

    def _contact_day(self, day: date, meeting: Meeting) -> bool:
        if meeting.any_day:
            return True
        return day.weekday() in self.business and day not in _holidays_of(
            meeting.contact_country, day.year)

    def _keeps_caps(self, day: int, taken: list[int]) -> bool:
        # ``day`` and the contact's other days (``taken``, sorted) as ordinals.
        if not taken:
            return True
        at = bisect_left(taken, day)  # the nearest other days on each side keep the gap
        if at < len(taken) and taken[at] - day < self.min_gap \
                or at > 0 and day - taken[at - 1] < self.min_gap:
            return False
        for start in range(day - 6, day + 1):  # every 7-day window holding the day
            if bisect_right(taken, start + 6) - bisect_left(taken, start) + 1 > self.per_7:
                return False
        return True

    # Which slots a call may take, and in which order, depends only on the day, both zones,
    # the owner's country and the length; only whether a slot is free depends on the calls
    # placed before. The slot lists are built once per such key and searched for the first
    # free slot: thousands of calls share a few hundred keys.

    def _first_free(self, meeting: Meeting, slots: list[datetime]) -> datetime | None:
        for start in slots:
            if self._free(meeting.owner, start, meeting.minutes):
                return start
        return None

    def _inside_slots(self, day: date, meeting: Meeting) -> list[datetime]:
        # Step 1's slots of a day: inside both business hours, on an owner's business day.
        key = ("inside", day, meeting.contact_zone, meeting.owner_zone, meeting.owner_country,
               meeting.minutes)
        slots = self._slots.get(key)
        if slots is None:
            owner = zone_of(meeting.owner_zone) if meeting.owner_zone else None
            slots = self._slots[key] = [
                start for start in self._starts(day, zone_of(meeting.contact_zone),
                                                meeting.minutes, inside_only=True)
                if not (owner is not None and self._outside(
                    start, meeting.minutes, owner, self.hours.start_hour, self.hours.end_hour))
                and self._owner_day(start, meeting, owner)]
        return slots

    def _ranked_slots(self, day: date, meeting: Meeting, strict: bool) -> list[datetime]:
        # A day's slots for the least-outside steps, least outside first (then earliest).
        key = ("ranked", day, meeting.contact_zone, meeting.owner_zone,
               meeting.owner_country, meeting.minutes, strict)
        slots = self._slots.get(key)
        if slots is None:
            hours, contact = self.hours, zone_of(meeting.contact_zone)
            owner = zone_of(meeting.owner_zone) if meeting.owner_zone else None
            ranked = []
            for start in self._starts(day, contact, meeting.minutes, inside_only=False):
                if owner is not None and start.astimezone(owner).date() < self.as_of:
                    continue
                if strict and (not self._owner_day(start, meeting, owner) or (
                        owner is not None and self._outside(
                            start, meeting.minutes, owner, hours.stretch_start_hour,
                            hours.stretch_end_hour))):
                    continue
                cost = self._outside(start, meeting.minutes, contact, hours.start_hour,
                                     hours.end_hour)
                if owner is not None:
                    cost += self._outside(start, meeting.minutes, owner, hours.start_hour,
                                          hours.end_hour)
                ranked.append((cost, start))
            ranked.sort(key=_FIRST_TWO)
            slots = self._slots[key] = ranked
        return slots

    def _least_outside(self, days: list[date], meeting: Meeting, strict: bool):
        # The free slot least outside both parties' hours; ties go to the earlier day in
        # ``days``, then to the earlier time.
        best = None
        for rank, day in enumerate(days):
            for cost, start in self._ranked_slots(day, meeting, strict):
                if best is not None and (cost, rank) >= best[0]:
                    break
                if self._free(meeting.owner, start, meeting.minutes):
                    best = ((cost, rank), start)
                    break
        return (best[1], False) if best else None

    def _stretch_slots(self, meeting: Meeting) -> list[datetime]:
        # The contact's planned day runs ahead of or behind the owner's by most of a day
        # (Melbourne and New York): the owner's stretch hours around it, a business day of
        # the owner preferred, least outside the contact's hours, the contact's day kept
        # when it can be.
        key = ("stretch", meeting.planned_day, meeting.contact_zone, meeting.owner_zone,
               meeting.owner_country, meeting.minutes)
        slots = self._slots.get(key)
        if slots is not None:
            return slots
        hours, ranked = self.hours, []
        contact, owner = zone_of(meeting.contact_zone), zone_of(meeting.owner_zone)
        for shift in (0, -1, 1):
            day = meeting.planned_day + timedelta(days=shift)
            for start in self._stretch_starts(day, owner, meeting.minutes):
                if day < self.as_of or start.astimezone(contact).date() < self.as_of:
                    continue
                ranked.append(((not self._owner_day(start, meeting, owner),
                                start.astimezone(contact).date() != meeting.planned_day,
                                self._outside(start, meeting.minutes, contact,
                                              hours.start_hour, hours.end_hour)
                                + self._outside(start, meeting.minutes, owner,
                                                hours.start_hour, hours.end_hour),
                                abs(shift), start), start))
        ranked.sort(key=_FIRST)
        slots = self._slots[key] = [start for _, start in ranked]
        return slots

    def _stretch_starts(self, day: date, owner: ZoneInfo, minutes: int):
        # Every slot start of the owner's stretch hours on their ``day``.
        hours = self.hours
        for minute in range(hours.stretch_start_hour * 60,
                            hours.stretch_end_hour * 60 - minutes + 1, hours.slot_minutes):
            yield datetime.combine(day, time(minute // 60, minute % 60), tzinfo=owner)

    def _later_owner_days(self, meeting: Meeting) -> list[date]:
        # The owner's days after step 3's (planned day + 1) for two weeks.
        first = max(meeting.planned_day, self.as_of) + timedelta(days=2)
        return [first + timedelta(days=k) for k in range(LATER_DAYS)]

    def _owner_day_slots(self, day: date, meeting: Meeting) -> list[datetime]:
        # A day of the owner's stretch hours (none on the owner's weekend or holiday), least
        # outside the contact's hours first, then earliest.
        key = ("later", day, meeting.contact_zone, meeting.owner_zone, meeting.owner_country,
               meeting.minutes)
        slots = self._slots.get(key)
        if slots is None:
            hours = self.hours
            contact, owner = zone_of(meeting.contact_zone), zone_of(meeting.owner_zone)
            ranked = []
            for start in self._stretch_starts(day, owner, meeting.minutes):
                if self._owner_day(start, meeting, owner):
                    ranked.append((self._outside(start, meeting.minutes, contact,
                                                 hours.start_hour, hours.end_hour), start))
            ranked.sort(key=_FIRST_TWO)
            slots = self._slots[key] = [start for _, start in ranked]
        return slots

    def _starts(self, day: date, zone: ZoneInfo, minutes: int, inside_only: bool
                ) -> list[datetime]:
        # A day's start times in one zone, preferred first: the same for every owner zone
        # and country, so built once per key (a few thousand keys for 92k calls).
        key = ("starts", day, zone, minutes, inside_only)
        starts = self._slots.get(key)
        if starts is not None:
            return starts
        step = self.hours.slot_minutes
        lo, hi = (self.hours.start_hour * 60, self.hours.end_hour * 60 - minutes) \
            if inside_only else (0, 24 * 60 - minutes)
        times = list(range(lo - lo % step + (step if lo % step else 0), hi + 1, step))
        preferred = [t for t in self.preferred if lo <= t <= hi]
        starts = self._slots[key] = []
        for minute in [*preferred, *(t for t in times if t not in preferred)]:
            local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
            if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) \
                    == local.replace(tzinfo=None):  # not a wall time a DST change skips
                starts.append(local)
        return starts

    def _outside(self, start: datetime, minutes: int, zone: ZoneInfo, lo: int, hi: int) -> int:
        # How far the call lies outside the hours, in minutes (0 inside): 18:00-18:45 is
        # 105 past 17:00, 23:00-23:45 is 405, so the least-outside slot is the nearest.
        local = start.astimezone(zone)
        s = local.hour * 60 + local.minute
        return max(0, lo * 60 - s) + max(0, s + minutes - hi * 60)

    def _owner_day(self, start: datetime, meeting: Meeting, owner: ZoneInfo | None) -> bool:
        local_day = start.astimezone(owner).date() if owner else start.date()
        if local_day < self.as_of:
            return False
        return owner is None or (local_day.weekday() in self.business and local_day not in
                                 _holidays_of(meeting.owner_country, local_day.year))

    def _free(self, owner: str, start: datetime, minutes: int) -> bool:
        return not self._overlaps(owner, start, minutes)

    def _overlaps(self, owner: str, start: datetime, minutes: int) -> int:
        # How many of the owner's booked calls a call at ``start`` would overlap, in UTC
        # seconds (aware times of one zone would compare by wall clock, off at DST): only
        # the calls starting from the longest call's length before it can reach it.
        booked = self.busy.get(owner)
        if not booked:
            return 0
        lo = start.timestamp()
        first = bisect_left(booked, (lo - self.longest[owner],))
        last = bisect_left(booked, (lo + 60.0 * minutes,))
        return sum(e > lo for _, e in booked[first:last])

    def _note(self, meeting: Meeting, start: datetime, inside: bool, contact: ZoneInfo,
              owner: ZoneInfo | None) -> str | None:
        notes = []
        day = start.astimezone(contact).date()
        if day != meeting.planned_day:
            notes.append(f"moved from {meeting.planned_day:%a %d %b} to {day:%a %d %b}"
                         " (the contact's day): no slot in both business days and hours on"
                         " the planned day")
        if day > max(meeting.last_day, meeting.planned_day + timedelta(days=1)):
            notes.append(f"past the touch's window (to {meeting.last_day:%a %d %b}): your"
                         " calendar is full in it; reassign the call if it cannot wait")
        if not inside:
            their = start.astimezone(contact).strftime("%H:%M")
            mine = start.astimezone(owner).strftime("%H:%M") if owner else their
            notes.append(f"no overlap of business hours ({self.hours.start_hour:02d}:00-"
                         f"{self.hours.end_hour:02d}:00 in {meeting.contact_zone} and "
                         f"{meeting.owner_zone or meeting.contact_zone}) that is free: "
                         f"{their} for the contact, {mine} for you")
        return "; ".join(notes) or None


def _holidays_of(country: str | None, year: int) -> dict[date, str]:
    return _holidays(country, (year,)) if country else {}
