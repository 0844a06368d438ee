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

from cadence.planner.deferral import day_text, days_to_try, first_block
from cadence.planner.frequency_cap import channel_caps
from cadence.planner.inputs import PlanningContext
from cadence.planner.load import ContactLoad, DayLog, Touch
from cadence.planner.promotional_mix import RULE as MIX
from cadence.planner.promotional_mix import mix_exceeded
from cadence.planner.send_timing import utc_of_local
from cadence.planner.touch_facts import (
    counted_history,
    epoch_seconds,
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
    facts = touch_facts(candidates[candidates["touch_id"].isin(calendar.loc[human, "touch_id"])],
                        context, policy, as_of)
    position = {tid: i for i, tid in enumerate(facts.frame["touch_id"])}

    contacts_involved = set(calendar.loc[human, "contact_id"])
    loads, account_logs = _loads(calendar, day_of, contacts_involved, context, policy, as_of)
    frequencies = preference_frequencies(context.preferences, policy)
    capacity = _capacities(context.csms, planner.csm_capacity.default_weekly_capacity)
    first_templates = set(planner.csm_capacity.first_templates)

    rows = np.flatnonzero(human.to_numpy())
    first_class = np.array([
        0 if (calendar.at[r, "template_id"] in first_templates
              or calendar.at[r, "source"] == "renewal") else 1 for r in rows])
    latest = epoch_seconds(candidates.set_index("touch_id").loc[
        calendar.loc[rows, "touch_id"], "latest_at"].reset_index(drop=True))
    order = np.lexsort((calendar.loc[rows, "touch_id"].to_numpy(dtype=object).astype(str),
                        latest, -calendar.loc[rows, "priority"].to_numpy(np.int64), first_class,
                        calendar.loc[rows, "csm_id"].to_numpy(dtype=object).astype(str)))
    send = planner.timing.send_hour * 3600
    moved: dict[int, int] = {}
    dropped: dict[int, str] = {}
    week_load: dict[tuple[str, int], int] = {}
    touched_contacts: set[str] = set()
    for r in rows[order]:
        row = calendar.loc[r]
        i = position[row["touch_id"]]
        csm = row["csm_id"]
        limit = capacity.get(csm, planner.csm_capacity.default_weekly_capacity)
        current = int(day_of[r])
        first, last = int(facts.first_day[i]), int(facts.last_day[i])
        weeks = sorted({week_of(as_of, d) for d in range(min(first, current),
                                                          max(last, current) + 1)}
                       | {week_of(as_of, current)})
        current_week = week_of(as_of, current)
        ranked = sorted(weeks, key=lambda w: (week_load.get((csm, w), 0), w != current_week, w))
        load = loads[row["contact_id"]]
        touch = Touch(row["touch_id"], row["channel"], facts.category[i], False,
                      bool(facts.checkin[i]), bool(facts.announcement[i]),
                      frequencies.get((row["contact_id"], facts.category[i])))
        chosen = None
        for week in ranked:
            if week_load.get((csm, week), 0) >= limit:
                break
            if week == current_week:
                chosen = current
                break
            chosen = _day_in_week(touch, week, first, last, current, facts, i, load,
                                  account_logs[row["account_id"]], policy, as_of)
            if chosen is not None:
                break
        if chosen is None:
            load.remove(touch)
            account_logs[row["account_id"]].remove(touch.touch_id)
            dropped[r] = (f"CSM {csm} is at weekly capacity {limit} in every week from "
                          f"{day_text(as_of, first)} to {day_text(as_of, last)}")
            touched_contacts.add(row["contact_id"])
            continue
        week_load[(csm, week_of(as_of, chosen))] = week_load.get(
            (csm, week_of(as_of, chosen)), 0) + 1
        if chosen != current:
            moved[r] = (current, chosen)
            touched_contacts.add(row["contact_id"])
            day_of[r] = chosen
            second = facts.first_second[i] if chosen == first else send
            utc, wall = utc_of_local(np.array([chosen]), np.array([second]),
                                     facts.zone[i:i + 1], facts.zones, as_of)
            calendar.at[r, "scheduled_at"] = pd.Timestamp(int(utc[0]) * 10**9, tz="UTC")
            calendar.at[r, "local_send_at"] = pd.Timestamp(int(wall[0]) * 10**9)
            calendar.at[r, "reason"] = (f"levelled to {day_text(as_of, chosen)}: CSM {csm} "
                                        f"capacity {limit} a week, QBRs and renewals first")
    mix_drops = _restore_mix(loads, touched_contacts, calendar, policy)
    return _apply(calendar, decisions, moved, dropped, mix_drops, as_of)


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
        if first_block(touch, day, load, account_log, limits, caps) is None:
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
    history = counted_history(context, policy, as_of, set(calendar["touch_id"]))
    history = history[history["contact_id"].isin(contacts)]
    contact_history, account_history = history_loads(history, policy)
    accounts = set(calendar.loc[calendar["contact_id"].isin(contacts), "account_id"])
    loads = {c: new_contact_load(contact_history.get(c, ())) for c in sorted(contacts)}
    logs = {a: new_account_log(account_history.get(a, ())) for a in sorted(accounts)}
    conflicts = policy.planner.conflicts
    planned = calendar[(calendar["message_type"] != "transactional")
                       & calendar["account_id"].isin(accounts)]
    for r in planned.index:
        row = calendar.loc[r]
        if row["account_id"] in logs:
            logs[row["account_id"]].add(int(day_of[r]), row["touch_id"])
        if row["contact_id"] in loads:
            promotional = "promotional" in (row["message_type"], row["category"])
            touch = Touch(row["touch_id"], row["channel"], row["category"], promotional,
                          row["template_id"] in conflicts.checkin_templates,
                          row["template_id"] in conflicts.announcement_templates)
            loads[row["contact_id"]].add(touch, int(day_of[r]))
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
    decisions = decisions.copy()
    index = {tid: i for i, tid in enumerate(decisions["touch_id"])}
    for r, (before, day) in moved.items():
        i = index[calendar.at[r, "touch_id"]]
        decisions.at[i, "decision"] = "deferred" if day > before else "scheduled"
        decisions.at[i, "rule"] = RULE
        decisions.at[i, "detail"] = f"{calendar.at[r, 'reason']}; planned {day_text(as_of, day)}"
    gone = set()
    for r, detail in dropped.items():
        tid = calendar.at[r, "touch_id"]
        gone.add(tid)
        decisions.loc[index[tid], ["decision", "rule", "detail"]] = ["dropped", RULE, detail]
    for tid, detail in mix_drops.items():
        gone.add(tid)
        decisions.loc[index[tid], ["decision", "rule", "detail"]] = ["dropped", MIX, detail]
    calendar = calendar[~calendar["touch_id"].isin(gone)].reset_index(drop=True)
    return calendar, decisions
