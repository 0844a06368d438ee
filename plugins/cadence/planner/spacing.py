"""Rule 5: spacing — at least a day between two non-transactional touches to one contact,
and never two promotional touches within 7 days (both in policy)."""

from __future__ import annotations

from cadence.planner.load import Block, ContactLoad, Touch
from cadence.planner.policy import Limits

RULE = "5.spacing"


def spacing_allows(touch: Touch, day: int, contact: ContactLoad, limits: Limits) -> bool:
    """Whether ``spacing_block`` is None, without making the refusal text."""
    if contact.all.nearest_within(day, limits.min_days_between_touches) is not None:
        return False
    return (not touch.promotional
            or contact.promotional.nearest_within(day, limits.min_days_between_promotional)
            is None)


def spacing_block(touch: Touch, day: int, contact: ContactLoad, limits: Limits) -> Block | None:
    """Why a touch on ``day`` would come too close to another, or None."""
    near = contact.all.nearest_within(day, limits.min_days_between_touches)
    if near is not None:
        gap = limits.min_days_between_touches
        return RULE, f"needs {gap} day(s) between touches to a contact", contact.all, near, near
    if touch.promotional:
        gap = limits.min_days_between_promotional
        near = contact.promotional.nearest_within(day, gap)
        if near is not None:
            return (RULE, f"needs {gap} days between promotional touches",
                    contact.promotional, near, near)
    return None
