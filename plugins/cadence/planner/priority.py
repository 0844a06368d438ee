"""Rule 10: the order in which competing touches are served — higher candidate priority
first (transactional > operational critical > renewal > relationship (human) > at_risk
support > educational > promotional, as numbers from the candidates), ties by earlier
latest_at, then higher account ARR, then touch_id."""

from __future__ import annotations

import numpy as np


def priority_rank(priority: np.ndarray, latest_s: np.ndarray, arr: np.ndarray) -> np.ndarray:
    """Rank of each touch (0 = served first). Rows must already be sorted by touch_id, so
    the row position is the final tie-break."""
    # lexsort is stable, so the row position needs no key of its own; priority and
    # latest_at fold into one int64 key (one fewer lexsort pass) unless it would overflow.
    top = int(priority.max(initial=0))
    first, last = int(latest_s.min(initial=0)), int(latest_s.max(initial=0))
    span = last - first + 1
    if (top - int(priority.min(initial=0)) + 1) * span < np.iinfo(np.int64).max:
        order = np.lexsort((-arr, (top - priority) * span + (latest_s - first)))
    else:
        order = np.lexsort((-arr, latest_s, -priority))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank
