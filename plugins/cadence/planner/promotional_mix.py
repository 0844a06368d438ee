"""Rule 7: promotional touches are at most a share (20%) of a contact's non-transactional
touches over 30 days.

Measured over the window of ``promotional_share_window_days`` ending on each promotional
touch: a new promotional touch must keep its own window and the windows of the later
promotional touches it falls into within the share.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from cadence.planner.day_logs import Block, ContactLoad, Touch, count_in
from cadence.planner.frequency_cap import ALL, PROMOTIONAL
from cadence.planner.policy import Limits

RULE = "7.promotional_mix"
SHARE = 9  # refusal code of the compiled pass


def mix_block(touch: Touch, day: int, contact: ContactLoad, limits: Limits) -> Block | None:
    """Why one more promotional touch on ``day`` would exceed the share, or None."""
    if not touch.promotional:
        return None
    width = limits.promotional_share_window_days
    later = [d for d, _ in contact.promotional.between(day, day + width - 1)]
    for end in [day, *later]:
        start = end - width + 1
        promotional = contact.promotional.count(start, end) + 1
        total = contact.all.count(start, end) + 1
        if promotional > limits.promotional_max_share * total:
            share = f"{limits.promotional_max_share:.0%}"
            return (RULE, f"promotional share would be {promotional} of {total} touches "
                          f"in {width} days (limit {share})",
                    contact.promotional, start, end)
    return None


def mix_exceeded(contact: ContactLoad, limits: Limits) -> list[str]:
    """Promotional touches whose window is over the share (after touches were removed),
    latest first, so dropping them in order restores the rule."""
    width = limits.promotional_share_window_days
    over = []
    for end, touch_id in reversed(contact.promotional.between(-10**9, 10**9)):
        promotional = contact.promotional.count(end - width + 1, end)
        total = contact.all.count(end - width + 1, end)
        if promotional > limits.promotional_max_share * total:
            over.append(touch_id)
    return over


@njit(cache=True)
def mix_refusal(counts: np.ndarray, promotional: bool, width: int, max_share: float,
                day: int) -> tuple[int, int, int, int, int, int]:
    """:func:`mix_block` over a contact's day counts: (SHARE, promotional, total, width,
    first, last) of the first window over the share, code 0 when none is."""
    if not promotional:
        return 0, 0, 0, 0, 0, 0
    for end in range(day, day + width):
        # The touch's own window, then the window of every later promotional touch.
        if end > day and counts[PROMOTIONAL, end] == 0:
            continue
        start = end - width + 1
        share = count_in(counts[PROMOTIONAL], start, end) + 1
        total = count_in(counts[ALL], start, end) + 1
        if share > max_share * total:
            return SHARE, share, total, width, start, end
    return 0, 0, 0, 0, 0, 0
