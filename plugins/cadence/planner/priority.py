"""Rule 10: the order in which competing touches are served — higher candidate priority
first (transactional > operational critical > renewal > relationship (human) > at_risk
support > educational > promotional, as numbers from the candidates), ties by earlier
latest_at, then higher account ARR, then touch_id."""

from __future__ import annotations

import numpy as np


def priority_rank(priority: np.ndarray, latest_s: np.ndarray, arr: np.ndarray) -> np.ndarray:
    """Rank of each touch (0 = served first). Rows must already be sorted by touch_id, so
    the row position is the final tie-break."""
    # One int64 key per row (priority, latest_at, ARR rank, row) sorts in a fraction of a
    # four-key lexsort; being unique, it needs no stable sort. Too wide a key falls back.
    n = len(priority)
    top = int(priority.max(initial=0))
    first, last = int(latest_s.min(initial=0)), int(latest_s.max(initial=0))
    span = last - first + 1
    arr_values, arr_rank = np.unique(-arr, return_inverse=True)
    width = (top - int(priority.min(initial=0)) + 1) * span * max(len(arr_values), 1) * n
    if width < np.iinfo(np.int64).max:
        key = (top - priority) * span + (latest_s - first)
        order = np.argsort((key * len(arr_values) + arr_rank) * n + np.arange(n))
    else:
        order = np.lexsort((np.arange(n), -arr, latest_s, -priority))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    return rank
