"""The planner engine: applies DESIGN §8's rules in precedence and returns one calendar and
exactly one decision per candidate.

Vectorized first (pandas/numpy): 1 eligibility, 2 transactional bypass, 3 deduplication,
6 account conflicts, 8 allowed days per group, 10 priority order. Then one tight pass over
the touches sorted by account and priority places each on the first day its caps (4),
spacing (5), announcement clash (6) and mix (7) allow, deferring (11) or dropping it; the
per-account state stays small. Finally 9 levels CSM human touches across weeks.
Deterministic: rows are sorted by touch_id first and every sort is stable.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import lru_cache

import numpy as np
import pandas as pd

from cadence.planner.csm_capacity import level_csm_load
from cadence.planner.deduplication import RULE as DEDUP
from cadence.planner.deduplication import duplicate_winners
from cadence.planner.deferral import (
    day_text,
    days_to_try,
    deferred_reason,
    dropped_detail,
    first_hard_block,
    place,
    refusal_of,
)
from cadence.planner.eligibility import RULE as ELIGIBILITY
from cadence.planner.eligibility import ineligible
from cadence.planner.frequency_cap import channel_caps
from cadence.planner.inputs import PlanningContext
from cadence.planner.load import Touch
from cadence.planner.priority import priority_rank
from cadence.planner.send_timing import RULE as TIMING
from cadence.planner.send_timing import utc_of_local
from cadence.planner.touch_facts import (
    TouchFacts,
    counted_history,
    history_loads,
    new_account_log,
    new_contact_load,
    preference_frequencies,
    touch_facts,
)
from cadence.policy import Policy
from cadence.touches import CALENDAR_DECISIONS, COMMUNICATION_CALENDAR

TRANSACTIONAL = "2.transactional_bypass"
# The shard a row was planned in is the glue's concern (cadence.planner.sharding).
CALENDAR_COLUMNS = [c for c in COMMUNICATION_CALENDAR if c != "shard"]
DECISION_COLUMNS = [c for c in CALENDAR_DECISIONS if c != "shard"]
CONFLICTS = "6.conflicts"
ROWS_PER_SLICE = 65_536


@dataclass(frozen=True)
class PlanResult:
    """The planned calendar (communication_calendar columns) and one decision per
    candidate (calendar_decisions columns)."""

    calendar: pd.DataFrame
    decisions: pd.DataFrame


def plan_calendar(candidates: pd.DataFrame, context: PlanningContext, policy: Policy,
                  as_of: date) -> PlanResult:
    """Plan the candidates of ``as_of`` into one deduplicated calendar under every rule of
    DESIGN §8; the same inputs always give byte-identical frames."""
    with _without_cyclic_gc():
        # Every per-candidate working array is gone once _plan returns, before levelling.
        result = _plan(candidates, context, policy, as_of)
        calendar, decisions = level_csm_load(result.calendar, result.decisions, candidates,
                                             context, policy, as_of)
    return PlanResult(calendar, decisions)


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    # Planning allocates millions of small acyclic objects (day logs, touches, decision
    # rows); the cyclic collector rescanning them costs a sixth of the time and frees
    # nothing. Reference counting still frees everything as usual.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _plan(candidates: pd.DataFrame, context: PlanningContext, policy: Policy,
          as_of: date) -> PlanResult:
    # Rules 1 to 8, 10 and 11; CSM levelling (9) follows on the result.
    facts = touch_facts(candidates, context, policy, as_of)
    frame = facts.frame
    n = len(frame)
    outcome = _Outcome(n)

    history = context.history
    sent = history[history["status"] == "sent"].drop_duplicates("touch_id")
    sent_at = frame["touch_id"].map(sent.set_index("touch_id")["scheduled_at"])
    hit = sent_at.notna().to_numpy()
    sent_detail = np.full(n, None, dtype=object)
    sent_detail[hit] = [f"already sent at {pd.Timestamp(t).isoformat()}" for t in sent_at[hit]]
    outcome.decide(hit, "merged", DEDUP, sent_detail)

    why = ineligible(frame, facts.transactional, context.contacts, context.accounts,
                     context.preferences, context.suppressions)
    outcome.decide(outcome.open & pd.notna(why), "suppressed", ELIGIBILITY, why)

    rank = priority_rank(frame["priority"].to_numpy(dtype=np.int64), facts.latest_s, facts.arr)
    winners = duplicate_winners(frame["contact_id"].to_numpy(dtype=object),
                                frame["intent"].to_numpy(dtype=object), facts.earliest_s,
                                facts.latest_s, rank, outcome.open)
    losers = np.flatnonzero(winners >= 0)
    kept = winners[losers]
    merged_detail = np.full(n, None, dtype=object)
    merged_detail[losers] = [
        f"duplicate of {touch_id} ({team}, priority {priority}) for intent {intent}: the "
        f"higher priority is kept"
        for touch_id, team, priority, intent in zip(
            frame["touch_id"].iloc[kept].tolist(),
            frame["team"].iloc[kept].fillna("team unknown").tolist(),
            frame["priority"].iloc[kept].astype(np.int64).tolist(),
            frame["intent"].iloc[losers].tolist(), strict=True)]
    outcome.decide(winners >= 0, "merged", DEDUP, merged_detail)

    outcome.decide(outcome.open & pd.notna(facts.conflict), "suppressed", CONFLICTS,
                   facts.conflict)

    bypass = outcome.open & facts.transactional
    outcome.decide(bypass, "scheduled", TRANSACTIONAL,
                   "transactional: goes when due, bypassing caps, spacing, mix and timing")
    outcome.day[bypass] = facts.earliest_day[bypass]
    outcome.second[bypass] = facts.earliest_second[bypass]
    outcome.reason[bypass] = "transactional: sent when due"

    _place_all(facts, rank, outcome, context, policy, as_of)
    return _frames(facts, outcome, policy, as_of)


class _Outcome:
    """Decision arrays under construction, one slot per candidate."""

    def __init__(self, n: int) -> None:
        self.open = np.ones(n, dtype=bool)
        self.decision = np.full(n, None, dtype=object)
        self.rule = np.full(n, None, dtype=object)
        self.detail = np.full(n, None, dtype=object)
        self.reason = np.full(n, None, dtype=object)
        self.day = np.zeros(n, dtype=np.int64)
        self.second = np.zeros(n, dtype=np.int64)

    def decide(self, mask: np.ndarray, decision: str, rule: str, detail) -> None:
        """Decide the still-open rows of ``mask``; ``detail`` is one text or one per row."""
        mask = mask & self.open
        if isinstance(detail, np.ndarray):
            detail = detail[mask]
        self.decision[mask] = decision
        self.rule[mask] = rule
        self.detail[mask] = detail
        self.open &= ~mask


def _place_all(facts: TouchFacts, rank: np.ndarray, outcome: _Outcome,
               context: PlanningContext, policy: Policy, as_of: date) -> None:
    # The sequential part: per account, touches in priority order take the first day every
    # rule allows. State lives per account and is dropped when the next account starts.
    frame = facts.frame
    planner = policy.planner
    send = planner.timing.send_hour * 3600
    rows = np.flatnonzero(outcome.open)
    account_code = pd.factorize(frame["account_id"])[0]
    order = rows[np.lexsort((rank[rows], account_code[rows]))]

    history = counted_history(context, policy, as_of, frame["touch_id"])
    contact_history, account_history = history_loads(history, policy)
    frequencies = preference_frequencies(context.preferences, policy)
    limits_of = {tier: planner.limits_for(tier) for tier in sorted(set(facts.tier))}
    caps_of = {tier: channel_caps(limits) for tier, limits in limits_of.items()}

    text_columns = [frame[c] for c in ("touch_id", "contact_id", "account_id", "channel")]
    arrays = [facts.category, facts.promotional, facts.checkin, facts.announcement,
              facts.group, facts.first_day, facts.last_day, facts.first_second, facts.tier,
              facts.delayed_by_conflict, facts.earliest_day, facts.latest_s]

    def rows_in_order():
        # Plain lists in placement order (indexing them is much cheaper than numpy scalars),
        # a slice at a time so the ids become Python strings only while they are used.
        for start in range(0, len(order), ROWS_PER_SLICE):
            part = order[start:start + ROWS_PER_SLICE]
            yield from zip(part.tolist(), *(c.iloc[part].tolist() for c in text_columns),
                           *(a[part].tolist() for a in arrays), strict=True)

    columns = rows_in_order()
    rules_of = facts.day_rules
    conflicts = planner.conflicts
    low_csat = (f"promotional waits {conflicts.days_after_low_csat} days after a ticket "
                f"closed with CSAT <= {conflicts.low_csat_max}")
    decided: list[tuple] = []
    tried: dict[tuple[int, int, int], list[int]] = {}  # days to try per (group, window)
    current_account = None
    loads: dict = {}
    account_log = None
    for (i, touch_id, contact, account, channel, category, promotional, checkin, announcement,
         group, first, last, first_second, tier, delayed, wanted, latest_s) in columns:
        if account != current_account:
            current_account = account
            loads = {}
            account_log = new_account_log(account_history.get(account, ()))
        load = loads.get(contact)
        if load is None:
            load = loads[contact] = new_contact_load(contact_history.get(contact, ()))
        touch = Touch(touch_id, channel, category, promotional, checkin, announcement,
                      frequencies.get((contact, category)))
        rules = rules_of[group]
        limits, caps = limits_of[tier], caps_of[tier]
        days = tried.get((group, first, last))
        if days is None:
            days = tried[group, first, last] = days_to_try(rules, first, last)
        day, refused = place(touch, days, load, account_log, limits, caps)
        explain = refusal_of(touch, load, account_log, limits, caps) if refused else None
        if day is None:
            rule, detail = dropped_detail(as_of, rules, first, last, refused, explain,
                                          _instant_text(latest_s))
            if delayed and not refused:
                rule, detail = CONFLICTS, f"{detail}; {low_csat}"
            decided.append((i, "dropped", rule, detail, None, 0, 0))
            continue
        second = first_second if day == first else send
        if delayed:  # the conflict moved the window's start itself
            hard = (wanted, CONFLICTS, low_csat)
        else:  # described before the touch joins the logs its refusals point into
            hard = first_hard_block(as_of, rules, first, day, refused, explain)
        load.add(touch, day)
        account_log.add(day, touch_id)
        if hard is None:
            reason = f"first allowed slot {day_text(as_of, day)}"
            decided.append((i, "scheduled", TIMING, reason, reason, day, second))
        else:
            reason = deferred_reason(as_of, hard)
            decided.append((i, "deferred", hard[1], reason, reason, day, second))
    if decided:
        rows_, decision, rule, detail, reason, day, second = zip(*decided, strict=True)
        at = np.array(rows_, dtype=np.int64)
        outcome.decision[at] = decision
        outcome.rule[at] = rule
        outcome.detail[at] = detail
        outcome.reason[at] = reason
        outcome.day[at] = day
        outcome.second[at] = second
        outcome.open[at] = False


@lru_cache(maxsize=65536)
def _instant_text(epoch_s: int) -> str:
    # Many touches share a latest_at; its text is made once.
    return datetime.fromtimestamp(epoch_s, UTC).isoformat()


def _frames(facts: TouchFacts, outcome: _Outcome, policy: Policy, as_of: date) -> PlanResult:
    frame = facts.frame
    planned_at = pd.Timestamp(datetime.combine(as_of, time(), tzinfo=UTC))
    planned = np.isin(outcome.decision, ["scheduled", "deferred"])
    rows = np.flatnonzero(planned)
    utc, wall = utc_of_local(outcome.day[rows], outcome.second[rows], facts.zone[rows],
                             facts.zones, as_of)
    bypass = facts.transactional[rows]
    utc = np.where(bypass, facts.earliest_s[rows], utc)
    calendar = frame.iloc[rows].reset_index(drop=True)
    calendar["plan_date"] = as_of
    calendar["csm_id"] = facts.csm_id[rows]
    calendar["scheduled_at"] = pd.to_datetime(utc, unit="s", utc=True)
    calendar["local_send_at"] = pd.to_datetime(wall, unit="s")
    calendar["timezone"] = np.array(facts.zones, dtype=object)[facts.zone[rows]]
    calendar["status"] = "scheduled"
    calendar["reason"] = outcome.reason[rows]
    calendar["batch_id"] = None
    calendar["provider_message_id"] = None
    calendar["updated_at"] = planned_at
    tz_text = calendar["timezone"].to_numpy(dtype=object)
    local_text = calendar["local_send_at"].dt.strftime("%H:%M").to_numpy(dtype=object)
    detail = outcome.detail.copy()
    detail[rows] = [f"{d}; planned {day_text(as_of, int(day))} {hm} {tz}"
                    for d, day, hm, tz in zip(outcome.detail[rows], outcome.day[rows],
                                              local_text, tz_text, strict=True)]
    decisions = pd.DataFrame({
        "touch_id": frame["touch_id"], "plan_date": as_of,
        "contact_id": frame["contact_id"], "account_id": frame["account_id"],
        "decision": outcome.decision, "rule": outcome.rule, "detail": detail,
        "decided_at": planned_at,
    })
    return PlanResult(calendar[CALENDAR_COLUMNS], decisions[DECISION_COLUMNS])
