"""Rule 4: frequency caps per contact and per account, counting sent and scheduled touches.

Email <= 2 per rolling 7 days and <= 8 per 30; in-app <= 1 a day; sms <= 1 per 7 days;
all channels <= 3 per 7 days; the contact's preference frequency per category wins when
stricter; an account's contacts together <= 10 per 7 days. Limits come from the policy
with per-tier overrides.
"""

from __future__ import annotations

from cadence.planner.load import Block, ContactLoad, DayLog, Touch
from cadence.planner.policy import Limits

RULE = "4.frequency_cap"


def channel_caps(limits: Limits) -> dict[str, list[tuple[int, int]]]:
    """Per channel the (window days, most touches) caps of ``limits``."""
    return {
        "email": [(7, limits.email_per_7_days), (30, limits.email_per_30_days)],
        "in_app": [(1, limits.in_app_per_day)],
        "sms": [(7, limits.sms_per_7_days)],
    }


def cap_block(touch: Touch, day: int, contact: ContactLoad, account: DayLog,
              limits: Limits, caps: dict[str, list[tuple[int, int]]]) -> Block | None:
    """Why one more touch on ``day`` would break a cap, or None when it fits."""
    return (contact_cap_block(touch, day, contact, limits, caps)
            or account_cap_block(day, account, limits))


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


def account_cap_block(day: int, account: DayLog, limits: Limits) -> Block | None:
    """Why one more touch on ``day`` would break the account's cap, or None."""
    full = account.window_full(day, 7, limits.account_per_7_days)
    if full is not None:
        cap = limits.account_per_7_days
        return RULE, f"account cap {cap} per 7 days reached", account, *full
    return None


def _days(width: int) -> str:
    return "day" if width == 1 else f"{width} days"
