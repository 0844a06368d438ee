"""Rule 6: conflicts — no promotional touch to an at_risk account, during an open P1
ticket, or within 3 days after a ticket closed with CSAT <= 2; no CSM check-in on the day
of a major product announcement to the same contact.

The account-level conflicts are vectorized over all candidates; the announcement clash is
checked while placing touches, since it depends on what else the contact gets that day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

from cadence.planner.day_logs import Block, ContactLoad, Touch
from cadence.planner.frequency_cap import ANNOUNCEMENTS, CHECKINS
from cadence.planner.policy import Conflicts

RULE = "6.conflicts"
CHECKIN_ON_ANNOUNCEMENT, ANNOUNCEMENT_ON_CHECKIN = 7, 8  # codes of the compiled pass


def promotional_conflicts(candidates: pd.DataFrame, promotional: np.ndarray,
                          segments: pd.DataFrame, tickets: pd.DataFrame,
                          conflicts: Conflicts) -> tuple[np.ndarray, np.ndarray]:
    """For each candidate: why a promotional touch may not go at all (object array, None
    when it may), and the earliest moment it may go after a low-CSAT ticket (datetime64
    UTC, NaT when unconstrained)."""
    n = len(candidates)
    why = np.full(n, None, dtype=object)
    not_before = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    if n == 0 or not promotional.any():
        return why, not_before
    accounts = candidates["account_id"].to_numpy(dtype=object)

    at_risk = set(segments.loc[segments["segment_key"] == "at_risk", "account_id"])
    mask = promotional & pd.Series(accounts).isin(at_risk).to_numpy()
    why[mask] = "no promotional touch to an at_risk account"

    if len(tickets):
        priority = tickets["priority"].astype("string").str.lower()
        open_p1 = tickets[(priority == "p1") & tickets["closed_at"].isna()]
        if len(open_p1):
            # An account's lowest open P1 ticket id is the one named.
            first_ticket = open_p1.groupby("account_id")["ticket_id"].min()
            ticket = pd.Series(accounts, dtype=object).map(first_ticket).to_numpy(dtype=object)
            hit = promotional & pd.notna(ticket) & pd.isna(why)
            why[hit] = [f"no promotional touch during open P1 ticket {t}" for t in ticket[hit]]
        csat = pd.to_numeric(tickets["csat"], errors="coerce")
        low = tickets[tickets["closed_at"].notna() & (csat <= conflicts.low_csat_max)]
        if len(low):
            closed = pd.to_datetime(low["closed_at"], utc=True)
            until = (closed + pd.Timedelta(days=conflicts.days_after_low_csat))
            latest = until.groupby(low["account_id"].to_numpy()).max()
            per_candidate = pd.Series(accounts).map(latest)
            values = pd.to_datetime(per_candidate, utc=True).dt.tz_localize(None)
            values = values.to_numpy().astype("datetime64[s]")
            not_before = np.where(promotional, values, not_before)
    return why, not_before


def announcement_block(touch: Touch, day: int, contact: ContactLoad) -> Block | None:
    """Why a check-in and a major announcement would meet on one day for the contact."""
    if touch.checkin and contact.announcements.count(day, day):
        return (RULE, "no CSM check-in on the day of a major product announcement",
                contact.announcements, day, day)
    if touch.announcement and contact.checkins.count(day, day):
        return (RULE, "a CSM check-in is planned that day for the contact", contact.checkins,
                day, day)
    return None


@njit(cache=True)
def announcement_refusal(counts: np.ndarray, checkin: bool, announcement: bool,
                         day: int) -> tuple[int, int, int, int, int, int]:
    """:func:`announcement_block` over a contact's day counts (code 0: no clash)."""
    if checkin and counts[ANNOUNCEMENTS, day] > 0:
        return CHECKIN_ON_ANNOUNCEMENT, 0, 0, 0, day, day
    if announcement and counts[CHECKINS, day] > 0:
        return ANNOUNCEMENT_ON_CHECKIN, 0, 0, 0, day, day
    return 0, 0, 0, 0, 0, 0
