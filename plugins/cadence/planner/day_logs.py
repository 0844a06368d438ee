"""What a contact or an account already receives: sorted day logs the cap, spacing and mix
rules count in, with the touch ids so a decision can name the touches that blocked it.

Days are integers relative to the plan date in the contact's local calendar.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

import numpy as np
from numba import njit

# A rule's refusal over these logs (CSM levelling): (rule, what was reached, and the log and
# day range holding the touches that reached it).
Block = tuple[str, str, "DayLog | None", int, int]


class DayLog:
    """Days of touches of one kind (sorted), with their touch ids."""

    __slots__ = ("days", "ids", "full")

    def __init__(self) -> None:
        self.days: list[int] = []
        self.ids: list[str] = []
        # Answers while the log is unchanged.
        self.full: dict[tuple[int, int, int], tuple[int, int] | None] = {}

    def add(self, day: int, touch_id: str) -> None:
        """Record a touch on ``day``."""
        position = bisect_right(self.days, day)
        self.days.insert(position, day)
        self.ids.insert(position, touch_id)
        self._changed()

    def extend(self, entries: list[tuple[int, str]]) -> None:
        """Record many (day, touch_id) at once, in the order :meth:`add` one by one would
        keep them: a stable sort by day."""
        if not entries:
            return
        days = self.days + [day for day, _ in entries]
        ids = self.ids + [touch_id for _, touch_id in entries]
        order = sorted(range(len(days)), key=days.__getitem__)
        self.days = [days[k] for k in order]
        self.ids = [ids[k] for k in order]
        self._changed()

    def remove(self, touch_id: str) -> None:
        """Forget a touch (it moved or was dropped)."""
        position = self.ids.index(touch_id)
        del self.days[position]
        del self.ids[position]
        self._changed()

    def _changed(self) -> None:
        if self.full:
            self.full = {}

    def between(self, first: int, last: int) -> list[tuple[int, str]]:
        """(day, touch_id) of the touches from ``first`` to ``last`` inclusive."""
        lo = bisect_left(self.days, first)
        hi = bisect_right(self.days, last)
        return list(zip(self.days[lo:hi], self.ids[lo:hi], strict=True))

    def count(self, first: int, last: int) -> int:
        """Number of touches from ``first`` to ``last`` inclusive."""
        return bisect_right(self.days, last) - bisect_left(self.days, first)

    def window_full(self, day: int, width: int, limit: int) -> tuple[int, int] | None:
        """First and last day of a ``width``-day window containing ``day`` that one more
        touch on ``day`` would take over ``limit``, else None. The earliest such window
        starting on a touch (or on ``day``) is named."""
        if width <= 0:
            return None
        days = self.days
        lo = bisect_left(days, day - width + 1)
        hi = bisect_right(days, day + width - 1)
        if hi - lo < limit:  # fewer touches nearby than the limit: no window can overflow
            return None
        key = (day, width, limit)
        if key in self.full:
            return self.full[key]
        found = self.full[key] = self._full_window(day, width, limit, lo, hi)
        return found

    def _full_window(self, day: int, width: int, limit: int, lo: int,
                     hi: int) -> tuple[int, int] | None:
        # A fullest window starts on a touch; every start from day - width + 1 to day
        # holds ``day``, so the window is full when it already holds ``limit`` touches.
        days = self.days
        previous = None
        for position in range(lo, bisect_right(days, day, lo, hi)):
            start = days[position]
            if start != previous:
                previous = start
                if bisect_right(days, start + width - 1, position, hi) - position >= limit:
                    return start, start + width - 1
        if bisect_right(days, day + width - 1, lo, hi) - bisect_left(days, day, lo, hi) >= limit:
            return day, day + width - 1
        return None

    def nearest_within(self, day: int, gap: int) -> int | None:
        """The day of a touch closer than ``gap`` days to ``day``, if any."""
        if gap <= 0:
            return None
        lo = bisect_left(self.days, day - gap + 1)
        if lo < len(self.days) and self.days[lo] <= day + gap - 1:
            return self.days[lo]
        return None


class ContactLoad:
    """Everything non-transactional a contact receives, by the keys the rules count.

    The per-channel and per-preference logs are built from ``all`` when a rule first asks
    for one (most contacts never need most of them) and kept up to date after.
    """

    __slots__ = ("all", "touches", "channels", "promotional", "categories", "checkins",
                 "announcements")

    def __init__(self) -> None:
        self.all = DayLog()
        self.touches: dict[str, Touch] = {}
        self.channels: dict[str, DayLog] = {}
        self.promotional = DayLog()
        self.categories: dict[tuple[str, str], DayLog] = {}
        self.checkins = DayLog()
        self.announcements = DayLog()

    def channel(self, channel: str) -> DayLog:
        """The log of one channel."""
        log = self.channels.get(channel)
        if log is None:
            log = self.channels[channel] = self._log_of(
                lambda touch: touch.channel == channel)
        return log

    def category(self, category: str, channel: str) -> DayLog:
        """The log of a preference key: (category, channel) or (category, "*")."""
        key = (category, channel)
        log = self.categories.get(key)
        if log is None:
            log = self.categories[key] = self._log_of(
                lambda touch: touch.category == category
                and channel in ("*", touch.channel))
        return log

    def _log_of(self, keeps) -> DayLog:
        # The touches of ``all`` that ``keeps``, in its order (day, then as added).
        log = DayLog()
        touches = self.touches
        log.extend([(day, touch_id) for day, touch_id in zip(self.all.days, self.all.ids,
                                                             strict=True)
                    if keeps(touches[touch_id])])
        return log

    def _keyed_logs(self, touch: Touch) -> list[DayLog]:
        # The built channel and preference logs a touch belongs to.
        logs = []
        log = self.channels.get(touch.channel)
        if log is not None:
            logs.append(log)
        for key in ((touch.category, touch.channel), (touch.category, "*")):
            log = self.categories.get(key)
            if log is not None:
                logs.append(log)
        return logs

    def add(self, touch: Touch, day: int) -> None:
        """Record a non-transactional touch on ``day``."""
        touch_id = touch.touch_id
        self.all.add(day, touch_id)
        self.touches[touch_id] = touch
        for log in self._keyed_logs(touch):
            log.add(day, touch_id)
        if touch.promotional:
            self.promotional.add(day, touch_id)
        if touch.checkin:
            self.checkins.add(day, touch_id)
        if touch.announcement:
            self.announcements.add(day, touch_id)

    def extend(self, entries: list[tuple[int, Touch]]) -> None:
        """Record many (day, touch) at once, as :meth:`add` one by one would."""
        if self.channels or self.categories:
            for day, touch in entries:
                self.add(touch, day)
            return
        for _, touch in entries:
            self.touches[touch.touch_id] = touch
        self.all.extend([(day, touch.touch_id) for day, touch in entries])
        self.promotional.extend([(day, t.touch_id) for day, t in entries if t.promotional])
        self.checkins.extend([(day, t.touch_id) for day, t in entries if t.checkin])
        self.announcements.extend([(day, t.touch_id) for day, t in entries
                                   if t.announcement])

    def remove(self, touch: Touch) -> None:
        """Forget a touch (CSM levelling moves or drops it)."""
        touch_id = touch.touch_id
        self.all.remove(touch_id)
        for log in self._keyed_logs(touch):
            log.remove(touch_id)
        self.touches.pop(touch_id, None)
        if touch.promotional:
            self.promotional.remove(touch_id)
        if touch.checkin:
            self.checkins.remove(touch_id)
        if touch.announcement:
            self.announcements.remove(touch_id)


class Touch:
    """The facts about one touch the sequential rules need."""

    __slots__ = ("touch_id", "channel", "category", "promotional", "checkin", "announcement",
                 "frequencies")

    def __init__(self, touch_id: str, channel: str, category: str, promotional: bool,
                 checkin: bool, announcement: bool,
                 frequencies: list[tuple[str, int]] | None = None) -> None:
        self.touch_id = touch_id
        self.channel = channel
        self.category = category
        self.promotional = promotional
        self.checkin = checkin
        self.announcement = announcement
        # The contact's preference frequencies for this touch: (channel or "*", days).
        self.frequencies = frequencies or []


# Day-count arrays: the compiled placement pass keeps, per contact and log kind, how many
# touches fall on each day (index = day + base); the rules count windows in them. The last
# cell holds the total, which no day index reaches: a log with fewer touches than a cap in
# all is never counted.

@njit(cache=True)
def record(counts: np.ndarray, day: int) -> None:
    """Count one more touch on day index ``day`` (and in the total)."""
    counts[day] += 1
    counts[len(counts) - 1] += 1


@njit(cache=True)
def unrecord(counts: np.ndarray, day: int) -> None:
    """Count one touch fewer on day index ``day`` (it moved or was left out)."""
    counts[day] -= 1
    counts[len(counts) - 1] -= 1


@njit(cache=True)
def count_in(counts: np.ndarray, first: int, last: int) -> int:
    """Touches from day index ``first`` to ``last`` inclusive."""
    total = 0
    for index in range(first, last + 1):
        total += counts[index]
    return total


@njit(cache=True)
def full_window_start(counts: np.ndarray, day: int, width: int, limit: int) -> int:
    """:meth:`DayLog.window_full` over a day-count array: the start index of the window it
    names, or -1 when one more touch on ``day`` keeps every window within ``limit``."""
    if width <= 0:
        return -1
    if counts[len(counts) - 1] < limit or count_in(counts, day - width + 1,
                                                     day + width - 1) < limit:
        return -1
    running = count_in(counts, day - width + 1, day)
    for start in range(day - width + 1, day + 1):
        if start > day - width + 1:
            running += counts[start + width - 1] - counts[start - 1]
        if counts[start] > 0 and running >= limit:
            return start
    # ``running`` now counts the window starting on ``day``.
    return day if running >= limit else -1


@njit(cache=True)
def nearest_within_index(counts: np.ndarray, day: int, gap: int) -> int:
    """:meth:`DayLog.nearest_within` over a day-count array (-1: none)."""
    if gap <= 0 or counts[len(counts) - 1] == 0:
        return -1
    for index in range(day - gap + 1, day + gap):
        if counts[index] > 0:
            return index
    return -1
