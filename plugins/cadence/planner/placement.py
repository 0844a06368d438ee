"""Rules 10 and 11, compiled (numba): which touches are kept and on which day.

Per account, touches come in rank order (class, then priority, ...; rule 10):

- a touch of a *protected* class (policy ``classes``) is decided with every other touch of
  its class and contact by an exact search (branch and bound over their days, the
  contact's already placed touches free to move inside their own windows but never
  dropped): the most value (priorities) that fits, earliest days first. What cannot be
  kept is *escalated*, never dropped;
- any other touch takes the first allowed day no rule refuses (preferred weekdays first,
  then the other business days, each in date order); when every day is refused, one
  touch that blocks it is moved to another day of its own window if that makes room
  (the repair that keeps a tight touch from losing to a flexible one); else it is
  dropped.

Days are indices (day + base) into day-count arrays (cadence.planner.day_logs); a refusal is
(code, a, b, c, first, last) as the rule modules return it, code 0 = none. The pass
records per touch what its decision must say (kind, the day named, the refusal and the
touches it lists) for :mod:`cadence.planner.decision_details`.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic
from numba.typed import List

from cadence.planner.conflicts import (
    ANNOUNCEMENT_ON_CHECKIN,
    CHECKIN_ON_ANNOUNCEMENT,
    announcement_refusal,
)
from cadence.planner.day_logs import count_in, full_window_start, record, unrecord
from cadence.planner.frequency_cap import (
    ACCOUNT_CAP,
    ALL,
    ANNOUNCEMENTS,
    CAPPED_CHANNELS,
    CHANNEL_CAP,
    CHECKINS,
    FIRST_CHANNEL,
    PREFERENCE,
    PROMOTIONAL,
    account_cap_refusal,
    contact_cap_refusal,
)
from cadence.planner.promotional_mix import SHARE, mix_refusal
from cadence.planner.spacing import PROMOTIONAL_GAP, spacing_refusal

# How a touch was decided (its text form in decision_details).
DROPPED_REFUSED, WINDOW_CLOSED, NO_ALLOWED_DAY = 0, 1, 2
SCHEDULED, DEFERRED_BY_TIMING, DEFERRED_BY_RULE, DEFERRED_BY_CONFLICT = 3, 4, 5, 6
# Day-count kinds of a contact (frequency_cap.ALL ... the capped channels).
KINDS = FIRST_CHANNEL + len(CAPPED_CHANNELS)
# The exact search of a protected class covers at most this many touches of a contact
# (those of the class and the contact's touches placed before); larger groups, which
# real plans do not have, are placed one by one with the repair.
EXACT_MAX_TOUCHES = 16
EXACT_MAX_NODES = 200_000
# The repair is for tight touches (at most their class's ``repair_days`` allowed days, all
# refused): a flexible touch refused on every day of a long window has no room one move
# would make. It looks at the first this many refused days.
REPAIR_MAX_DAYS = 3
# ... and tries at most this many touches counted by each refusal.
REPAIR_BLOCKERS = 4

# The pass's inputs, as named groups of flat arrays (see placement_state). A candidate's
# fields (Touches), a history row's (HistoryRows) and a tier's (TierLimits) go in as one
# structured array each (:func:`rows_of`), read like the columns (``T.contact[i]``):
# numba passes a helper one array where 17 columns were 17 arguments, each counted in and
# out on every call.
Touches = namedtuple("Touches", [
    "contact", "account", "slot", "channel", "category", "promotional", "checkin",
    "announcement", "group", "first", "last", "delayed", "tier", "klass", "protected",
    "value", "repair_days"])
Preferences = namedtuple("Preferences", ["start", "end", "channel", "width"])
Days = namedtuple("Days", ["preferred_start", "preferred", "other_start", "other", "why_not"])
TierLimits = namedtuple("TierLimits", [
    "caps", "all_limit", "account_limit", "gap", "promotional_gap", "share_width",
    "max_share"])
HistoryRows = namedtuple("HistoryRows", [
    "day", "slot", "channel", "category", "promotional", "checkin", "announcement"])
# Each contact's and account's history rows (CSR: rows of code c are
# rows[start[c]:start[c + 1]]), read once per account.
HistoryIndex = namedtuple("HistoryIndex", [
    "contact_start", "contact_rows", "account_start", "account_rows"])
Sizes = namedtuple("Sizes", ["base", "n_days", "n_contacts", "contacts_per_account",
                             "entries_per_contact", "entries_per_account"])
Placement = namedtuple("Placement", [
    "day", "kind", "named", "block", "escalated", "block_row", "blocks", "listed_start",
    "listed_ref",
    "listed_day"])


# The true/false and the fractional fields of Touches, HistoryRows and TierLimits; every
# other field is an int64 (or int64s: a tier's caps table).
FLAGS = frozenset({"promotional", "checkin", "announcement", "delayed", "protected"})
FRACTIONS = frozenset({"max_share"})


def rows_of(columns: tuple) -> np.ndarray:
    """A named tuple of equal-length columns (Touches, HistoryRows, TierLimits) as one
    structured array, a field per column (each cast to its field's type as it is
    copied)."""
    dtype = np.dtype([(name, np.bool_ if name in FLAGS else
                       np.float64 if name in FRACTIONS else np.int64, np.shape(values)[1:])
                      for name, values in zip(columns._fields, columns, strict=True)],
                     align=True)
    rows = np.empty(len(columns[0]), dtype=dtype)
    for name, values in zip(columns._fields, columns, strict=True):
        rows[name] = values
    return rows


@intrinsic
def _borrowed(typingctx, value):
    """``value`` (an array, or a tuple of arrays and numbers, nested) with every array's
    reference count left out: a view numba does not count.

    numba increments and decrements (atomically) the count of every array a compiled
    function is passed, tuples' arrays included; the pass's helpers take most of its ~60
    arrays, about a thousand counts a candidate, which was most of its time (perf). Only
    for arrays that outlive every use of the view: the caller owns them for the whole
    call, and the view is never returned."""
    def strip(context, builder, of, value):
        if isinstance(of, types.Array):
            array = context.make_array(of)(context, builder, value=value)
            array.meminfo = cgutils.get_null_value(array.meminfo.type)
            array.parent = cgutils.get_null_value(array.parent.type)
            return array._getvalue()
        if isinstance(of, types.BaseTuple):
            for k, member in enumerate(of):
                item = strip(context, builder, member, builder.extract_value(value, k))
                value = builder.insert_value(value, item, k)
        return value

    def codegen(context, builder, signature, args):
        return strip(context, builder, signature.args[0], args[0])

    return value(value), codegen


@njit(cache=True)
def _bump(row, day, by):
    row[day] += by
    row[len(row) - 1] += by  # the total


@njit(cache=True)
def _count(counts, day, slot, promotional, checkin, announcement, by):
    # A touch counted in (by=1) or out (by=-1) of every day count it belongs to.
    _bump(counts[ALL], day, by)
    if slot >= 0:
        _bump(counts[FIRST_CHANNEL + slot], day, by)
    if promotional:
        _bump(counts[PROMOTIONAL], day, by)
    if checkin:
        _bump(counts[CHECKINS], day, by)
    if announcement:
        _bump(counts[ANNOUNCEMENTS], day, by)


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
def _delete(refs, days, size, ref):
    # Remove the entry of ``ref`` (it is there).
    at = 0
    while refs[at] != ref:
        at += 1
    for k in range(at, size - 1):
        refs[k] = refs[k + 1]
        days[k] = days[k + 1]


@njit(cache=True)
def _grown(values, need):
    if need <= len(values):
        return values
    bigger = np.empty(max(need, 2 * len(values)), dtype=values.dtype)
    bigger[:len(values)] = values
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


# The state of the current account, one tuple ``state``: counts[s, kind, day] the day
# counts of its s-th contact (local[contact] = s); entry_ref/entry_day[s, :n_entries[s]]
# that contact's touches sorted by day (a ref below the history size is a history row, else
# history size + candidate row); account_counts, account_ref/account_day[:n_account[0]]
# the same for the whole account.


@njit(cache=True)
def _same_log(ref, wanted, category, n_history, T, H):
    # Whether an entry counts in a preference log (category, channel or any).
    if ref < n_history:
        return H.category[ref] == category and (wanted < 0 or H.channel[ref] == wanted)
    row = ref - n_history
    return T.category[row] == category and (wanted < 0 or T.channel[row] == wanted)


@njit(cache=True)
def _preference_counts(i, s, state, n_history, T, P, H):
    # The day counts of the logs of the contact's preference frequencies for i's category.
    day_counts, entry_ref, entry_day, n_entries = state[:4]
    n_preferences = P.end[i] - P.start[i]
    if n_preferences == 0:  # most touches: an empty view rather than an allocation
        return day_counts[s, :0]
    counts = np.zeros((n_preferences, day_counts.shape[2]), dtype=np.int32)
    for k in range(n_preferences):
        wanted = P.channel[P.start[i] + k]
        for e in range(n_entries[s]):
            if _same_log(entry_ref[s, e], wanted, T.category[i], n_history, T, H):
                record(counts[k], entry_day[s, e])
    return counts


@njit(cache=True)
def _day_refused(mine, account_counts, preference_counts, widths, slot, caps, all_limit,
                 account_limit, promotional, checkin, announcement, gap, promotional_gap,
                 share_width, max_share, day):
    # Whether any rule refuses the day (``_refusal`` names which): cheapest and most often
    # refusing checks first, since most days tried are refused. Plain values, not the
    # named groups: this runs for every day tried.
    if spacing_refusal(mine, promotional, gap, promotional_gap, day)[0]:
        return True
    if full_window_start(mine[ALL], day, 7, all_limit) >= 0:
        return True
    if account_cap_refusal(account_counts, account_limit, day)[0]:
        return True
    return (contact_cap_refusal(mine, slot, caps, all_limit, preference_counts, widths,
                                day)[0] != 0
            or announcement_refusal(mine, checkin, announcement, day)[0] != 0
            or mix_refusal(mine, promotional, share_width, max_share, day)[0] != 0)


@njit(cache=True)
def _refuses(i, s, day, counts, account_counts, preference_counts, T, P, L):
    t = T.tier[i]
    return _day_refused(counts[s], account_counts, preference_counts,
                        P.width[P.start[i]:P.end[i]], T.slot[i], L.caps[t], L.all_limit[t],
                        L.account_limit[t], T.promotional[i], T.checkin[i],
                        T.announcement[i], L.gap[t], L.promotional_gap[t], L.share_width[t],
                        L.max_share[t], day)


@njit(cache=True)
def _refusal(i, s, day, counts, account_counts, preference_counts, T, P, L):
    # The first refusal in precedence: caps (contact, then account), spacing, clash, mix.
    t = T.tier[i]
    mine = counts[s]
    widths = P.width[P.start[i]:P.end[i]]
    found = contact_cap_refusal(mine, T.slot[i], L.caps[t], L.all_limit[t], preference_counts,
                                widths, day)
    if found[0] == 0:
        found = account_cap_refusal(account_counts, L.account_limit[t], day)
    if found[0] == 0:
        found = spacing_refusal(mine, T.promotional[i], L.gap[t], L.promotional_gap[t], day)
    if found[0] == 0:
        found = announcement_refusal(mine, T.checkin[i], T.announcement[i], day)
    if found[0] == 0:
        found = mix_refusal(mine, T.promotional[i], L.share_width[t], L.max_share[t], day)
    return found


@njit(cache=True)
def _mix_holds(counts, width, max_share):
    # Every promotional touch's window within the share (moves can lower a window's total).
    promotional = counts[PROMOTIONAL]
    if promotional[len(promotional) - 1] == 0:
        return True
    for end in range(len(promotional) - 1):
        if promotional[end] > 0:
            share = count_in(promotional, end - width + 1, end)
            if share > max_share * count_in(counts[ALL], end - width + 1, end):
                return False
    return True


@njit(cache=True)
def _n_days(i, g, base, T, D):
    # How many allowed days i may try, and its window as indices.
    lo, hi = T.first[i] + base, T.last[i] + base
    preferred = D.preferred[D.preferred_start[g]:D.preferred_start[g + 1]]
    other = D.other[D.other_start[g]:D.other_start[g + 1]]
    p0, p1 = np.searchsorted(preferred, lo), np.searchsorted(preferred, hi, "right")
    o0, o1 = np.searchsorted(other, lo), np.searchsorted(other, hi, "right")
    return max(p1 - p0, 0) + max(o1 - o0, 0), p0, max(p1 - p0, 0), o0


@njit(cache=True)
def _day_at(k, g, p0, n_preferred, o0, D):
    # The k-th day to try: preferred weekdays first, then the other business days.
    if k < n_preferred:
        return D.preferred[D.preferred_start[g] + p0 + k]
    return D.other[D.other_start[g] + o0 + k - n_preferred]


@njit(cache=True)
def place_in_order(order, T, P, D, L, H, X, Z):
    """Place the touches of ``order`` (by account, then rank) as the module says; returns
    a :class:`Placement`: per row the day (day units), kind (SCHEDULED ... NO_ALLOWED_DAY),
    escalated, the day the decision names and the refusal it names (index into
    ``blocks``, -1: none); per refusal its row, (code, a, b, c, first, last) and the touches it
    lists (``listed_start`` into ``listed_ref``/``listed_day``: a history row below the
    history size, else history size + row)."""
    n = len(T.contact)
    n_days = Z.n_days
    out_day = np.zeros(n, dtype=np.int64)
    placed = np.zeros(n, dtype=np.bool_)
    out_kind = np.full(n, -1, dtype=np.int64)
    out_named = np.zeros(n, dtype=np.int64)
    out_block = np.full(n, -1, dtype=np.int64)
    escalated = np.zeros(n, dtype=np.bool_)
    done = np.zeros(n, dtype=np.bool_)
    # What the texts need, growing: refusals (6 numbers each), where each one's listed
    # touches start, the listed touches and their days, and (n_refusals, n_listed).
    texts = List()
    texts.append(np.zeros(6 * max(n, 1), dtype=np.int64))
    texts.append(np.zeros(max(n, 1) + 1, dtype=np.int64))
    texts.append(np.zeros(max(n, 16), dtype=np.int64))
    texts.append(np.zeros(max(n, 16), dtype=np.int64))
    texts.append(np.zeros(2, dtype=np.int64))
    texts.append(np.zeros(max(n, 1), dtype=np.int64))  # the row each refusal is of

    local = np.full(Z.n_contacts, -1, dtype=np.int64)
    used = np.zeros(max(Z.contacts_per_account, 1), dtype=np.int64)
    counts = np.zeros((max(Z.contacts_per_account, 1), KINDS, n_days), dtype=np.int32)
    entry_ref = np.zeros((max(Z.contacts_per_account, 1), max(Z.entries_per_contact, 1)),
                         dtype=np.int64)
    entry_day = np.zeros_like(entry_ref)
    n_entries = np.zeros(max(Z.contacts_per_account, 1), dtype=np.int64)
    account_counts = np.zeros(n_days, dtype=np.int32)
    account_ref = np.zeros(max(Z.entries_per_account, 1), dtype=np.int64)
    account_day = np.zeros_like(account_ref)
    n_account = np.zeros(1, dtype=np.int64)
    refused_day = np.zeros(n_days + 1, dtype=np.int64)
    state = (counts, entry_ref, entry_day, n_entries, account_counts, account_ref,
             account_day, n_account, local)
    _place_accounts(order, out_day, placed, out_kind, out_named, out_block, escalated, done,
                    texts, refused_day, used, state, T, P, D, L, H, X, Z)
    n_blocks, n_listed = texts[4][0], texts[4][1]
    return Placement(out_day, out_kind, out_named, out_block, escalated, texts[5][:n_blocks],
                     texts[0][:6 * n_blocks].reshape((n_blocks, 6)),
                     texts[1][:n_blocks + 1].copy(), texts[2][:n_listed].copy(),
                     texts[3][:n_listed].copy())


@njit(cache=True)
def _place_accounts(order, out_day, placed, out_kind, out_named, out_block, escalated, done,
                    texts, refused_day, used, state, T, P, D, L, H, X, Z):
    # The pass proper, on borrowed views of its arrays (the caller owns them throughout).
    out_day, placed, out_kind, out_named, out_block, escalated, done = _borrowed(
        (out_day, placed, out_kind, out_named, out_block, escalated, done))
    refused_day, used, state = _borrowed(refused_day), _borrowed(used), _borrowed(state)
    T, P, D, L, H, X = (_borrowed(T), _borrowed(P), _borrowed(D), _borrowed(L),
                        _borrowed(H), _borrowed(X))
    counts, entry_ref, entry_day, n_entries, account_counts, account_ref, account_day, \
        n_account, local = state
    n_history = len(H.day)
    start = 0
    while start < len(order):
        current = T.account[order[start]]
        end = start
        while end < len(order) and T.account[order[end]] == current:
            end += 1
        # The account's state: its history, and each contact's.
        n_used = 0
        account_counts[:] = 0
        n_account[0] = 0
        for k in range(X.account_start[current], X.account_start[current + 1]):
            h = X.account_rows[k]
            record(account_counts, H.day[h])
            _insert(account_ref, account_day, n_account[0], h, H.day[h])
            n_account[0] += 1
        for k in range(start, end):
            c = T.contact[order[k]]
            if local[c] < 0:
                s = n_used
                local[c] = s
                used[s] = c
                n_used += 1
                counts[s] = 0
                n_entries[s] = 0
                for e in range(X.contact_start[c], X.contact_start[c + 1]):
                    h = X.contact_rows[e]
                    _count(counts[s], H.day[h], H.slot[h], H.promotional[h], H.checkin[h],
                           H.announcement[h], 1)
                    _insert(entry_ref[s], entry_day[s], n_entries[s], h, H.day[h])
                    n_entries[s] += 1
        for k in range(start, end):
            i = order[k]
            if done[i]:
                continue
            if T.protected[i]:
                _place_protected(i, order[start:end], out_day, placed, done, escalated,
                                 out_kind, out_named, out_block, texts, refused_day, state,
                                 n_history, T, P, D, L, H, Z)
            else:
                _place_one(i, out_day, placed, escalated, out_kind, out_named, out_block,
                           texts, refused_day, state, n_history, T, P, D, L, H, Z)
                done[i] = True
        # A protected promotional touch may find its share once the lower classes have
        # raised its window's total (rule 7 is the one rule more touches can help).
        for k in range(start, end):
            i = order[k]
            if escalated[i] and T.promotional[i]:
                chosen, n_refused = _first_fit(i, state, refused_day, n_history, T, P, D, L,
                                               H, Z)
                if chosen >= 0:
                    _describe(i, chosen, n_refused, refused_day, out_kind, out_named,
                              out_block, texts, state, n_history, T, P, D, L, H, Z)
                    out_day[i] = chosen - Z.base
                    placed[i] = True
                    escalated[i] = False
                    _put(i, chosen, state, n_history, T)
        for k in range(n_used):
            local[used[k]] = -1
        start = end


@njit(cache=True)
def _put(i, day, state, n_history, T):
    # Record candidate i on day index ``day`` for its contact and account.
    counts, entry_ref, entry_day, n_entries, account_counts, account_ref, account_day, \
        n_account, local = state
    s = local[T.contact[i]]
    _count(counts[s], day, T.slot[i], T.promotional[i], T.checkin[i], T.announcement[i], 1)
    record(account_counts, day)
    _insert(entry_ref[s], entry_day[s], n_entries[s], n_history + i, day)
    n_entries[s] += 1
    _insert(account_ref, account_day, n_account[0], n_history + i, day)
    n_account[0] += 1


@njit(cache=True)
def _lift(i, day, state, n_history, T):
    # Take candidate i off day index ``day`` (it moves or is left out).
    counts, entry_ref, entry_day, n_entries, account_counts, account_ref, account_day, \
        n_account, local = state
    s = local[T.contact[i]]
    _count(counts[s], day, T.slot[i], T.promotional[i], T.checkin[i], T.announcement[i], -1)
    unrecord(account_counts, day)
    _delete(entry_ref[s], entry_day[s], n_entries[s], n_history + i)
    n_entries[s] -= 1
    _delete(account_ref, account_day, n_account[0], n_history + i)
    n_account[0] -= 1


@njit(cache=True)
def _fits(i, day, state, n_history, T, P, L, H):
    counts, account_counts = state[0], state[4]
    s = state[8][T.contact[i]]
    preference_counts = _preference_counts(i, s, state, n_history, T, P, H)
    return not _refuses(i, s, day, counts, account_counts, preference_counts, T, P, L)


@njit(cache=True)
def _first_fit(i, state, refused_day, n_history, T, P, D, L, H, Z):
    # The first day i may take (-1: none) and how many days were refused before it.
    counts, account_counts = state[0], state[4]
    s = state[8][T.contact[i]]
    preference_counts = _preference_counts(i, s, state, n_history, T, P, H)
    g, t = T.group[i], T.tier[i]
    lo, hi = T.first[i] + Z.base, T.last[i] + Z.base
    mine, widths, caps = counts[s], P.width[P.start[i]:P.end[i]], L.caps[t]
    slot, promotional, checkin, announcement = (T.slot[i], T.promotional[i], T.checkin[i],
                                                T.announcement[i])
    all_limit, account_limit, gap, promotional_gap = (L.all_limit[t], L.account_limit[t],
                                                      L.gap[t], L.promotional_gap[t])
    share_width, max_share = L.share_width[t], L.max_share[t]
    n_refused = 0
    for part in range(2):
        if part == 0:
            days = D.preferred[D.preferred_start[g]:D.preferred_start[g + 1]]
        else:
            days = D.other[D.other_start[g]:D.other_start[g + 1]]
        for k in range(np.searchsorted(days, lo), np.searchsorted(days, hi, "right")):
            day = days[k]
            if not _day_refused(mine, account_counts, preference_counts, widths, slot, caps,
                                all_limit, account_limit, promotional, checkin, announcement,
                                gap, promotional_gap, share_width, max_share, day):
                return day, n_refused
            refused_day[n_refused] = day
            n_refused += 1
    return -1, n_refused


@njit(cache=True)
def _place_one(i, out_day, placed, escalated, out_kind, out_named, out_block, texts,
               refused_day, state, n_history, T, P, D, L, H, Z):
    # One touch: its first allowed day, else the repair, else dropped (escalated when
    # protected).
    chosen, n_refused = _first_fit(i, state, refused_day, n_history, T, P, D, L, H, Z)
    if chosen < 0 and 0 < n_refused <= T.repair_days[i]:
        chosen = _repair(i, n_refused, out_day, out_kind, out_named, out_block, texts,
                         refused_day, state, n_history, T, P, D, L, H, Z)
        if chosen >= 0:
            chosen, n_refused = _after_repair(i, chosen, refused_day, state, n_history, T,
                                              P, D, L, H, Z)
    _describe(i, chosen, n_refused, refused_day, out_kind, out_named, out_block, texts,
              state, n_history, T, P, D, L, H, Z)
    if chosen >= 0:
        out_day[i] = chosen - Z.base
        placed[i] = True
        _put(i, chosen, state, n_history, T)
    else:
        escalated[i] = T.protected[i]


@njit(cache=True)
def _repair(i, n_refused, out_day, out_kind, out_named, out_block, texts, refused_day,
            state, n_history, T, P, D, L, H, Z):
    # Make room for i on one of its first refused days by moving one placed touch that
    # blocks it to another day of that touch's own window; returns i's day or -1.
    counts, entry_ref, entry_day, n_entries, account_counts, account_ref, account_day, \
        n_account, local = state
    base = Z.base
    s = local[T.contact[i]]
    # refused_day stays i's (its text names them): the moved touch's days go to spare,
    # made for the first move tried (most repairs try none).
    spare = refused_day[:0]
    blockers = np.empty(REPAIR_BLOCKERS, dtype=np.int64)
    for tried in range(min(n_refused, REPAIR_MAX_DAYS)):
        day = refused_day[tried]
        preference_counts = _preference_counts(i, s, state, n_history, T, P, H)
        found = _refusal(i, s, day, counts, account_counts, preference_counts, T, P, L)
        code, a, first, last = found[0], found[1], found[4], found[5]
        wanted = -2
        if code == PREFERENCE:
            wanted = P.channel[P.start[i] + a]
        if code == ACCOUNT_CAP:
            refs, on, size = account_ref, account_day, n_account[0]
        else:
            refs, on, size = entry_ref[s], entry_day[s], n_entries[s]
        lo, hi = np.searchsorted(on[:size], first), np.searchsorted(on[:size], last, "right")
        # Copied: a move tried and undone puts the moved touch last among its day's.
        n_blockers = min(hi - lo, REPAIR_BLOCKERS)
        blockers[:n_blockers] = refs[lo:lo + n_blockers]
        for ref in blockers[:n_blockers]:
            if ref < n_history:
                continue  # sent or kept from an earlier plan: never moved
            b = ref - n_history
            if code != ACCOUNT_CAP and not _in_log(
                    code, a, wanted, T.category[i], T.slot[b], T.channel[b], T.category[b],
                    T.promotional[b], T.checkin[b], T.announcement[b]):
                continue
            if _n_days(b, T.group[b], base, T, D)[0] <= 1:
                continue  # no other day of its own to move to
            was = out_day[b] + base
            if not _fits_without(i, b, day, was, s, preference_counts, counts, account_counts,
                                 local, n_history, T, P, L, H):
                continue
            _lift(b, was, state, n_history, T)
            _put(i, day, state, n_history, T)
            if len(spare) == 0:
                spare = np.zeros(Z.n_days + 1, dtype=np.int64)
            moved, _ = _first_fit(b, state, spare, n_history, T, P, D, L, H, Z)
            if moved >= 0:
                _put(b, moved, state, n_history, T)
                if _mixes_hold(i, b, state, T, L):
                    out_day[b] = _redescribe(b, moved, spare, out_kind, out_named, out_block,
                                             texts, state, n_history, T, P, D, L, H, Z) - base
                    _lift(i, day, state, n_history, T)  # the caller records i
                    return day
                _lift(b, moved, state, n_history, T)
            _lift(i, day, state, n_history, T)
            _put(b, was, state, n_history, T)
    return -1


@njit(cache=True)
def _after_repair(i, repaired, refused_day, state, n_history, T, P, D, L, H, Z):
    # The move may have freed an earlier day too: i takes, and its decision names, the first
    # day the plan as it is now allows (the promotional share re-checked for its contact,
    # as the repair does); else the repaired day. Returns (day, days refused before it).
    chosen, n_refused = _first_fit(i, state, refused_day, n_history, T, P, D, L, H, Z)
    if 0 <= chosen != repaired:
        _put(i, chosen, state, n_history, T)
        holds = _mixes_hold(i, i, state, T, L)
        _lift(i, chosen, state, n_history, T)
        if holds:
            return chosen, n_refused
    elif chosen == repaired:
        return chosen, n_refused
    return repaired, _refused_before(i, repaired, refused_day, T, D, Z)


@njit(cache=True)
def _fits_without(i, b, day, was, s, preference_counts, counts, account_counts, local,
                  n_history, T, P, L, H):
    # Whether i fits on ``day`` were b not on ``was``: b is taken off the day counts only
    # (most trials fail; the day-ordered entry lists are moved only for one that fits).
    sb = local[T.contact[b]]
    _count(counts[sb], was, T.slot[b], T.promotional[b], T.checkin[b], T.announcement[b], -1)
    unrecord(account_counts, was)
    shift = len(preference_counts) > 0  # i has preference logs b may count in
    if shift:
        _shift_preferences(i, b, was, -1, preference_counts, n_history, T, P, H)
    fits = not _refuses(i, s, day, counts, account_counts, preference_counts, T, P, L)
    if shift:
        _shift_preferences(i, b, was, 1, preference_counts, n_history, T, P, H)
    _count(counts[sb], was, T.slot[b], T.promotional[b], T.checkin[b], T.announcement[b], 1)
    record(account_counts, was)
    return fits


@njit(cache=True)
def _shift_preferences(i, b, day, by, preference_counts, n_history, T, P, H):
    # Count b (on day index ``day``) once more (by > 0) or less in each of i's preference
    # logs it is in.
    if T.contact[b] != T.contact[i]:
        return
    for k in range(P.end[i] - P.start[i]):
        if _same_log(n_history + b, P.channel[P.start[i] + k], T.category[i], n_history, T,
                     H):
            if by > 0:
                record(preference_counts[k], day)
            else:
                unrecord(preference_counts[k], day)


@njit(cache=True)
def _mixes_hold(i, b, state, T, L):
    # Rule 7 still holds for the contacts of i and b after b moved.
    counts, local = state[0], state[8]
    for row in (i, b):
        t = T.tier[row]
        if not _mix_holds(counts[local[T.contact[row]]], L.share_width[t], L.max_share[t]):
            return False
    return True


@njit(cache=True)
def _redescribe(b, day, refused_day, out_kind, out_named, out_block, texts, state, n_history,
                T, P, D, L, H, Z):
    # The decision of a placed touch (on day index ``day``) against the plan as it is now;
    # a day it prefers that has come free is taken. Returns its day index.
    _lift(b, day, state, n_history, T)
    chosen, n_refused = _first_fit(b, state, refused_day, n_history, T, P, D, L, H, Z)
    if chosen < 0:  # cannot happen (its own day fits), but never lose it
        chosen = day
        n_refused = _refused_before(b, chosen, refused_day, T, D, Z)
    _describe(b, chosen, n_refused, refused_day, out_kind, out_named, out_block, texts, state,
              n_history, T, P, D, L, H, Z)
    _put(b, chosen, state, n_history, T)
    return chosen


@njit(cache=True)
def _refused_before(i, chosen, refused_day, T, D, Z):
    # The days tried before ``chosen`` (all refused when nothing fits earlier).
    g = T.group[i]
    total, p0, n_preferred, o0 = _n_days(i, g, Z.base, T, D)
    n_refused = 0
    for k in range(total):
        day = _day_at(k, g, p0, n_preferred, o0, D)
        if day == chosen:
            break
        refused_day[n_refused] = day
        n_refused += 1
    return n_refused


@njit(cache=True)
def _describe(i, chosen, n_refused, refused_day, out_kind, out_named, out_block, texts, state,
              n_history, T, P, D, L, H, Z):
    # What i's decision says: its kind, the day named and the refusal it names with the
    # touches that refusal counted, as the plan holds them now (i not yet on ``chosen``).
    counts, entry_ref, entry_day, n_entries, account_counts, account_ref, account_day, \
        n_account, local = state
    base = Z.base
    s = local[T.contact[i]]
    g = T.group[i]
    lo, hi = T.first[i] + base, T.last[i] + base
    named = -1  # index into refused_day of the refusal the decision names
    out_block[i] = -1
    if chosen < 0:
        out_kind[i] = DROPPED_REFUSED if n_refused else (
            WINDOW_CLOSED if lo > hi else NO_ALLOWED_DAY)
        if n_refused:
            named = 0
            out_named[i] = refused_day[0] - base
        else:
            out_named[i] = T.first[i]
    elif T.delayed[i]:
        out_kind[i] = DEFERRED_BY_CONFLICT
    else:
        out_kind[i] = SCHEDULED
        for day in range(lo, chosen):
            if D.why_not[g, day - base] >= 0:
                out_kind[i] = DEFERRED_BY_TIMING
                out_named[i] = day - base
                break
        for k in range(n_refused):
            if refused_day[k] < chosen and (named < 0 or refused_day[k] < refused_day[named]):
                named = k
        if named >= 0 and (out_kind[i] == SCHEDULED
                           or refused_day[named] - base < out_named[i]):
            out_kind[i] = DEFERRED_BY_RULE
            out_named[i] = refused_day[named] - base
        else:
            named = -1
    if named < 0:
        return
    preference_counts = _preference_counts(i, s, state, n_history, T, P, H)
    found = _refusal(i, s, refused_day[named], counts, account_counts, preference_counts,
                     T, P, L)
    code, a, first, last = found[0], found[1], found[4], found[5]
    wanted = -2
    if code == PREFERENCE:
        wanted = P.channel[P.start[i] + a]
    # The touches the refusal names, as its log holds them now, in day order.
    if code == ACCOUNT_CAP:
        refs, on, size = account_ref, account_day, n_account[0]
    else:
        refs, on, size = entry_ref[s], entry_day[s], n_entries[s]
    sizes = texts[4]
    n_blocks, n_listed = sizes[0], sizes[1]
    if n_listed + size > len(texts[2]):
        texts[2] = _grown(texts[2], n_listed + size)
        texts[3] = _grown(texts[3], n_listed + size)
    if 6 * (n_blocks + 1) > len(texts[0]):
        texts[0] = _grown(texts[0], 6 * (n_blocks + 1))
        texts[1] = _grown(texts[1], n_blocks + 2)
        texts[5] = _grown(texts[5], n_blocks + 1)
    listed_ref, listed_day = texts[2], texts[3]
    for e in range(np.searchsorted(on[:size], first), np.searchsorted(on[:size], last, "right")):
        ref = refs[e]
        if code == ACCOUNT_CAP:
            member = True
        elif ref < n_history:
            member = _in_log(code, a, wanted, T.category[i], H.slot[ref], H.channel[ref],
                             H.category[ref], H.promotional[ref], H.checkin[ref],
                             H.announcement[ref])
        else:
            row = ref - n_history
            member = _in_log(code, a, wanted, T.category[i], T.slot[row], T.channel[row],
                             T.category[row], T.promotional[row], T.checkin[row],
                             T.announcement[row])
        if member:
            listed_ref[n_listed] = ref
            listed_day[n_listed] = on[e] - base
            n_listed += 1
    blocks = texts[0]
    for f in range(6):
        blocks[6 * n_blocks + f] = found[f]
    blocks[6 * n_blocks + 4] -= base
    blocks[6 * n_blocks + 5] -= base
    out_block[i] = n_blocks
    texts[5][n_blocks] = i
    n_blocks += 1
    texts[1][n_blocks] = n_listed
    sizes[0], sizes[1] = n_blocks, n_listed


@njit(cache=True)
def _place_protected(i, segment, out_day, placed, done, escalated, out_kind, out_named,
                     out_block, texts, refused_day, state, n_history, T, P, D, L, H, Z):
    # i's class and contact together: the exact search over them and the contact's touches
    # placed before (kept, maybe moved); what it cannot keep is escalated.
    c, klass = T.contact[i], T.klass[i]
    rows = np.zeros(len(segment), dtype=np.int64)
    must = np.zeros(len(segment), dtype=np.bool_)
    m = 0
    for r in segment:  # rank order
        if T.contact[r] != c:
            continue
        if placed[r] or (T.klass[r] == klass and not done[r]):
            rows[m] = r
            must[m] = placed[r]
            m += 1
    rows, must = rows[:m], must[:m]
    if m > EXACT_MAX_TOUCHES:
        for r in rows:
            if not placed[r]:
                _place_one(r, out_day, placed, escalated, out_kind, out_named, out_block,
                           texts, refused_day, state, n_history, T, P, D, L, H, Z)
                done[r] = True
        return
    base = Z.base
    was = np.full(m, -1, dtype=np.int64)
    for k in range(m):
        if must[k]:
            was[k] = out_day[rows[k]] + base
            _lift(rows[k], was[k], state, n_history, T)
    best = _best_days(rows, must, state, n_history, T, P, D, L, H, Z)
    if best[0] == -2:  # no complete plan found: everything stays as it was
        best = was
    for k in range(m):
        r = rows[k]
        if best[k] >= 0:
            _put(r, best[k], state, n_history, T)
            placed[r] = True
    for k in range(m):
        r = rows[k]
        done[r] = done[r] or T.klass[r] == klass
        if best[k] >= 0:
            out_day[r] = _redescribe(r, best[k], refused_day, out_kind, out_named, out_block,
                                     texts, state, n_history, T, P, D, L, H, Z) - base
        else:
            _place_one(r, out_day, placed, escalated, out_kind, out_named, out_block, texts,
                       refused_day, state, n_history, T, P, D, L, H, Z)


@njit(cache=True)
def _best_days(rows, must, state, n_history, T, P, D, L, H, Z):
    # Branch and bound: the day index of each row (-1: left out) that keeps every ``must``
    # row and the most value, the first such in the rows' order and each row's day order
    # (so the earliest preferred days); best[0] == -2 when no complete plan was found in
    # EXACT_MAX_NODES steps. The state is as it came on return.
    m = len(rows)
    total = np.zeros(m, dtype=np.int64)
    p0 = np.zeros(m, dtype=np.int64)
    n_preferred = np.zeros(m, dtype=np.int64)
    o0 = np.zeros(m, dtype=np.int64)
    rest = np.zeros(m + 1, dtype=np.int64)  # value still to gain from row k on
    for k in range(m - 1, -1, -1):
        r = rows[k]
        total[k], p0[k], n_preferred[k], o0[k] = _n_days(r, T.group[r], Z.base, T, D)
        rest[k] = rest[k + 1] + T.value[r]
    counts, local = state[0], state[8]
    first = rows[0] if m else 0
    s = local[T.contact[first]]
    t = T.tier[first]
    day_of = np.full(m, -1, dtype=np.int64)
    option = np.zeros(m, dtype=np.int64)
    best = np.full(m, -2, dtype=np.int64)
    best_value = -1
    value = 0
    nodes = 0
    k = 0
    while k >= 0:
        if k == m:
            if value > best_value and _mix_holds(counts[s], L.share_width[t], L.max_share[t]):
                best_value = value
                best[:] = day_of
            k -= 1
            continue
        r = rows[k]
        if day_of[k] >= 0:
            _lift(r, day_of[k], state, n_history, T)
            value -= T.value[r]
            day_of[k] = -1
        nodes += 1
        if nodes > EXACT_MAX_NODES:
            break
        if value + rest[k] <= best_value:
            option[k] = total[k] + 1  # cannot beat the best: back up
        advanced = False
        while option[k] < total[k]:
            day = _day_at(option[k], T.group[r], p0[k], n_preferred[k], o0[k], D)
            option[k] += 1
            if _fits(r, day, state, n_history, T, P, L, H):
                _put(r, day, state, n_history, T)
                day_of[k] = day
                value += T.value[r]
                advanced = True
                break
        if not advanced and option[k] == total[k] and not must[k]:
            option[k] += 1  # the branch leaving the row out
            advanced = True
        if advanced:
            k += 1
            if k < m:
                option[k] = 0
                day_of[k] = -1
        else:
            k -= 1
    for j in range(m):
        if day_of[j] >= 0:
            _lift(rows[j], day_of[j], state, n_history, T)
    return best
