"""Rule 5: spacing — at least a day between two non-transactional touches to one contact,
and never two promotional touches within 7 days (both in policy)."""

from __future__ import annotations

import numpy as np
from numba import njit

from cadence.planner.day_logs import ContactLoad, Touch, nearest_within_index
from cadence.planner.frequency_cap import ALL, PROMOTIONAL
from cadence.planner.policy import Limits

RULE = "5.spacing"
TOUCH_GAP, PROMOTIONAL_GAP = 5, 6  # refusal codes of the compiled pass


def spacing_allows(touch: Touch, day: int, contact: ContactLoad, limits: Limits) -> bool:
    """Whether ``touch`` on ``day`` keeps both gaps, without making the refusal
    (:func:`spacing_refusal` names the gap and the touch too close)."""
    if contact.all.nearest_within(day, limits.min_days_between_touches) is not None:
        return False
    return (not touch.promotional
            or contact.promotional.nearest_within(day, limits.min_days_between_promotional)
            is None)


@njit(cache=True)
def spacing_refusal(counts: np.ndarray, promotional: bool, gap: int, promotional_gap: int,
                    day: int) -> tuple[int, int, int, int, int, int]:
    """Rule 5 over a contact's day counts (``counts[kind, day]``): (code, gap, 0, 0,
    nearest, nearest) for the touch too close, code 0 when far enough."""
    near = nearest_within_index(counts[ALL], day, gap)
    if near >= 0:
        return TOUCH_GAP, gap, 0, 0, near, near
    if promotional:
        near = nearest_within_index(counts[PROMOTIONAL], day, promotional_gap)
        if near >= 0:
            return PROMOTIONAL_GAP, promotional_gap, 0, 0, near, near
    return 0, 0, 0, 0, 0, 0
