"""The planner's fast building blocks answer exactly like their plain definitions: a day log
names the same full cap window as counting every window (also after it changes), the
compiled pass's day counts answer like the day log, and the Arrow membership and order
tests agree with pandas and Python."""

from __future__ import annotations

from bisect import bisect_left, bisect_right

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from cadence.planner.day_logs import DayLog, full_window_start, nearest_within_index, record
from cadence.planner.membership import is_in, positions, strictly_increasing


def full_window_by_counting(days: list[int], day: int, width: int,
                            limit: int) -> tuple[int, int] | None:
    """The definition: the earliest window start (a touch or ``day``) whose window holds
    ``day`` and would hold more than ``limit`` touches with one more on ``day``."""
    if width <= 0:
        return None
    merged = sorted([*days, day])
    for start in merged:
        if day - width + 1 <= start <= day:
            inside = bisect_right(merged, start + width - 1) - bisect_left(merged, start)
            if inside > limit:
                return start, start + width - 1
    return None


@settings(max_examples=300, deadline=None)
@given(days=st.lists(st.integers(-40, 40), max_size=25), day=st.integers(-45, 45),
       width=st.integers(0, 31), limit=st.integers(0, 6), later=st.integers(-40, 40))
def test_full_window_is_the_one_counting_finds(days, day, width, limit, later):
    log = DayLog()
    for n, d in enumerate(days):
        log.add(d, f"t{n}")
    assert log.window_full(day, width, limit) == full_window_by_counting(days, day, width,
                                                                         limit)
    # asked again after the log changed, the answer follows the change
    log.add(later, "late")
    assert log.window_full(day, width, limit) == full_window_by_counting(
        [*days, later], day, width, limit)
    log.remove("late")
    assert log.window_full(day, width, limit) == full_window_by_counting(days, day, width,
                                                                         limit)


@settings(max_examples=300, deadline=None)
@given(days=st.lists(st.integers(-40, 40), max_size=25), day=st.integers(-45, 45),
       width=st.integers(0, 31), limit=st.integers(0, 6), gap=st.integers(0, 8))
def test_day_counts_answer_like_the_day_log(days, day, width, limit, gap):
    # The compiled pass counts per day instead of keeping sorted days: same answers.
    base = 80
    counts = np.zeros(2 * base + 2, dtype=np.int32)
    log = DayLog()
    for n, d in enumerate(days):
        record(counts, d + base)
        log.add(d, f"t{n}")
    start = full_window_start(counts, day + base, width, limit)
    expected = log.window_full(day, width, limit)
    assert (None if start < 0 else (start - base, start - base + width - 1)) == expected
    near = nearest_within_index(counts, day + base, gap)
    assert (None if near < 0 else near - base) == log.nearest_within(day, gap)


ids = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", "é"]))


@settings(max_examples=100, deadline=None)
@given(values=st.lists(ids, max_size=12), members=st.lists(ids, max_size=6))
def test_membership_agrees_with_pandas(values, members):
    column = pd.Series(values, dtype=object)
    expected = column.isin(members).to_numpy()
    assert is_in(column, members).tolist() == expected.tolist()
    assert is_in(column, set(members)).tolist() == expected.tolist()
    keys = list(dict.fromkeys(m for m in members if m is not None))
    where = {key: n for n, key in enumerate(keys)}
    expected_at = [where.get(v, -1) if v is not None else -1 for v in values]
    assert positions(column, pd.Series(keys, dtype=object)).tolist() == expected_at


@settings(max_examples=100, deadline=None)
@given(values=st.lists(ids, max_size=8))
def test_strictly_increasing_agrees_with_a_sort(values):
    for column in (pd.Series(values, dtype=object), pd.Series(values, dtype="str")):
        present = column.dropna().tolist()
        expected = (len(present) == len(column)
                    and all(a < b for a, b in zip(present, present[1:], strict=False)))
        assert strictly_increasing(column) == expected


def test_membership_of_large_id_columns():
    column = pd.Series([f"t{i}" for i in range(50_000)])
    members = pd.Series([f"t{i}" for i in range(0, 100_000, 2)])
    assert int(is_in(column, members).sum()) == 25_000
    at = positions(column, members)
    assert at[:4].tolist() == [0, -1, 1, -1] and isinstance(at, np.ndarray)
