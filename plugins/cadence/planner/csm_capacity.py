"""Rule 9: CSM capacity — human touches (calls, meetings) per CSM per week stay within the
CSM's weekly_capacity and are level-loaded across the weeks their windows allow (100
monthly check-ins -> ~25 a week). Touches are placed by priority class, QBRs and renewal
tasks first inside it, then by priority. A human touch moves to the least-loaded week with
room where its contact's caps, spacing and mix still hold, else it is dropped (escalated
when its class is protected); the decision row of every moved, dropped or escalated touch
is replaced, so there stays exactly one per candidate.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from cadence.planner.day_logs import ContactLoad, DayLog, Touch
from cadence.planner.deferral import day_text, days_to_try, fits
from cadence.planner.frequency_cap import channel_caps
from cadence.planner.inputs import PlanningContext
from cadence.planner.membership import is_in, positions
from cadence.planner.promotional_mix import RULE as MIX
from cadence.planner.promotional_mix import mix_exceeded
from cadence.planner.send_timing import utc_of_local
from cadence.planner.touch_facts import (
    counted_history,
    history_loads,
    new_account_log,
    new_contact_load,
    preference_frequencies,
    touch_facts,
)

if TYPE_CHECKING:
    from cadence.policy import Policy

RULE = "9.csm_capacity"


def week_of(as_of: date, day: int) -> int:
    """Monday-based week number of a day relative to the plan date (0 = the plan week)."""
    return (as_of.weekday() + day) // 7


CHANGE_COLUMNS = ["touch_id", "decision", "rule", "detail", "scheduled_at", "local_send_at",
                  "reason"]


def level_csm_load(calendar: pd.DataFrame, decisions: pd.DataFrame, candidates: pd.DataFrame,
                   context: PlanningContext, policy: Policy, as_of: date,
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Level every CSM's human touches of ``calendar`` across weeks under weekly capacity;
    returns (calendar, decisions) with moved and dropped touches and their decisions
    updated. ``candidates`` give each touch's window."""
    changes = csm_levelling_changes(calendar, candidates, context, policy, as_of)
    return apply_levelling(calendar, decisions, changes)


def human_touches(calendar: pd.DataFrame, policy: Policy) -> pd.Series:
    """Which calendar rows are CSM work that levelling places (calls and meetings of an
    account with a CSM, not transactional)."""
    return (calendar["channel"].isin(policy.planner.human_channels)
            & (calendar["message_type"] != "transactional") & calendar["csm_id"].notna())


def csm_levelling_changes(calendar: pd.DataFrame, candidates: pd.DataFrame,
                          context: PlanningContext, policy: Policy, as_of: date
                          ) -> pd.DataFrame:
    """What levelling ``calendar`` changes: one row per moved, dropped or escalated touch
    (and per promotional touch dropped to keep the mix), with its new decision, rule and
    detail and, for a touch that stays on the calendar, its new scheduled_at,
    local_send_at and reason (``CHANGE_COLUMNS``, by touch_id). ``calendar`` needs only the
    rows of the accounts with human touches; ``candidates`` those of their touches."""
    planner = policy.planner
    human = human_touches(calendar, policy)
    if not human.any():
        return _no_changes()
    calendar = calendar.reset_index(drop=True)
    origin = pd.Timestamp(as_of)
    day_of = ((calendar["local_send_at"] - origin) // pd.Timedelta(days=1)).to_numpy(np.int64,
                                                                                    copy=True)
    rows = np.flatnonzero(human.to_numpy())
    human_ids = calendar["touch_id"].iloc[rows]
    facts = touch_facts(candidates[is_in(candidates["touch_id"], human_ids)], context, policy,
                        as_of)
    at = positions(human_ids, facts.frame["touch_id"])  # each human row's facts
    if (at < 0).any():  # a calendar touch must have its candidate (its window)
        raise KeyError(human_ids.iloc[int(np.argmax(at < 0))])

    receives = _Receives(calendar, day_of, rows, context, policy, as_of)
    frequencies = preference_frequencies(context.preferences, policy)
    capacity = _capacities(context.csms, planner.csm_capacity.default_weekly_capacity)

    human_rows = calendar[["touch_id", "contact_id", "account_id", "channel", "csm_id",
                           "template_id", "source", "priority"]].iloc[rows]
    first = np.where(
        human_rows["template_id"].isin(planner.csm_capacity.first_templates).to_numpy(bool)
        | (human_rows["source"] == "renewal").to_numpy(bool), 0, 1)
    klass = facts.klass[at]
    csm_order = pd.factorize(human_rows["csm_id"].astype(str), sort=True)[0]
    order = np.lexsort((at, facts.latest_s[at], -human_rows["priority"].to_numpy(np.int64),
                        first, klass, csm_order))
    send = planner.timing.send_hour * 3600
    moved: dict[int, tuple[int, int]] = {}
    dropped: dict[int, str] = {}
    escalated: dict[int, str] = {}
    week_load = _sent_this_week(context, policy, as_of)
    touched_contacts: set[str] = set()
    reasons: dict[int, str] = {}  # the new reason of each moved row
    default_capacity = planner.csm_capacity.default_weekly_capacity
    # Plain lists in levelling order: indexing them is much cheaper than numpy scalars.
    in_order = at[order]
    class_names = policy.classes.names
    columns = [rows[order].tolist(), in_order.tolist(), day_of[rows[order]].tolist(),
               facts.first_day[in_order].tolist(), facts.last_day[in_order].tolist(),
               facts.protected[in_order].tolist(), klass[order].tolist()]
    columns += [human_rows[c].iloc[order].tolist() for c in
                ("touch_id", "contact_id", "account_id", "channel", "csm_id")]
    for (r, i, current, first, last, protected, touch_class, touch_id, contact, account,
         channel, csm) in zip(*columns, strict=True):
        limit = capacity.get(csm, default_capacity)
        current_week = week_of(as_of, current)
        weeks = range(week_of(as_of, min(first, current)), week_of(as_of, max(last, current)) + 1)
        ranked = sorted(weeks, key=lambda w: (week_load.get((csm, w), 0), w != current_week, w))
        touch = None  # made when a move or drop needs it
        chosen = None
        for week in ranked:
            if week_load.get((csm, week), 0) >= limit:
                break
            if week == current_week:
                chosen = current
                break
            touch = touch or _touch(touch_id, channel, contact, facts, i, frequencies)
            chosen = _day_in_week(touch, week, first, last, current, facts, i, receives,
                                  contact, account, policy, as_of)
            if chosen is not None:
                break
        if chosen is None:
            receives.drop(contact, account,
                          touch or _touch(touch_id, channel, contact, facts, i, frequencies))
            full = (f"CSM {csm} is at weekly capacity {limit} in every week from "
                    f"{day_text(as_of, first)} to {day_text(as_of, last)}")
            if protected:
                escalated[r] = (f"escalated ({class_names[touch_class]}, protected): {full}; "
                                "the CSM's manager decides who takes it")
            else:
                dropped[r] = full
            touched_contacts.add(contact)
            continue
        week = week_of(as_of, chosen)
        week_load[(csm, week)] = week_load.get((csm, week), 0) + 1
        if chosen != current:
            moved[r] = (current, chosen)
            touched_contacts.add(contact)
            reasons[r] = (f"levelled to {day_text(as_of, chosen)}: CSM {csm} "
                          f"capacity {limit} a week, QBRs and renewals first")
    facts_at = np.full(len(calendar), -1, dtype=np.int64)
    facts_at[rows] = at
    mix_drops = _restore_mix(receives, touched_contacts, calendar, policy)
    return _changes(calendar, moved, reasons, dropped, escalated, mix_drops, as_of,
                    candidates, _move(moved, facts, facts_at, send, as_of))


def _sent_this_week(context: PlanningContext, policy: Policy,
                    as_of: date) -> dict[tuple[str, int], int]:
    # The human touches each CSM already made in the plan's week (sent history): they use
    # the week's capacity as much as the planned ones.
    history = context.history
    planner = policy.planner
    sent = history[(history["status"] == "sent")
                   & history["channel"].isin(planner.human_channels)
                   & (history["message_type"] != "transactional")]
    if sent.empty:
        return {}
    csm_of = context.accounts.drop_duplicates("account_id", keep="last").set_index(
        "account_id")["csm_id"]
    csm = sent["account_id"].map(csm_of)
    day = (pd.to_datetime(sent["scheduled_at"], utc=True).dt.tz_localize(None).dt.normalize()
           - pd.Timestamp(as_of)) // pd.Timedelta(days=1)
    load: dict[tuple[str, int], int] = {}
    for who, when in zip(csm.tolist(), day.tolist(), strict=True):
        week = week_of(as_of, int(when))
        if isinstance(who, str) and week >= 0:
            load[(who, week)] = load.get((who, week), 0) + 1
    return load


def _touch(touch_id: str, channel: str, contact: str, facts, i: int,
           frequencies: dict[tuple[str, str], list[tuple[str, int]]]) -> Touch:
    # The human touch as the contact's load holds it (promotional when its type or its
    # category is, as the load counted it).
    category = facts.category[i]
    return Touch(touch_id, channel, category, bool(facts.promotional[i]),
                 bool(facts.checkin[i]), bool(facts.announcement[i]),
                 frequencies.get((contact, category)))


def _move(moved: dict[int, tuple[int, int]], facts, facts_at: np.ndarray, send: int,
          as_of: date) -> dict[int, tuple[pd.Timestamp, pd.Timestamp]]:
    # New UTC and local send times of the moved rows, computed together per timezone.
    rows = np.array(sorted(moved), dtype=np.int64)
    if not len(rows):
        return {}
    at = facts_at[rows]
    day = np.array([moved[r][1] for r in rows.tolist()], dtype=np.int64)
    second = np.where(day == facts.first_day[at], facts.first_second[at], send)
    utc, wall = utc_of_local(day, second, facts.zone[at], facts.zones, as_of)
    return dict(zip(rows.tolist(), zip(pd.to_datetime(utc, unit="s", utc=True),
                                       pd.to_datetime(wall, unit="s"), strict=True),
                    strict=True))


def _day_in_week(touch: Touch, week: int, first: int, last: int, current: int, facts,
                 i: int, receives: _Receives, contact: str, account: str, policy: Policy,
                 as_of: date) -> int | None:
    # Move the touch into ``week`` on a day its timing and its contact's rules allow;
    # when none does it stays on ``current``.
    week_start = week * 7 - as_of.weekday()
    lo, hi = max(first, week_start), min(last, week_start + 6)
    if lo > hi:
        return None
    load, account_log = receives.contact(contact), receives.account(account)
    limits = policy.planner.limits_for(facts.tier[i])
    caps = channel_caps(limits)
    load.remove(touch)
    account_log.remove(touch.touch_id)
    found = None
    for day in days_to_try(facts.day_rules[facts.group[i]], lo, hi):
        if fits(touch, day, load, account_log, limits, caps):
            found = day
            break
    stays = current if found is None else found
    load.add(touch, stays)
    account_log.add(stays, touch.touch_id)
    return found


def _capacities(csms: pd.DataFrame, default: int) -> dict[str, int]:
    capacity = pd.to_numeric(csms["weekly_capacity"], errors="coerce")
    return {csm: int(c) if pd.notna(c) else default
            for csm, c in zip(csms["csm_id"], capacity, strict=True)}


class _Receives:
    """What the contacts with a human touch and their accounts receive: counted history
    plus this calendar's non-transactional touches. A load is built when a touch first
    needs it; most human touches stay in their week and never do."""

    def __init__(self, calendar: pd.DataFrame, day_of: np.ndarray, human_rows: np.ndarray,
                 context: PlanningContext, policy: Policy, as_of: date) -> None:
        involved = calendar["contact_id"].iloc[human_rows].unique()
        # History rows count on their own: only the involved contacts' are worked out.
        theirs = context.history[is_in(context.history["contact_id"], involved)]
        history = counted_history(replace(context, history=theirs), policy, as_of,
                                  calendar["touch_id"])
        self._contact_history, self._account_history = history_loads(history, policy)
        conflicts = policy.planner.conflicts
        kept = np.flatnonzero((calendar["message_type"] != "transactional").to_numpy())
        planned = calendar[["touch_id", "account_id", "contact_id"]].iloc[kept]
        days = day_of[kept]
        # Each account's touches, in calendar order.
        self._account_rows = _spans(planned["account_id"])
        self._account_entries = (days.tolist(), planned["touch_id"].tolist())
        # Each involved contact's touches, in calendar order.
        of_involved = is_in(planned["contact_id"], involved)
        mine = calendar[["touch_id", "contact_id", "channel", "category", "message_type",
                         "template_id"]].iloc[kept[of_involved]]
        template = mine["template_id"]
        promotional = ((mine["message_type"] == "promotional")
                       | (mine["category"] == "promotional")).to_numpy(bool)
        self._contact_rows = _spans(mine["contact_id"])
        self._contact_entries = (
            days[of_involved].tolist(), mine["touch_id"].tolist(),
            mine["channel"].tolist(), mine["category"].tolist(), promotional.tolist(),
            template.isin(conflicts.checkin_templates).to_numpy(bool).tolist(),
            template.isin(conflicts.announcement_templates).to_numpy(bool).tolist())
        # Only these contacts can be over the promotional share (rule 7).
        self.with_promotional = set(mine["contact_id"][promotional].tolist())
        self.with_promotional.update(
            contact for contact, entries in self._contact_history.items()
            if any(touch.promotional for _, touch in entries))
        self._contacts: dict[str, ContactLoad] = {}
        self._accounts: dict[str, DayLog] = {}
        # Drops from loads not built yet, applied when they are.
        self._dropped_touches: dict[str, list[Touch]] = {}
        self._dropped_ids: dict[str, list[str]] = {}

    def contact(self, contact_id: str) -> ContactLoad:
        """The contact's load (the contact has a human touch)."""
        load = self._contacts.get(contact_id)
        if load is None:
            load = new_contact_load(self._contact_history.get(contact_id, ()))
            day, touch_id, channel, category, promotional, checkin, announcement = (
                self._contact_entries)
            load.extend([(day[k], Touch(touch_id[k], channel[k], category[k],
                                        promotional[k], checkin[k], announcement[k]))
                         for k in self._contact_rows.get(contact_id, ())])
            for touch in self._dropped_touches.pop(contact_id, ()):
                load.remove(touch)
            self._contacts[contact_id] = load
        return load

    def account(self, account_id: str) -> DayLog:
        """The account's log (the account has a human touch)."""
        log = self._accounts.get(account_id)
        if log is None:
            log = new_account_log(self._account_history.get(account_id, ()))
            day, touch_id = self._account_entries
            log.extend([(day[k], touch_id[k]) for k in self._account_rows.get(account_id, ())])
            for dropped in self._dropped_ids.pop(account_id, ()):
                log.remove(dropped)
            self._accounts[account_id] = log
        return log

    def drop(self, contact_id: str, account_id: str, touch: Touch) -> None:
        """Take a dropped touch out of its contact's load and its account's log."""
        load = self._contacts.get(contact_id)
        if load is None:
            self._dropped_touches.setdefault(contact_id, []).append(touch)
        else:
            load.remove(touch)
        log = self._accounts.get(account_id)
        if log is None:
            self._dropped_ids.setdefault(account_id, []).append(touch.touch_id)
        else:
            log.remove(touch.touch_id)


def _spans(keys: pd.Series) -> dict[str, list[int]]:
    # The positions of each key's rows, in order.
    code, uniques = pd.factorize(keys)
    order = np.argsort(code, kind="stable")
    bounds = np.searchsorted(code[order], np.arange(len(uniques) + 1)).tolist()
    order = order.tolist()
    return {key: order[bounds[k]:bounds[k + 1]] for k, key in enumerate(uniques.tolist())}


def _restore_mix(receives: _Receives, contacts: set[str], calendar: pd.DataFrame,
                 policy: Policy) -> dict[str, str]:
    # Moving or dropping human touches can lift a contact's promotional share over the
    # limit; the latest offending promotional touches are dropped until it holds again.
    limits_default = policy.planner.limits
    drops: dict[str, str] = {}
    contacts = contacts & receives.with_promotional
    if not contacts:
        return drops
    # These contacts' calendar touches, as their loads hold them. Only these can be
    # dropped: a window over the share on history alone (sent touches) is past.
    conflicts = policy.planner.conflicts
    theirs = calendar[["touch_id", "channel", "category", "template_id"]][
        is_in(calendar["contact_id"], contacts)]
    by_id = {touch_id: Touch(touch_id, channel, category, True,
                             template in conflicts.checkin_templates,
                             template in conflicts.announcement_templates)
             for touch_id, channel, category, template in zip(
                 *(theirs[c].tolist() for c in theirs.columns), strict=True)}
    for contact in sorted(contacts):
        load = receives.contact(contact)
        while True:
            over = [t for t in mix_exceeded(load, limits_default) if t in by_id]
            if not over:
                break
            touch_id = over[0]
            load.remove(by_id[touch_id])
            drops[touch_id] = ("promotional share over the limit after CSM levelling "
                               "moved or dropped human touches")
    return drops


def _changes(calendar, moved, reasons, dropped, escalated, mix_drops, as_of, candidates,
             times) -> pd.DataFrame:
    # The decision of every moved, dropped or escalated touch; the dropped and escalated
    # ones leave the calendar. The note candidate policy gave a touch (a season, an account
    # override) still starts its detail, as the planner wrote it.
    rows = sorted(moved.keys() | dropped.keys() | escalated.keys())
    touch_ids = dict(zip(rows, calendar["touch_id"].iloc[rows].tolist(), strict=True))
    updates: dict[str, tuple[str, str, str]] = {}
    for r, (before, day) in moved.items():
        updates[touch_ids[r]] = ("deferred" if day > before else "scheduled", RULE,
                                 f"{reasons[r]}; planned {day_text(as_of, day)}")
    for r, detail in dropped.items():
        updates[touch_ids[r]] = ("dropped", RULE, detail)
    for r, detail in escalated.items():
        updates[touch_ids[r]] = ("escalated", RULE, detail)
    for touch_id, detail in mix_drops.items():
        updates[touch_id] = ("dropped", MIX, detail)
    if not updates:
        return _no_changes()
    keys = sorted(updates)
    if "note" in candidates.columns:
        at = positions(keys, candidates["touch_id"])  # each key's candidate row
        notes = candidates["note"].to_numpy(dtype=object)
        for key, k in zip(keys, at.tolist(), strict=True):
            note = notes[k] if k >= 0 else None
            if isinstance(note, str) and note:
                decision, rule, detail = updates[key]
                updates[key] = (decision, rule, f"{note}; {detail}")
    # A touch that stays has a new time and reason only when it moved.
    stays = {touch_ids[r]: (*times[r], reasons[r]) for r in moved
             if updates[touch_ids[r]][0] in ("scheduled", "deferred")}
    none = (pd.NaT, pd.NaT, None)
    changes = pd.DataFrame([(k, *updates[k], *stays.get(k, none)) for k in keys],
                           columns=CHANGE_COLUMNS)
    return _typed(changes)


def _no_changes() -> pd.DataFrame:
    return _typed(pd.DataFrame(columns=CHANGE_COLUMNS))


def _typed(changes: pd.DataFrame) -> pd.DataFrame:
    return changes.astype({"touch_id": object, "decision": object, "rule": object,
                           "detail": object, "reason": object}).assign(
        scheduled_at=pd.to_datetime(changes["scheduled_at"], utc=True),
        local_send_at=pd.to_datetime(changes["local_send_at"]))


def apply_levelling(calendar: pd.DataFrame, decisions: pd.DataFrame, changes: pd.DataFrame
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``calendar`` and ``decisions`` with levelling's ``changes`` made: moved touches at
    their new time with their new reason, dropped and escalated ones off the calendar,
    every changed touch's decision replaced."""
    calendar = calendar.reset_index(drop=True)
    decisions = decisions.reset_index(drop=True)
    if changes.empty:
        return calendar, decisions
    stays = changes[changes["scheduled_at"].notna()]
    at = positions(stays["touch_id"], calendar["touch_id"])  # each moved touch's row
    order = np.argsort(at, kind="stable")
    changed = np.zeros(len(calendar), dtype=bool)
    changed[at] = True
    calendar["reason"] = _replaced(calendar["reason"], changed,
                                   stays["reason"].iloc[order].tolist())
    calendar.loc[at, "scheduled_at"] = stays["scheduled_at"].to_numpy()
    calendar.loc[at, "local_send_at"] = stays["local_send_at"].to_numpy()
    decisions = decisions.copy()
    # Hashing the few keys, not the million decisions.
    key_at = positions(decisions["touch_id"], changes["touch_id"])
    changed = key_at >= 0
    for column in ("decision", "rule", "detail"):
        decisions[column] = _replaced(decisions[column], changed,
                                      changes[column].to_numpy()[key_at[changed]].tolist())
    gone = changes.loc[changes["decision"].isin(["dropped", "escalated"]), "touch_id"]
    calendar = calendar[~is_in(calendar["touch_id"], gone)].reset_index(drop=True)
    return calendar, decisions


def _replaced(column: pd.Series, changed: np.ndarray, values: list[str]) -> pd.Series:
    # The text column with the ``changed`` rows (in row order) replaced, in Arrow: a
    # million-row column never becomes Python strings. The new buffers are spliced with
    # numpy from the unchanged runs and the new values: Arrow's replace_with_mask grows its
    # output row by row and costs twenty times as much on a long detail column.
    text = pa.array(column, from_pandas=True).cast(pa.large_string())
    new = pa.array(values, type=pa.large_string())
    rows = np.flatnonzero(changed)
    offsets = _buffer(text, 1, np.int64)[text.offset:text.offset + len(text) + 1]
    data = _buffer(text, 2, np.uint8)
    new_offsets, new_data = _buffer(new, 1, np.int64), _buffer(new, 2, np.uint8)
    lengths = np.diff(offsets)
    lengths[rows] = np.diff(new_offsets)
    spliced_offsets = np.zeros(len(text) + 1, dtype=np.int64)
    np.cumsum(lengths, out=spliced_offsets[1:])
    # Before each changed row, the unchanged run since the previous one.
    run_start = offsets[np.concatenate([[0], rows + 1])].tolist()
    run_end = offsets[np.append(rows, len(text))].tolist()
    value_start, value_end = new_offsets[:-1].tolist(), new_offsets[1:].tolist()
    pieces = [data[run_start[0]:run_end[0]]]
    for k in range(len(rows)):
        pieces += [new_data[value_start[k]:value_end[k]], data[run_start[k + 1]:run_end[k + 1]]]
    validity = None
    if text.null_count:
        valid = text.is_valid().to_numpy(zero_copy_only=False)
        valid[rows] = True
        validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
    spliced = pa.Array.from_buffers(
        pa.large_string(), len(text),
        [validity, pa.py_buffer(spliced_offsets), pa.py_buffer(np.concatenate(pieces))])
    return pd.Series(pd.array(spliced, dtype=column.dtype), index=column.index,
                     name=column.name)


def _buffer(array: pa.Array, index: int, dtype: type) -> np.ndarray:
    # One of a large_string array's buffers as numpy values (empty when absent).
    buffer = array.buffers()[index]
    if buffer is None:
        return np.zeros(0, dtype=dtype)
    return np.frombuffer(buffer, dtype=dtype, count=buffer.size // np.dtype(dtype).itemsize)
