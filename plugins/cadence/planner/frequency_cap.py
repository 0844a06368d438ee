"""Rule 4: frequency caps per contact and per account, counting sent and scheduled touches.

Email <= 2 per rolling 7 days and <= 8 per 30; in-app <= 1 a day; sms <= 1 per 7 days;
all channels <= 3 per 7 days; the contact's preference frequency per category wins when
stricter; an account's contacts together <= 10 per 7 days. Limits come from the policy
with per-tier overrides.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from cadence.planner.day_logs import Block, ContactLoad, DayLog, Touch, full_window_start
from cadence.planner.policy import Limits

RULE = "4.frequency_cap"
# Refusal codes of the compiled pass (see :func:`contact_cap_refusal`).
CHANNEL_CAP, ALL_CHANNEL_CAP, PREFERENCE, ACCOUNT_CAP = 1, 2, 3, 4
# Day-count kinds of a contact: all, promotional, check-ins, announcements, then the
# capped channels in CAPPED_CHANNELS order.
ALL, PROMOTIONAL, CHECKINS, ANNOUNCEMENTS, FIRST_CHANNEL = 0, 1, 2, 3, 4
CAPPED_CHANNELS = ("email", "in_app", "sms")


def channel_caps(limits: Limits) -> dict[str, list[tuple[int, int]]]:
    """Per channel the (window days, most touches) caps of ``limits``."""
    return {
        "email": [(7, limits.email_per_7_days), (30, limits.email_per_30_days)],
        "in_app": [(1, limits.in_app_per_day)],
        "sms": [(7, limits.sms_per_7_days)],
    }


def contact_cap_block(touch: Touch, day: int, contact: ContactLoad, limits: Limits,
                      caps: dict[str, list[tuple[int, int]]]) -> Block | None:
    """Why one more touch on ``day`` would break one of the contact's caps, or None."""
    of_channel = caps.get(touch.channel)
    if of_channel:
        log = contact.channel(touch.channel)
        for width, limit in of_channel:
            full = log.window_full(day, width, limit)
            if full is not None:
                return RULE, f"{touch.channel} cap {limit} per {_days(width)} reached", log, *full
    full = contact.all.window_full(day, 7, limits.all_channels_per_7_days)
    if full is not None:
        cap = limits.all_channels_per_7_days
        return RULE, f"all-channel cap {cap} per 7 days reached", contact.all, *full
    for channel, width in touch.frequencies:
        log = contact.category(touch.category, channel)
        full = log.window_full(day, width, 1)
        if full is not None:
            scope = touch.category if channel == "*" else f"{touch.category} {channel}"
            return RULE, f"contact prefers {scope} at most once per {_days(width)}", log, *full
    return None


def account_has_room(day: int, account: DayLog, limits: Limits) -> bool:
    """Whether the account's cap allows one more touch on ``day`` (no refusal text made)."""
    return account.window_full(day, 7, limits.account_per_7_days) is None


def _days(width: int) -> str:
    return "day" if width == 1 else f"{width} days"


def channel_cap_table(limits: Limits) -> np.ndarray:
    """``channel_caps`` as an array [capped channel, cap, (width, limit)]; width 0: none."""
    table = np.zeros((len(CAPPED_CHANNELS), 2, 2), dtype=np.int64)
    for slot, channel in enumerate(CAPPED_CHANNELS):
        for k, (width, limit) in enumerate(channel_caps(limits)[channel]):
            table[slot, k] = width, limit
    return table


@njit(cache=True)
def contact_cap_refusal(counts: np.ndarray, slot: int, caps: np.ndarray, all_limit: int,
                        preference_counts: np.ndarray, preference_widths: np.ndarray,
                        day: int) -> tuple[int, int, int, int, int, int]:
    """:func:`contact_cap_block` over a contact's day counts (``counts[kind, day]``):
    (code, a, b, c, first, last) with code 0 when every cap holds. ``slot`` is the capped
    channel (-1: none); ``preference_counts[k]`` counts the log of the k-th preference."""
    if slot >= 0:
        for k in range(caps.shape[1]):
            width, limit = caps[slot, k, 0], caps[slot, k, 1]
            start = full_window_start(counts[FIRST_CHANNEL + slot], day, width, limit)
            if start >= 0:
                return CHANNEL_CAP, slot, limit, width, start, start + width - 1
    start = full_window_start(counts[ALL], day, 7, all_limit)
    if start >= 0:
        return ALL_CHANNEL_CAP, all_limit, 0, 7, start, start + 6
    for k in range(len(preference_widths)):
        width = preference_widths[k]
        start = full_window_start(preference_counts[k], day, width, 1)
        if start >= 0:
            return PREFERENCE, k, 1, width, start, start + width - 1
    return 0, 0, 0, 0, 0, 0


@njit(cache=True)
def account_cap_refusal(account_counts: np.ndarray, limit: int,
                        day: int) -> tuple[int, int, int, int, int, int]:
    """:func:`account_has_room` over the account's day counts, naming the full 7-day
    window: (ACCOUNT_CAP, limit, 0, 7, first, last), code 0 when there is room."""
    start = full_window_start(account_counts, day, 7, limit)
    if start >= 0:
        return ACCOUNT_CAP, limit, 0, 7, start, start + 6
    return 0, 0, 0, 0, 0, 0
