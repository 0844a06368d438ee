"""Rule 11: a touch that cannot go on its day moves to the next allowed slot while before
its latest_at; past that it is dropped. Each day tried runs the sequential rules (4 caps,
5 spacing, 6 announcement clash, 7 mix) against what the contact and the account already
receive; a decision names the first of them in precedence that refused its day.

:func:`place_in_order` is that pass, compiled (numba) over per-contact day-count arrays;
:func:`fits` answers the same question for one touch over :class:`ContactLoad` logs, for
CSM levelling, which moves a few human touches after the pass."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
from numba import njit

from cadence.planner.conflicts import (
    ANNOUNCEMENT_ON_CHECKIN,
    CHECKIN_ON_ANNOUNCEMENT,
    announcement_block,
    announcement_refusal,
)
from cadence.planner.frequency_cap import (
    ACCOUNT_CAP,
    ALL,
    ANNOUNCEMENTS,
    CHANNEL_CAP,
    CHECKINS,
    FIRST_CHANNEL,
    PREFERENCE,
    PROMOTIONAL,
    account_cap_refusal,
    account_has_room,
    contact_cap_block,
    contact_cap_refusal,
)
from cadence.planner.load import ContactLoad, DayLog, Touch, full_window_start, record
from cadence.planner.policy import Limits
from cadence.planner.promotional_mix import SHARE, mix_block, mix_refusal
from cadence.planner.send_timing import DayRules
from cadence.planner.spacing import PROMOTIONAL_GAP, spacing_allows, spacing_refusal

RULE = "11.deferral"


def fits(touch: Touch, day: int, contact: ContactLoad, account: DayLog, limits: Limits,
         caps: dict[str, list[tuple[int, int]]]) -> bool:
    """Whether no rule refuses ``touch`` on ``day``; cheapest and most often refusing
    checks first."""
    return account_has_room(day, account, limits) and _contact_allows(touch, day, contact,
                                                                      limits, caps)


def _contact_allows(touch: Touch, day: int, contact: ContactLoad, limits: Limits,
                    caps: dict[str, list[tuple[int, int]]]) -> bool:
    # The checks of :func:`fits` after the account's room, in the same order.
    return (spacing_allows(touch, day, contact, limits)
            and contact_cap_block(touch, day, contact, limits, caps) is None
            and announcement_block(touch, day, contact) is None
            and mix_block(touch, day, contact, limits) is None)


def days_to_try(rules: DayRules, first: int, last: int) -> list[int]:
    """Allowed days of the window: preferred weekdays first, then the other business days,
    each in date order."""
    preferred = rules.preferred[bisect_left(rules.preferred, first):
                                bisect_right(rules.preferred, last)]
    other = rules.other[bisect_left(rules.other, first):bisect_right(rules.other, last)]
    return preferred + other


@lru_cache(maxsize=4096)
def day_text(as_of: date, day: int) -> str:
    """"Tue 2026-11-24" for a day relative to the plan date."""
    when = as_of + timedelta(days=day)
    return f"{when.strftime('%a')} {when.isoformat()}"


# The compiled placement pass. Days are indices (day + base) into day-count arrays; a
# refusal is (code, a, b, c, first, last) as the rule modules return it, code 0 = none.
DROPPED_REFUSED, WINDOW_CLOSED, NO_ALLOWED_DAY = 0, 1, 2
SCHEDULED, DEFERRED_BY_TIMING, DEFERRED_BY_RULE, DEFERRED_BY_CONFLICT = 3, 4, 5, 6


@njit(cache=True)
def _refusal(counts, account_counts, slot, caps, all_limit, account_limit, preference_counts,
             preference_widths, promotional, checkin, announcement, gap, promotional_gap,
             share_width, max_share, day):
    # :func:`first_block` in precedence: caps (contact, then account), spacing, clash, mix.
    found = contact_cap_refusal(counts, slot, caps, all_limit, preference_counts,
                                preference_widths, day)
    if found[0] == 0:
        found = account_cap_refusal(account_counts, account_limit, day)
    if found[0] == 0:
        found = spacing_refusal(counts, promotional, gap, promotional_gap, day)
    if found[0] == 0:
        found = announcement_refusal(counts, checkin, announcement, day)
    if found[0] == 0:
        found = mix_refusal(counts, promotional, share_width, max_share, day)
    return found


@njit(cache=True)
def _refuses(counts, account_counts, slot, caps, all_limit, account_limit, preference_counts,
             preference_widths, promotional, checkin, announcement, gap, promotional_gap,
             share_width, max_share, day):
    # Whether any rule refuses the day (``_refusal`` names which): cheapest and most often
    # refusing checks first, since most days tried are refused.
    if spacing_refusal(counts, promotional, gap, promotional_gap, day)[0]:
        return True
    if full_window_start(counts[ALL], day, 7, all_limit) >= 0:
        return True
    if account_cap_refusal(account_counts, account_limit, day)[0]:
        return True
    return (contact_cap_refusal(counts, slot, caps, all_limit, preference_counts,
                                preference_widths, day)[0] != 0
            or announcement_refusal(counts, checkin, announcement, day)[0] != 0
            or mix_refusal(counts, promotional, share_width, max_share, day)[0] != 0)


@njit(cache=True)
def _add(counts, day, slot, promotional, checkin, announcement):
    record(counts[ALL], day)
    if slot >= 0:
        record(counts[FIRST_CHANNEL + slot], day)
    if promotional:
        record(counts[PROMOTIONAL], day)
    if checkin:
        record(counts[CHECKINS], day)
    if announcement:
        record(counts[ANNOUNCEMENTS], day)


@njit(cache=True)
def _grown(values, need):
    if need <= len(values):
        return values
    bigger = np.empty(max(need, 2 * len(values)), dtype=values.dtype)
    bigger[:len(values)] = values
    return bigger


@njit(cache=True)
def place_in_order(order, contact, account, slot, channel, category, promotional, checkin,
                   announcement, group, first, last, delayed, tier, preference_start,
                   preference_end, preference_channel, preference_width, preferred_start,
                   preferred_days, other_start, other_days, why_not, caps, all_limit,
                   account_limit, gap, promotional_gap, share_width, max_share, h_day, h_slot,
                   h_channel, h_category, h_promotional, h_checkin, h_announcement,
                   h_contact_start, h_contact_rows, h_account_start, h_account_rows, base,
                   n_days, n_contacts):
    """Place touches in ``order`` (by account, then priority) on the first allowed day no
    rule refuses, as :func:`fits` would day by day, and name what a decision must say.

    Returns per row: day (day units), kind (SCHEDULED ... NO_ALLOWED_DAY), the day the
    decision names and the refusal it names (index into ``blocks``, -1: none); per refusal
    (code, a, b, c, first, last) and the touches it lists (``listed_start`` into
    ``listed_ref``/``listed_day``: a history row below len(h_day), else len(h_day) + row).
    """
    n = len(contact)
    n_history = len(h_day)
    out_day = np.zeros(n, dtype=np.int64)
    out_kind = np.full(n, -1, dtype=np.int64)
    out_named = np.zeros(n, dtype=np.int64)
    out_block = np.full(n, -1, dtype=np.int64)
    blocks = np.zeros((max(n, 1), 6), dtype=np.int64)
    listed_start = np.zeros(max(n, 1) + 1, dtype=np.int64)
    listed_ref = np.zeros(max(n, 16), dtype=np.int64)
    listed_day = np.zeros(max(n, 16), dtype=np.int64)
    n_blocks = 0
    n_listed = 0

    # Per contact of the current account (a slot): day counts per kind, and its entries
    # (history rows, then placed rows) sorted by day in insertion order, like a DayLog.
    local = np.full(n_contacts, -1, dtype=np.int64)
    used = np.zeros(n_contacts, dtype=np.int64)
    n_used = 0
    counts = np.zeros((8, 7, n_days), dtype=np.int32)
    entry_ref = np.zeros((8, 32), dtype=np.int64)
    entry_day = np.zeros((8, 32), dtype=np.int64)
    n_entries = np.zeros(8, dtype=np.int64)
    account_counts = np.zeros(n_days, dtype=np.int32)
    account_ref = np.zeros(256, dtype=np.int64)
    account_day = np.zeros(256, dtype=np.int64)
    n_account = 0
    refused_day = np.zeros(n_days + 1, dtype=np.int64)
    no_preferences = np.zeros((0, n_days), dtype=np.int32)
    current = -1
    for i in order:
        if account[i] != current:
            for k in range(n_used):
                local[used[k]] = -1
            n_used = 0
            current = account[i]
            account_counts[:] = 0
            n_account = 0
            for k in range(h_account_start[current], h_account_start[current + 1]):
                h = h_account_rows[k]
                record(account_counts, h_day[h])
                account_ref = _grown(account_ref, n_account + 1)
                account_day = _grown(account_day, n_account + 1)
                _insert(account_ref, account_day, n_account, h, h_day[h])
                n_account += 1
        c = contact[i]
        s = local[c]
        if s < 0:
            s = n_used
            local[c] = s
            used[n_used] = c
            n_used += 1
            if s >= counts.shape[0]:
                counts = _grown_rows(counts, s + 1)
                entry_ref = _grown_rows(entry_ref, s + 1)
                entry_day = _grown_rows(entry_day, s + 1)
                n_entries = _grown(n_entries, s + 1)
            counts[s] = 0
            n_entries[s] = 0
            for k in range(h_contact_start[c], h_contact_start[c + 1]):
                h = h_contact_rows[k]
                _add(counts[s], h_day[h], h_slot[h], h_promotional[h], h_checkin[h],
                     h_announcement[h])
                if n_entries[s] >= entry_ref.shape[1]:
                    entry_ref = _grown_columns(entry_ref)
                    entry_day = _grown_columns(entry_day)
                _insert(entry_ref[s], entry_day[s], n_entries[s], h, h_day[h])
                n_entries[s] += 1
        t = tier[i]
        # The logs of the contact's preference frequencies for this touch's category.
        n_preferences = preference_end[i] - preference_start[i]
        preference_counts = no_preferences
        if n_preferences:
            preference_counts = np.zeros((n_preferences, n_days), dtype=np.int32)
        preference_widths = preference_width[preference_start[i]:preference_end[i]]
        for k in range(n_preferences):
            wanted = preference_channel[preference_start[i] + k]
            for e in range(n_entries[s]):
                ref = entry_ref[s, e]
                if ref < n_history:
                    same = h_category[ref] == category[i] and (
                        wanted < 0 or h_channel[ref] == wanted)
                else:
                    row = ref - n_history
                    same = category[row] == category[i] and (
                        wanted < 0 or channel[row] == wanted)
                if same:
                    record(preference_counts[k], entry_day[s, e])
        g = group[i]
        lo, hi = first[i] + base, last[i] + base
        n_refused = 0
        chosen = -1
        for part in range(2):
            if part == 0:
                days = preferred_days[preferred_start[g]:preferred_start[g + 1]]
            else:
                days = other_days[other_start[g]:other_start[g + 1]]
            for k in range(np.searchsorted(days, lo), np.searchsorted(days, hi, "right")):
                day = days[k]
                if not _refuses(counts[s], account_counts, slot[i], caps[t], all_limit[t],
                                account_limit[t], preference_counts, preference_widths,
                                promotional[i], checkin[i], announcement[i], gap[t],
                                promotional_gap[t], share_width[t], max_share[t], day):
                    chosen = day
                    break
                refused_day[n_refused] = day
                n_refused += 1
            if chosen >= 0:
                break
        named = -1  # index into refused of the refusal the decision names
        if chosen < 0:
            out_kind[i] = DROPPED_REFUSED if n_refused else (
                WINDOW_CLOSED if lo > hi else NO_ALLOWED_DAY)
            if n_refused:
                named = 0
                out_named[i] = refused_day[0] - base
            else:
                out_named[i] = first[i]
        else:
            out_day[i] = chosen - base
            if delayed[i]:
                out_kind[i] = DEFERRED_BY_CONFLICT
            else:
                out_kind[i] = SCHEDULED
                for day in range(lo, chosen):
                    if why_not[g, day - base] >= 0:
                        out_kind[i] = DEFERRED_BY_TIMING
                        out_named[i] = day - base
                        break
                for k in range(n_refused):
                    if refused_day[k] < chosen and (named < 0
                                                    or refused_day[k] < refused_day[named]):
                        named = k
                if named >= 0 and (out_kind[i] == SCHEDULED
                                   or refused_day[named] - base < out_named[i]):
                    out_kind[i] = DEFERRED_BY_RULE
                    out_named[i] = refused_day[named] - base
                else:
                    named = -1
        if named >= 0:
            found = _refusal(counts[s], account_counts, slot[i], caps[t], all_limit[t],
                             account_limit[t], preference_counts, preference_widths,
                             promotional[i], checkin[i], announcement[i], gap[t],
                             promotional_gap[t], share_width[t], max_share[t],
                             refused_day[named])
            code, a, start, end = found[0], found[1], found[4], found[5]
            wanted = -2
            if code == PREFERENCE:
                wanted = preference_channel[preference_start[i] + a]
            # The touches the refusal names, as its log holds them now, in day order.
            if code == ACCOUNT_CAP:
                refs, on, size = account_ref, account_day, n_account
            else:
                refs, on, size = entry_ref[s], entry_day[s], n_entries[s]
            listed_ref = _grown(listed_ref, n_listed + size)
            listed_day = _grown(listed_day, n_listed + size)
            for e in range(np.searchsorted(on[:size], start),
                           np.searchsorted(on[:size], end, "right")):
                ref = refs[e]
                if code == ACCOUNT_CAP:
                    member = True
                elif ref < n_history:
                    member = _in_log(code, a, wanted, category[i], h_slot[ref],
                                     h_channel[ref], h_category[ref], h_promotional[ref],
                                     h_checkin[ref], h_announcement[ref])
                else:
                    row = ref - n_history
                    member = _in_log(code, a, wanted, category[i], slot[row], channel[row],
                                     category[row], promotional[row], checkin[row],
                                     announcement[row])
                if member:
                    listed_ref[n_listed] = ref
                    listed_day[n_listed] = on[e] - base
                    n_listed += 1
            for f in range(6):
                blocks[n_blocks, f] = found[f]
            blocks[n_blocks, 4] -= base
            blocks[n_blocks, 5] -= base
            out_block[i] = n_blocks
            n_blocks += 1
            listed_start[n_blocks] = n_listed
        if chosen >= 0:
            _add(counts[s], chosen, slot[i], promotional[i], checkin[i], announcement[i])
            record(account_counts, chosen)
            if n_entries[s] >= entry_ref.shape[1]:
                entry_ref = _grown_columns(entry_ref)
                entry_day = _grown_columns(entry_day)
            _insert(entry_ref[s], entry_day[s], n_entries[s], n_history + i, chosen)
            n_entries[s] += 1
            account_ref = _grown(account_ref, n_account + 1)
            account_day = _grown(account_day, n_account + 1)
            _insert(account_ref, account_day, n_account, n_history + i, chosen)
            n_account += 1
    return (out_day, out_kind, out_named, out_block, blocks[:n_blocks],
            listed_start[:n_blocks + 1], listed_ref[:n_listed], listed_day[:n_listed])


@njit(cache=True)
def _insert(refs, days, size, ref, day):
    # Insert after every entry on the same day or earlier (bisect_right), as DayLog.add.
    at = np.searchsorted(days[:size], day, "right")
    for k in range(size, at, -1):
        refs[k] = refs[k - 1]
        days[k] = days[k - 1]
    refs[at] = ref
    days[at] = day


@njit(cache=True)
def _grown_rows(values, need):
    if need <= values.shape[0]:
        return values
    bigger = np.zeros((max(need, 2 * values.shape[0]),) + values.shape[1:], dtype=values.dtype)
    bigger[:values.shape[0]] = values
    return bigger


@njit(cache=True)
def _grown_columns(values):
    bigger = np.zeros((values.shape[0], 2 * values.shape[1]), dtype=values.dtype)
    bigger[:, :values.shape[1]] = values
    return bigger


@njit(cache=True)
def _in_log(code, a, wanted, touch_category, slot, channel, category, promotional, checkin,
            announcement):
    # Whether an entry belongs to the log a refusal of ``code`` counts in.
    if code == CHANNEL_CAP:
        return slot == a
    if code == PREFERENCE:
        return category == touch_category and (wanted < 0 or channel == wanted)
    if code in (PROMOTIONAL_GAP, SHARE):
        return promotional
    if code == CHECKIN_ON_ANNOUNCEMENT:
        return announcement
    if code == ANNOUNCEMENT_ON_CHECKIN:
        return checkin
    return True  # the all-touch log (all-channel cap, touch gap)
