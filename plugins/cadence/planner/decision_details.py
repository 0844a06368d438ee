"""The human-readable side of placement decisions: the detail an analyst reads in
``calendar_decisions`` and the reason in ``communication_calendar``, e.g. "deferred from
Sat 2026-11-28: weekend" or "no allowed slot before latest_at ...; on Tue 2026-11-24:
email cap 2 per 7 days reached (2 already: t_a on 2026-11-24, t_b on 2026-11-26)".

The placement pass records compact facts per touch (how it was decided, the day named,
the refusal and the touches it lists); :func:`write_texts` (compiled) writes every text
of a column straight into one Arrow string buffer from small tables of the distinct
pieces (day names, timestamps, reasons, touch ids), so millions of decisions never become
millions of Python strings or intermediate columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
from numba import njit

from cadence.planner.conflicts import ANNOUNCEMENT_ON_CHECKIN, CHECKIN_ON_ANNOUNCEMENT
from cadence.planner.conflicts import RULE as CONFLICTS
from cadence.planner.frequency_cap import (
    ACCOUNT_CAP,
    ALL_CHANNEL_CAP,
    CAPPED_CHANNELS,
    CHANNEL_CAP,
    PREFERENCE,
)
from cadence.planner.frequency_cap import RULE as CAPS
from cadence.planner.placement import (
    DEFERRED_BY_CONFLICT,
    DEFERRED_BY_RULE,
    DEFERRED_BY_TIMING,
    DROPPED_REFUSED,
    NO_ALLOWED_DAY,
    SCHEDULED,
    WINDOW_CLOSED,
)
from cadence.planner.promotional_mix import RULE as MIX
from cadence.planner.promotional_mix import SHARE
from cadence.planner.spacing import PROMOTIONAL_GAP, TOUCH_GAP
from cadence.planner.spacing import RULE as SPACING

TEXT = pa.large_string()
RULE_OF_REFUSAL = {CHANNEL_CAP: CAPS, ALL_CHANNEL_CAP: CAPS, PREFERENCE: CAPS,
                   ACCOUNT_CAP: CAPS, TOUCH_GAP: SPACING, PROMOTIONAL_GAP: SPACING,
                   CHECKIN_ON_ANNOUNCEMENT: CONFLICTS, ANNOUNCEMENT_ON_CHECKIN: CONFLICTS,
                   SHARE: MIX}
GIVEN = -1  # a row whose text a vectorized rule gave (eligibility, dedup, bypass, ...)

# The literal pieces of the texts, by position (see _write_row).
LITERALS = ["no allowed slot before latest_at ", "; on ", ": ",
            "window closed: no business-hours slot before latest_at ", "; ",
            "no allowed day from ", " to ", " (latest_at ", "): ", "first allowed slot ",
            "deferred from ", "; planned ", " ", " (", " already: ", " on ", ", ", ")"]
(_SLOT_BEFORE, _ON_DAY, _COLON, _WINDOW_CLOSED, _SEMICOLON, _NO_DAY_FROM, _TO, _LATEST,
 _CLOSE_COLON, _FIRST_SLOT, _DEFERRED_FROM, _PLANNED, _SPACE, _OPEN, _ALREADY, _ON, _COMMA,
 _CLOSE) = range(len(LITERALS))
_LOW_CSAT = len(LITERALS)  # the policy's low-CSAT wait, appended to the literals


def texts(values) -> pa.Array:
    """Python strings (or None) as an Arrow text array."""
    return pa.array(values, type=TEXT, from_pandas=True)


def table(values) -> tuple[np.ndarray, np.ndarray]:
    """(bytes, offsets) of Arrow or Python texts: the k-th is bytes[offsets[k]:offsets[k+1]]."""
    array = values if isinstance(values, pa.Array) else texts(values)
    array = array.cast(TEXT).fill_null("")
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    _, offsets, data = array.buffers()
    offsets = np.frombuffer(offsets, dtype=np.int64)[array.offset:array.offset + len(array) + 1]
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return data, offsets


def day_tables(as_of: date, first: int, last: int) -> tuple[tuple, tuple]:
    """("Tue 2026-11-24", "2026-11-24") tables of days ``first`` to ``last`` (index: day -
    first), relative to the plan date."""
    span = [as_of + timedelta(days=d) for d in range(first, last + 1)]
    return (table([f"{day.strftime('%a')} {day.isoformat()}" for day in span]),
            table([day.isoformat() for day in span]))


def instant_table(epoch_s: np.ndarray) -> tuple[tuple, np.ndarray]:
    """A table of the distinct ISO UTC timestamps ("2026-11-25T10:00:00+00:00") of epoch
    seconds, and each one's index in it."""
    unique, inverse = np.unique(epoch_s, return_inverse=True)
    return (table([datetime.fromtimestamp(int(s), UTC).isoformat() for s in unique]),
            inverse.astype(np.int64))


def clock_table(minute_of_day: np.ndarray) -> tuple[tuple, np.ndarray]:
    """A table of the distinct "HH:MM" of minutes of the day, and each one's index."""
    unique, inverse = np.unique(minute_of_day, return_inverse=True)
    return (table([f"{m // 60:02d}:{m % 60:02d}" for m in unique.tolist()]),
            inverse.astype(np.int64))


def refusal_rules(blocks: np.ndarray) -> np.ndarray:
    """The rule each refusal belongs to."""
    codes = blocks[:, 0]
    rules = np.empty(len(codes), dtype=object)
    for code, rule in RULE_OF_REFUSAL.items():
        rules[codes == code] = rule
    return rules


def refusal_whats(blocks: np.ndarray, context: pd.DataFrame) -> tuple[tuple, np.ndarray]:
    """What each refusal reached, e.g. "email cap 2 per 7 days reached": a table of the
    distinct texts and each refusal's index in it.

    ``context`` has one row per refusal: ``category`` and ``preference_channel`` (the
    touch's category and the preference's channel, "*" for any) and ``max_share``.
    """
    facts = pd.DataFrame({"code": blocks[:, 0], "a": blocks[:, 1], "b": blocks[:, 2],
                          "c": blocks[:, 3]})
    preference = (facts["code"] == PREFERENCE).to_numpy()
    facts["category"] = np.where(preference, context["category"], "")
    facts["preference_channel"] = np.where(preference, context["preference_channel"], "")
    facts["max_share"] = np.where(facts["code"] == SHARE, context["max_share"], 0.0)
    kinds = facts.groupby(list(facts.columns), sort=False, dropna=False).ngroup().to_numpy()
    unique = facts.drop_duplicates()
    return table([_what(row) for row in unique.itertuples(index=False)]), kinds.astype(np.int64)


def _what(row) -> str:
    # The refusal's own words, as the rule modules' blocks say them.
    code = row.code
    if code == CHANNEL_CAP:
        return f"{CAPPED_CHANNELS[row.a]} cap {row.b} per {_days(row.c)} reached"
    if code == ALL_CHANNEL_CAP:
        return f"all-channel cap {row.a} per 7 days reached"
    if code == PREFERENCE:
        channel = row.preference_channel
        scope = row.category if channel == "*" else f"{row.category} {channel}"
        return f"contact prefers {scope} at most once per {_days(row.c)}"
    if code == ACCOUNT_CAP:
        return f"account cap {row.a} per 7 days reached"
    if code == TOUCH_GAP:
        return f"needs {row.a} day(s) between touches to a contact"
    if code == PROMOTIONAL_GAP:
        return f"needs {row.a} days between promotional touches"
    if code == CHECKIN_ON_ANNOUNCEMENT:
        return "no CSM check-in on the day of a major product announcement"
    if code == ANNOUNCEMENT_ON_CHECKIN:
        return "a CSM check-in is planned that day for the contact"
    share = f"{row.max_share:.0%}"
    return (f"promotional share would be {row.a} of {row.b} touches in {row.c} days "
            f"(limit {share})")


def _days(width: int) -> str:
    return "day" if width == 1 else f"{width} days"


@dataclass
class Placed:
    """Per row of a text column: how it was decided (a placement kind or GIVEN) and the
    facts its text names; days are relative to the plan date."""

    form: np.ndarray
    given: np.ndarray  # index into the given texts (GIVEN rows)
    planned: np.ndarray  # append "; planned <day> <HH:MM> <zone>"
    day: np.ndarray
    named: np.ndarray
    first: np.ndarray
    last: np.ndarray
    wanted: np.ndarray  # the window's start before a low-CSAT ticket moved it
    delayed: np.ndarray
    latest: np.ndarray  # index into the latest_at table
    why: np.ndarray  # index into the timing reasons table
    block: np.ndarray  # index into the refusals
    clock: np.ndarray  # index into the clock table (planned rows)
    zone: np.ndarray  # index into the zone table (planned rows)
    prefix: np.ndarray  # index into the prefix table written first, -1: none


def write_texts(rows: Placed, given: tuple, refusals: tuple, tables: dict,
                day_first: int, low_csat: str) -> pa.Array:
    """One Arrow text per row of ``rows``.

    ``refusals`` is (what index per refusal, listed_start, listed_ref, listed_day);
    ``tables`` holds (bytes, offsets) tables "named_day", "iso_day", "latest", "why",
    "what", "touch_id" (indexed by listed_ref), "clock", "zone" and "prefix".
    """
    literals = table([*LITERALS, low_csat])
    what_index, listed_start, listed_ref, listed_day = refusals
    offsets, data = _write_all(
        rows.form, rows.given, rows.planned, rows.day, rows.named, rows.first, rows.last,
        rows.wanted, rows.delayed, rows.latest, rows.why, rows.block, rows.clock, rows.zone,
        what_index, listed_start, listed_ref, listed_day, day_first, rows.prefix, *literals,
        *given, *tables["named_day"], *tables["iso_day"], *tables["latest"], *tables["why"],
        *tables["what"], *tables["touch_id"], *tables["clock"], *tables["zone"],
        *tables["prefix"])
    return pa.LargeStringArray.from_buffers(len(rows.form), pa.py_buffer(offsets),
                                            pa.py_buffer(data))


@njit(cache=True)
def _put(buffer, at, data, offsets, k):
    # Byte by byte: the pieces are a few bytes long, where a slice copy costs more.
    start, end = offsets[k], offsets[k + 1]
    for b in range(start, end):
        buffer[at] = data[b]
        at += 1
    return at


@njit(cache=True)
def _put_int(buffer, at, value):
    digits = 1
    rest = value // 10
    while rest:
        digits += 1
        rest //= 10
    for k in range(digits - 1, -1, -1):
        buffer[at + k] = 48 + value % 10
        value //= 10
    return at + digits


@njit(cache=True)
def _longest(offsets):
    return np.max(np.diff(offsets)) if len(offsets) > 1 else 0


@njit(cache=True)
def _length(offsets, k):
    return offsets[k + 1] - offsets[k]


@njit(cache=True)
def _write_all(form, given_index, planned, day, named, first, last, wanted, delayed, latest,
               why, block, clock, zone, what_index, listed_start, listed_ref, listed_day,
               day_first, prefix, lit, lit_at, given, given_at, named_day, named_day_at,
               iso_day, iso_day_at, latest_text, latest_at, why_text, why_at, what, what_at,
               touch_id, touch_id_at, clock_text, clock_at, zone_text, zone_at, prefix_text,
               prefix_at):
    n = len(form)
    offsets = np.zeros(n + 1, dtype=np.int64)
    # Room for any row but its listed touches, and for each listed touch.
    longest = 0
    for text_offsets in (lit_at, named_day_at, latest_at, why_at, what_at, clock_at,
                         zone_at, prefix_at):
        longest += 2 * _longest(text_offsets)
    per_listed = _longest(touch_id_at) + _longest(iso_day_at) + 8
    out = np.empty(max(n * 128 + len(listed_ref) * per_listed, 64), dtype=np.uint8)
    at = 0
    for r in range(n):
        kind = form[r]
        room = at + longest + _length(given_at, given_index[r]) + 24
        if kind in (DROPPED_REFUSED, DEFERRED_BY_RULE):
            b = block[r]
            room += per_listed * (listed_start[b + 1] - listed_start[b])
        if room > len(out):
            bigger = np.empty(max(room, 2 * len(out)), dtype=np.uint8)
            bigger[:at] = out[:at]
            out = bigger
        if prefix[r] >= 0:
            at = _put(out, at, prefix_text, prefix_at, prefix[r])
        if kind == GIVEN:
            at = _put(out, at, given, given_at, given_index[r])
        elif kind == DROPPED_REFUSED:
            at = _put(out, at, lit, lit_at, _SLOT_BEFORE)
            at = _put(out, at, latest_text, latest_at, latest[r])
            at = _put(out, at, lit, lit_at, _ON_DAY)
            at = _put(out, at, named_day, named_day_at, named[r] - day_first)
            at = _put(out, at, lit, lit_at, _COLON)
        elif kind == WINDOW_CLOSED:
            at = _put(out, at, lit, lit_at, _WINDOW_CLOSED)
            at = _put(out, at, latest_text, latest_at, latest[r])
        elif kind == NO_ALLOWED_DAY:
            at = _put(out, at, lit, lit_at, _NO_DAY_FROM)
            at = _put(out, at, named_day, named_day_at, first[r] - day_first)
            at = _put(out, at, lit, lit_at, _TO)
            at = _put(out, at, named_day, named_day_at, last[r] - day_first)
            at = _put(out, at, lit, lit_at, _LATEST)
            at = _put(out, at, latest_text, latest_at, latest[r])
            at = _put(out, at, lit, lit_at, _CLOSE_COLON)
            at = _put(out, at, why_text, why_at, why[r])
        elif kind == SCHEDULED:
            at = _put(out, at, lit, lit_at, _FIRST_SLOT)
            at = _put(out, at, named_day, named_day_at, day[r] - day_first)
        else:
            at = _put(out, at, lit, lit_at, _DEFERRED_FROM)
            since = wanted[r] if kind == DEFERRED_BY_CONFLICT else named[r]
            at = _put(out, at, named_day, named_day_at, since - day_first)
            at = _put(out, at, lit, lit_at, _COLON)
            if kind == DEFERRED_BY_TIMING:
                at = _put(out, at, why_text, why_at, why[r])
            elif kind == DEFERRED_BY_CONFLICT:
                at = _put(out, at, lit, lit_at, _LOW_CSAT)
        if kind in (DROPPED_REFUSED, DEFERRED_BY_RULE):
            b = block[r]
            at = _put(out, at, what, what_at, what_index[b])
            listed = listed_start[b + 1] - listed_start[b]
            if listed:
                at = _put(out, at, lit, lit_at, _OPEN)
                at = _put_int(out, at, listed)
                at = _put(out, at, lit, lit_at, _ALREADY)
                for e in range(listed_start[b], listed_start[b + 1]):
                    if e > listed_start[b]:
                        at = _put(out, at, lit, lit_at, _COMMA)
                    at = _put(out, at, touch_id, touch_id_at, listed_ref[e])
                    at = _put(out, at, lit, lit_at, _ON)
                    at = _put(out, at, iso_day, iso_day_at, listed_day[e] - day_first)
                at = _put(out, at, lit, lit_at, _CLOSE)
        if (kind in (WINDOW_CLOSED, NO_ALLOWED_DAY)) and delayed[r]:
            at = _put(out, at, lit, lit_at, _SEMICOLON)
            at = _put(out, at, lit, lit_at, _LOW_CSAT)
        if planned[r]:
            at = _put(out, at, lit, lit_at, _PLANNED)
            at = _put(out, at, named_day, named_day_at, day[r] - day_first)
            at = _put(out, at, lit, lit_at, _SPACE)
            at = _put(out, at, clock_text, clock_at, clock[r])
            at = _put(out, at, lit, lit_at, _SPACE)
            at = _put(out, at, zone_text, zone_at, zone[r])
        offsets[r + 1] = at
    return offsets, out[:at]
