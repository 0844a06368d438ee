"""The human-readable side of placement decisions: the detail an analyst reads in
``calendar_decisions`` and the reason in ``communication_calendar``, e.g. "deferred from
Sat 2026-11-28: weekend" or "no allowed slot before latest_at ...; on Tue 2026-11-24:
email cap 2 per 7 days reached (2 already: t_a on 2026-11-24, t_b on 2026-11-26)".

Built column-wise in Arrow from the compact facts the placement pass records (kind,
named day, refusal, the touches it lists), so millions of decisions never become millions
of Python strings.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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
from cadence.planner.load import iso_day
from cadence.planner.promotional_mix import RULE as MIX
from cadence.planner.promotional_mix import SHARE
from cadence.planner.spacing import PROMOTIONAL_GAP, TOUCH_GAP
from cadence.planner.spacing import RULE as SPACING

TEXT = pa.large_string()
RULE_OF_REFUSAL = {CHANNEL_CAP: CAPS, ALL_CHANNEL_CAP: CAPS, PREFERENCE: CAPS,
                   ACCOUNT_CAP: CAPS, TOUCH_GAP: SPACING, PROMOTIONAL_GAP: SPACING,
                   CHECKIN_ON_ANNOUNCEMENT: CONFLICTS, ANNOUNCEMENT_ON_CHECKIN: CONFLICTS,
                   SHARE: MIX}


def join(*parts) -> pa.Array:
    """Element-wise concatenation of Arrow text arrays and literal strings."""
    values = [pa.scalar(p, TEXT) if isinstance(p, str) else p.cast(TEXT) for p in parts]
    return pc.binary_join_element_wise(*values, pa.scalar("", TEXT))


def texts(values) -> pa.Array:
    """Python strings (or None) as an Arrow text array."""
    return pa.array(values, type=TEXT, from_pandas=True)


class DayTexts:
    """"Tue 2026-11-24" and "2026-11-24" of days relative to the plan date, made once per
    distinct day and taken by index."""

    def __init__(self, as_of: date, days: np.ndarray) -> None:
        self.first = int(days.min(initial=0))
        last = int(days.max(initial=0))
        span = [as_of + pd.Timedelta(days=d) for d in range(self.first, last + 1)]
        self.iso = texts([iso_day(as_of, d) for d in range(self.first, last + 1)])
        self.named = texts([f"{day.strftime('%a')} {day.isoformat()}" for day in span])

    def day_text(self, days: np.ndarray) -> pa.Array:
        """E.g. "Tue 2026-11-24"."""
        return self.named.take(pa.array(np.asarray(days, dtype=np.int64) - self.first))

    def iso_text(self, days: np.ndarray) -> pa.Array:
        """E.g. "2026-11-24"."""
        return self.iso.take(pa.array(np.asarray(days, dtype=np.int64) - self.first))


def instant_texts(epoch_s: np.ndarray) -> pa.Array:
    """ISO UTC timestamps of epoch seconds, e.g. "2026-11-25T10:00:00+00:00"."""
    unique, inverse = np.unique(epoch_s, return_inverse=True)
    made = texts([datetime.fromtimestamp(int(s), UTC).isoformat() for s in unique])
    return made.take(pa.array(inverse.astype(np.int64)))


def refusal_rules(blocks: np.ndarray) -> np.ndarray:
    """The rule each refusal belongs to."""
    codes = blocks[:, 0]
    rules = np.empty(len(codes), dtype=object)
    for code, rule in RULE_OF_REFUSAL.items():
        rules[codes == code] = rule
    return rules


def describe_refusals(blocks: np.ndarray, listed_start: np.ndarray, listed_touch: pa.Array,
                      listed_day: np.ndarray, context: pd.DataFrame,
                      days: DayTexts) -> pa.Array:
    """What each refusal reached and the touches that reached it, e.g. "email cap 2 per
    7 days reached (2 already: t_a on 2026-11-24, t_b on 2026-11-26)".

    ``context`` has one row per refusal: ``category`` and ``preference_channel`` (the
    touch's category and the preference's channel, "*" for any) and ``max_share``.
    """
    facts = pd.DataFrame({"code": blocks[:, 0], "a": blocks[:, 1], "b": blocks[:, 2],
                          "c": blocks[:, 3]})
    facts["category"] = np.where(facts["code"] == PREFERENCE, context["category"], "")
    facts["preference_channel"] = np.where(facts["code"] == PREFERENCE,
                                           context["preference_channel"], "")
    facts["max_share"] = np.where(facts["code"] == SHARE, context["max_share"], 0.0)
    kinds = facts.groupby(list(facts.columns), sort=False, dropna=False).ngroup().to_numpy()
    unique = facts.drop_duplicates()
    what = texts([_what(row) for row in unique.itertuples(index=False)])
    what = what.take(pa.array(kinds.astype(np.int64)))

    entries = join(listed_touch, " on ", days.iso_text(listed_day))
    lists = pa.LargeListArray.from_arrays(pa.array(listed_start, type=pa.int64()), entries)
    how_many = np.diff(listed_start)
    listed = join(texts(how_many.astype(str)), " already: ",
                  pc.binary_join(lists, pa.scalar(", ", TEXT)))
    return pc.if_else(pa.array(how_many > 0), join(what, " (", listed, ")"), what)


def _what(row) -> str:
    # The refusal's own words, as the rule modules' Python blocks say them.
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


def scattered(n: int, pieces: list[tuple[np.ndarray, pa.Array]]) -> pa.Array:
    """One text column of ``n`` rows from (rows, values) pieces; rows in no piece are null."""
    covered = np.zeros(n, dtype=bool)
    for rows, _ in pieces:
        covered[rows] = True
    missing = np.flatnonzero(~covered)
    rows = np.concatenate([r for r, _ in pieces] + [missing]).astype(np.int64)
    values = pa.concat_arrays([v.cast(TEXT) for _, v in pieces]
                              + [pa.nulls(len(missing), TEXT)])
    inverse = np.empty(n, dtype=np.int64)
    inverse[rows] = np.arange(n)
    return values.take(pa.array(inverse))
