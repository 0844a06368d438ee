"""Rule 9: CSM capacity — human touches (calls, meetings) per CSM per week stay within the
CSM's weekly_capacity and are level-loaded across the weeks their windows allow (100
monthly check-ins -> ~25 a week). QBRs and renewal tasks are placed first, then by
priority. A human touch moves to the least-loaded week with room where its contact's caps,
spacing and mix still hold, else it is dropped; the decision row of every moved or dropped
touch is replaced, so there stays exactly one per candidate.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cadence.planner.deferral import day_text, days_to_try, fits
from cadence.planner.frequency_cap import channel_caps
from cadence.planner.inputs import PlanningContext
from cadence.planner.load import ContactLoad, DayLog, Touch
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
from cadence.policy import Policy

RULE = "9.csm_capacity"


def week_of(as_of: date, day: int) -> int:
    """Monday-based week number of a day relative to the plan date (0 = the plan week)."""
    return (as_of.weekday() + day) // 7


def level_csm_load(calendar: pd.DataFrame, decisions: pd.DataFrame, candidates: pd.DataFrame,
                   context: PlanningContext, policy: Policy, as_of: date,
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Level every CSM's human touches of ``calendar`` across weeks under weekly capacity;
    returns (calendar, decisions) with moved and dropped touches and their decisions
    updated. ``candidates`` give each touch's window."""
    planner = policy.planner
    human = (calendar["channel"].isin(planner.human_channels)
             & (calendar["message_type"] != "transactional") & calendar["csm_id"].notna())
    if not human.any():
        return calendar, decisions
    calendar = calendar.reset_index(drop=True)
    decisions = decisions.reset_index(drop=True)
    origin = pd.Timestamp(as_of)
    day_of = ((calendar["local_send_at"] - origin) // pd.Timedelta(days=1)).to_numpy(np.int64,
                                                                                    copy=True)
    facts = touch_facts(candidates[is_in(candidates["touch_id"], calendar.loc[human, "touch_id"])],
                        context, policy, as_of)
    position = {tid: i for i, tid in enumerate(facts.frame["touch_id"])}

    contacts_involved = set(calendar.loc[human, "contact_id"])
    loads, account_logs = _loads(calendar, day_of, contacts_involved, context, policy, as_of)
    frequencies = preference_frequencies(context.preferences, policy)
    capacity = _capacities(context.csms, planner.csm_capacity.default_weekly_capacity)
    first_templates = set(planner.csm_capacity.first_templates)

    col = {c: calendar[c].to_numpy(dtype=object) for c in
           ("touch_id", "contact_id", "account_id", "channel", "csm_id", "template_id",
            "source")}
    rows = np.flatnonzero(human.to_numpy())
    first_class = np.array([
        0 if (col["template_id"][r] in first_templates or col["source"][r] == "renewal")
        else 1 for r in rows])
    at = np.array([position[t] for t in col["touch_id"][rows]], dtype=np.int64)
    order = np.lexsort((at, facts.latest_s[at], -calendar["priority"].to_numpy(np.int64)[rows],
                        first_class, col["csm_id"][rows].astype(str)))
    send = planner.timing.send_hour * 3600
    moved: dict[int, tuple[int, int]] = {}
    dropped: dict[int, str] = {}
    week_load: dict[tuple[str, int], int] = {}
    touched_contacts: set[str] = set()
    reasons = calendar["reason"].to_numpy(dtype=object, copy=True)
    for r, i in zip(rows[order], at[order], strict=True):
        csm, contact, account = col["csm_id"][r], col["contact_id"][r], col["account_id"][r]
        limit = capacity.get(csm, planner.csm_capacity.default_weekly_capacity)
        current = int(day_of[r])
        first, last = int(facts.first_day[i]), int(facts.last_day[i])
        current_week = week_of(as_of, current)
        weeks = set(range(week_of(as_of, min(first, current)),
                          week_of(as_of, max(last, current)) + 1))
        ranked = sorted(weeks, key=lambda w: (week_load.get((csm, w), 0), w != current_week, w))
        load = loads[contact]
        touch = Touch(col["touch_id"][r], col["channel"][r], facts.category[i], False,
                      bool(facts.checkin[i]), bool(facts.announcement[i]),
                      frequencies.get((contact, facts.category[i])))
        chosen = None
        for week in ranked:
            if week_load.get((csm, week), 0) >= limit:
                break
            if week == current_week:
                chosen = current
                break
            chosen = _day_in_week(touch, week, first, last, current, facts, i, load,
                                  account_logs[account], policy, as_of)
            if chosen is not None:
                break
        if chosen is None:
            load.remove(touch)
            account_logs[account].remove(touch.touch_id)
            dropped[r] = (f"CSM {csm} is at weekly capacity {limit} in every week from "
                          f"{day_text(as_of, first)} to {day_text(as_of, last)}")
            touched_contacts.add(contact)
            continue
        week = week_of(as_of, chosen)
        week_load[(csm, week)] = week_load.get((csm, week), 0) + 1
        if chosen != current:
            moved[r] = (current, chosen)
            touched_contacts.add(contact)
            reasons[r] = (f"levelled to {day_text(as_of, chosen)}: CSM {csm} "
                          f"capacity {limit} a week, QBRs and renewals first")
    calendar["reason"] = reasons
    if moved:
        _move(calendar, moved, facts, position, send, as_of)
    mix_drops = _restore_mix(loads, touched_contacts, calendar, policy)
    return _apply(calendar, decisions, moved, dropped, mix_drops, as_of)


def _move(calendar: pd.DataFrame, moved: dict[int, tuple[int, int]], facts,
          position: dict[str, int], send: int, as_of: date) -> None:
    # New UTC and local send times of the moved rows, computed together per timezone.
    rows = np.array(sorted(moved), dtype=np.int64)
    at = np.array([position[t] for t in calendar["touch_id"].to_numpy(dtype=object)[rows]],
                  dtype=np.int64)
    day = np.array([moved[r][1] for r in rows], dtype=np.int64)
    second = np.where(day == facts.first_day[at], facts.first_second[at], send)
    utc, wall = utc_of_local(day, second, facts.zone[at], facts.zones, as_of)
    calendar.loc[rows, "scheduled_at"] = pd.to_datetime(utc, unit="s", utc=True).to_numpy()
    calendar.loc[rows, "local_send_at"] = pd.to_datetime(wall, unit="s").to_numpy()


def _day_in_week(touch: Touch, week: int, first: int, last: int, current: int, facts,
                 i: int, load: ContactLoad, account_log: DayLog, policy: Policy,
                 as_of: date) -> int | None:
    # Move the touch into ``week`` on a day its timing and its contact's rules allow;
    # when none does it stays on ``current``.
    week_start = week * 7 - as_of.weekday()
    lo, hi = max(first, week_start), min(last, week_start + 6)
    if lo > hi:
        return None
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


def _loads(calendar, day_of, contacts, context, policy, as_of):
    # What each involved contact and account receives: counted history plus this calendar.
    history = counted_history(context, policy, as_of, calendar["touch_id"])
    history = history[is_in(history["contact_id"], contacts)]
    contact_history, account_history = history_loads(history, policy)
    accounts = set(calendar.loc[is_in(calendar["contact_id"], contacts), "account_id"])
    loads = {c: new_contact_load(contact_history.get(c, ())) for c in sorted(contacts)}
    logs = {a: new_account_log(account_history.get(a, ())) for a in sorted(accounts)}
    conflicts = policy.planner.conflicts
    planned = np.flatnonzero((calendar["message_type"] != "transactional")
                              & is_in(calendar["account_id"], accounts))
    col = {c: calendar[c].to_numpy(dtype=object)[planned] for c in
           ("touch_id", "contact_id", "account_id", "channel", "message_type", "category",
            "template_id")}
    for k, r in enumerate(planned):
        day = int(day_of[r])
        logs[col["account_id"][k]].add(day, col["touch_id"][k])
        if col["contact_id"][k] in loads:
            promotional = "promotional" in (col["message_type"][k], col["category"][k])
            touch = Touch(col["touch_id"][k], col["channel"][k], col["category"][k],
                          promotional, col["template_id"][k] in conflicts.checkin_templates,
                          col["template_id"][k] in conflicts.announcement_templates)
            loads[col["contact_id"][k]].add(touch, day)
    return loads, logs


def _restore_mix(loads, contacts, calendar, policy) -> dict[str, str]:
    # Moving or dropping human touches can lift a contact's promotional share over the
    # limit; the latest offending promotional touches are dropped until it holds again.
    limits_default = policy.planner.limits
    drops: dict[str, str] = {}
    by_id = calendar.set_index("touch_id")
    for contact in sorted(contacts):
        load = loads[contact]
        while True:
            over = mix_exceeded(load, limits_default)
            if not over:
                break
            touch_id = over[0]
            row = by_id.loc[touch_id]
            load.remove(Touch(touch_id, row["channel"], row["category"], True, False, False))
            drops[touch_id] = ("promotional share over the limit after CSM levelling "
                               "moved or dropped human touches")
    return drops


def _apply(calendar, decisions, moved, dropped, mix_drops, as_of):
    # Replace the decision of every moved or dropped touch; drop them from the calendar.
    touch_ids = calendar["touch_id"].to_numpy(dtype=object)
    reasons = calendar["reason"].to_numpy(dtype=object)
    updates: dict[str, tuple[str, str, str]] = {}
    for r, (before, day) in moved.items():
        updates[touch_ids[r]] = ("deferred" if day > before else "scheduled", RULE,
                                 f"{reasons[r]}; planned {day_text(as_of, day)}")
    for r, detail in dropped.items():
        updates[touch_ids[r]] = ("dropped", RULE, detail)
    for touch_id, detail in mix_drops.items():
        updates[touch_id] = ("dropped", MIX, detail)
    if not updates:
        return calendar, decisions
    decisions = decisions.copy()
    keys = sorted(updates)
    rows = positions(keys, decisions["touch_id"])
    in_row_order = [keys[k] for k in np.argsort(rows, kind="stable")]
    changed = np.zeros(len(decisions), dtype=bool)
    changed[rows] = True
    for k, column in enumerate(("decision", "rule", "detail")):
        decisions[column] = _replaced(decisions[column], changed,
                                      [updates[t][k] for t in in_row_order])
    gone = [t for t in keys if updates[t][0] == "dropped"]
    calendar = calendar[~is_in(calendar["touch_id"], gone)].reset_index(drop=True)
    return calendar, decisions


def _replaced(column: pd.Series, changed: np.ndarray, values: list[str]) -> pd.Series:
    # The text column with the ``changed`` rows (in row order) replaced, in Arrow: a
    # million-row column never becomes Python strings.
    text = pa.array(column, from_pandas=True)
    new = pc.replace_with_mask(text, pa.array(changed), pa.array(values, type=text.type))
    return pd.Series(pd.array(new, dtype=column.dtype), index=column.index, name=column.name)
