"""Rule 10: the order in which competing touches are served — higher candidate priority
first (transactional > operational critical > renewal > relationship (human) > at_risk
support > educational > promotional, as numbers from the candidates), ties by earlier
latest_at, then higher account ARR, then touch_id."""

from __future__ import annotations

import numpy as np


def priority_rank(priority: np.ndarray, latest_s: np.ndarray, arr: np.ndarray) -> np.ndarray:
    """Rank of each touch (0 = served first). Rows must already be sorted by touch_id, so
    the row position is the final tie-break."""
    order = np.lexsort((np.arange(len(priority)), -arr, latest_s, -priority))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank
