"""The planner engine: applies DESIGN §8's rules in precedence and returns one calendar and
exactly one decision per candidate.

Vectorized first (pandas/numpy): 1 eligibility, 2 transactional bypass, 3 deduplication,
6 account conflicts, 8 allowed days per group, 10 priority order (class, then priority).
Then one compiled pass over the touches sorted by account and rank places them where
their caps (4), spacing (5), announcement clash (6) and mix (7) allow, deferring (11),
dropping or, for a protected class, escalating (cadence.planner.placement); the
per-account state stays small. Finally 9 levels CSM human touches across weeks.
Deterministic: rows are sorted by touch_id first and every sort is stable.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cadence.contract.tables import CALENDAR_DECISIONS, COMMUNICATION_CALENDAR
from cadence.planner.csm_capacity import level_csm_load
from cadence.planner.decision_details import (
    GIVEN,
    TEXT,
    Placed,
    clock_table,
    day_tables,
    instant_table,
    refusal_rules,
    refusal_whats,
    table,
    texts,
    write_texts,
)
from cadence.planner.deduplication import RULE as DEDUP
from cadence.planner.deduplication import duplicate_winners
from cadence.planner.deferral import RULE as DEFERRAL
from cadence.planner.eligibility import RULE as ELIGIBILITY
from cadence.planner.eligibility import ineligible
from cadence.planner.hold import RULE as HOLD
from cadence.planner.hold import held
from cadence.planner.inputs import PlanningContext
from cadence.planner.membership import positions
from cadence.planner.placement import (
    DEFERRED_BY_CONFLICT,
    DEFERRED_BY_TIMING,
    NO_ALLOWED_DAY,
    SCHEDULED,
    WINDOW_CLOSED,
    place_in_order,
)
from cadence.planner.placement_state import placement_state
from cadence.planner.priority import priority_rank
from cadence.planner.send_timing import DAY_S, utc_of_local
from cadence.planner.send_timing import RULE as TIMING
from cadence.planner.touch_facts import TouchFacts, counted_history, touch_facts

if TYPE_CHECKING:
    from cadence.policy import Policy

TRANSACTIONAL = "2.transactional_bypass"
# The shard a row was planned in is the glue's concern (cadence.planner.steps).
CALENDAR_COLUMNS = [c for c in COMMUNICATION_CALENDAR if c != "shard"]
DECISION_COLUMNS = [c for c in CALENDAR_DECISIONS if c != "shard"]
CONFLICTS = "6.conflicts"
DECISIONS = ("merged", "suppressed", "scheduled", "deferred", "dropped", "escalated", "held")
MERGED, SUPPRESSED, PLANNED, DEFERRED, DROPPED, ESCALATED, HELD = range(len(DECISIONS))
# The calendar reasons a vectorized rule gives; placed rows write their own.
REASONS = (None, "transactional: sent when due")


@dataclass(frozen=True)
class PlanResult:
    """The planned calendar (communication_calendar columns) and one decision per
    candidate (calendar_decisions columns)."""

    calendar: pd.DataFrame
    decisions: pd.DataFrame


def plan_calendar(candidates: pd.DataFrame, context: PlanningContext, policy: Policy,
                  as_of: date, level_csm: bool = True) -> PlanResult:
    """Plan the candidates of ``as_of`` into one deduplicated calendar under every rule of
    DESIGN §8; the same inputs always give byte-identical frames. ``level_csm=False``
    leaves rule 9 to the caller: a shard's plan, levelled once across every shard
    (cadence.planner.steps.level_csm_capacity), since a CSM's accounts span shards."""
    with _without_cyclic_gc():
        # Every per-candidate working array is gone once _plan returns, before levelling.
        result = _plan(candidates, context, policy, as_of)
        if not level_csm:
            return result
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
    at = positions(frame["touch_id"], sent["touch_id"])
    hit = at >= 0
    sent_at = pd.to_datetime(sent["scheduled_at"], utc=True).iloc[at[hit]]
    sent_detail = np.full(n, None, dtype=object)
    sent_detail[hit] = [f"already sent at {t.isoformat()}" for t in sent_at]
    outcome.decide(hit, "merged", DEDUP, sent_detail)

    hold = held(frame)
    outcome.decide(pd.notna(hold), "held", HOLD, hold)

    why = ineligible(frame, facts.transactional, context.contacts, context.accounts,
                     context.preferences, context.suppressions, facts.klass,
                     policy.classes.names, policy.planner.sms_classes)
    outcome.decide(outcome.open & pd.notna(why), "suppressed", ELIGIBILITY, why)

    rank = priority_rank(facts.klass, frame["priority"].to_numpy(dtype=np.int64),
                         facts.latest_s, facts.arr)
    # The Arrow id column factorizes without becoming Python strings.
    winners = duplicate_winners(frame["contact_id"], frame["intent"].to_numpy(dtype=object),
                                facts.earliest_s, facts.latest_s, rank, outcome.open)
    losers = np.flatnonzero(winners >= 0)
    kept = winners[losers]
    # "duplicate of <id> (<team>, priority <n>) for intent <intent>: the higher priority is
    # kept", joined in Arrow.
    merged_detail = pc.binary_join_element_wise(*[
        pa.scalar(part, TEXT) if isinstance(part, str) else part for part in (
            "duplicate of ", texts(frame["touch_id"].iloc[kept]), " (",
            texts(frame["team"].iloc[kept].fillna("team unknown")), ", priority ",
            pa.array(frame["priority"].to_numpy(dtype=np.int64)[kept]).cast(TEXT),
            ") for intent ", texts(frame["intent"].iloc[losers].astype(str)),
            ": the higher priority is kept", "")])
    outcome.decide(winners >= 0, "merged", DEDUP, merged_detail)

    outcome.decide(outcome.open & pd.notna(facts.conflict), "suppressed", CONFLICTS,
                   facts.conflict)

    bypass = outcome.open & facts.transactional
    outcome.decide(bypass, "scheduled", TRANSACTIONAL,
                   "transactional: goes when due, bypassing caps, spacing, mix and timing")
    outcome.day[bypass] = facts.earliest_day[bypass]
    outcome.second[bypass] = facts.earliest_second[bypass]
    outcome.reason[bypass] = REASONS.index("transactional: sent when due")

    _place_all(facts, rank, outcome, context, policy, as_of)
    return _frames(facts, outcome, policy, as_of)


class _Outcome:
    """Decision arrays under construction, one slot per candidate. Decisions, rules and
    given texts are codes into small tables: a million Python strings would cost more
    to turn into Arrow columns than everything else the frames need."""

    def __init__(self, n: int) -> None:
        self.open = np.ones(n, dtype=bool)
        self.decision = np.full(n, -1, dtype=np.int64)  # index into DECISIONS
        self.rule = np.full(n, -1, dtype=np.int64)  # index into rules
        self.rules: list[str] = []
        self.given = np.zeros(n, dtype=np.int64)  # index into the given details
        self.given_details: list = [np.array([None], dtype=object)]
        self.given_count = 1
        self.reason = np.zeros(n, dtype=np.int64)  # index into REASONS
        self.day = np.zeros(n, dtype=np.int64)
        self.second = np.zeros(n, dtype=np.int64)
        # What the texts of placed touches name (see decision_details.Placed); rows a
        # vectorized rule decided keep GIVEN and their own detail and reason.
        self.form = np.full(n, GIVEN, dtype=np.int64)
        self.named = np.zeros(n, dtype=np.int64)
        self.block = np.full(n, -1, dtype=np.int64)
        self.why = np.zeros(n, dtype=np.int64)
        self.latest = np.zeros(n, dtype=np.int64)
        self.refusals: tuple = (np.zeros(0, np.int64), np.zeros(1, np.int64),
                                np.zeros(0, np.int64), np.zeros(0, np.int64))
        self.tables: dict = {name: table([]) for name in ("latest", "why", "what",
                                                          "touch_id")}

    def decide(self, mask: np.ndarray, decision: str, rule: str, detail) -> None:
        """Decide the still-open rows of ``mask``; ``detail`` is one text, one per candidate
        (object array) or one per row of ``mask`` (Arrow)."""
        rows = np.flatnonzero(mask)
        still_open = self.open[rows]
        rows = rows[still_open]
        self.decision[rows] = DECISIONS.index(decision)
        self.rule[rows] = self.rule_codes([rule])[0]
        if isinstance(detail, np.ndarray | pa.Array):
            self.given_details.append(detail[rows] if isinstance(detail, np.ndarray)
                                      else detail.filter(pa.array(still_open)))
            self.given[rows] = self.given_count + np.arange(len(rows))
        else:
            self.given_details.append(np.array([detail], dtype=object))
            self.given[rows] = self.given_count
        self.given_count += len(self.given_details[-1])
        self.open[rows] = False

    def rule_codes(self, names) -> np.ndarray:
        """The codes of a few rule names (``None`` is -1), adding the new ones."""
        codes = []
        for name in names:
            if name is not None and name not in self.rules:
                self.rules.append(name)
            codes.append(-1 if name is None else self.rules.index(name))
        return np.array(codes, dtype=np.int64)


def _place_all(facts: TouchFacts, rank: np.ndarray, outcome: _Outcome,
               context: PlanningContext, policy: Policy, as_of: date) -> None:
    # The sequential part (compiled): per account, touches in priority order take the first
    # day every rule allows; what each decision must say is kept for the texts.
    frame = facts.frame
    planner = policy.planner
    rows = np.flatnonzero(outcome.open)
    history = counted_history(context, policy, as_of, frame["touch_id"])
    state = placement_state(facts, history, context.preferences, policy)
    # By account, then rank: ranks are unique, so one unstable argsort of a combined key
    # gives lexsort's order in a tenth of the time.
    order = rows[np.argsort(state.account[rows].astype(np.int64) * len(rank) + rank[rows])]
    (day, kind, named, block, escalated, refused, blocks, listed_start, listed_ref,
     listed_day) = place_in_order(order, *state.arguments())
    kind, day, named, block = kind[order], day[order], named[order], block[order]
    escalated = escalated[order]
    first = facts.first_day[order]
    delayed = facts.delayed_by_conflict[order]
    what, what_index = refusal_whats(blocks, pd.DataFrame({
        "category": np.asarray(facts.category, dtype=object)[refused],
        "preference_channel": state.preference_channel_name(refused, blocks[:, 1]),
        "max_share": state.max_share_of(refused)}))
    why_index = state.why_index(facts.group[order],
                                np.where(kind == NO_ALLOWED_DAY, first, named))
    latest, latest_index = instant_table(facts.latest_s[order])

    # Rules as codes: the refusal kinds and timing reasons are a handful of names.
    deferral, conflicts, timing = outcome.rule_codes([DEFERRAL, CONFLICTS, TIMING])
    refusal_rule = np.full(len(order), -1, dtype=np.int64)
    if len(blocks):
        _, first_of_kind, kind_of_block = np.unique(blocks[:, 0], return_index=True,
                                                     return_inverse=True)
        block_rule = outcome.rule_codes(refusal_rules(blocks[first_of_kind]))[kind_of_block]
        refusal_rule = np.where(block >= 0, block_rule[np.maximum(block, 0)], -1)
    closed_or_none = (kind == WINDOW_CLOSED) | (kind == NO_ALLOWED_DAY)
    rule = np.select(
        [closed_or_none & delayed, kind == WINDOW_CLOSED,
         (kind == NO_ALLOWED_DAY) | (kind == DEFERRED_BY_TIMING), kind == SCHEDULED,
         kind == DEFERRED_BY_CONFLICT],
        [conflicts, deferral, outcome.rule_codes(state.why_rules)[why_index], timing,
         conflicts], refusal_rule)
    planned = kind > NO_ALLOWED_DAY
    send = planner.timing.send_hour * 3600
    outcome.decision[order] = np.where(
        kind <= NO_ALLOWED_DAY, np.where(escalated, ESCALATED, DROPPED),
        np.where(kind == SCHEDULED, PLANNED, DEFERRED))
    outcome.rule[order] = rule
    outcome.day[order[planned]] = day[planned]
    outcome.second[order[planned]] = np.where(day[planned] == first[planned],
                                              facts.first_second[order][planned], send)
    outcome.open[order] = False
    outcome.form[order] = kind
    outcome.named[order] = named
    outcome.block[order] = block
    outcome.why[order] = why_index
    outcome.latest[order] = latest_index
    outcome.refusals = (what_index, listed_start, listed_ref, listed_day)
    outcome.tables = {
        "latest": latest, "why": table(state.why_texts), "what": what,
        "touch_id": table(pa.concat_arrays([texts(history["touch_id"]),
                                            texts(frame["touch_id"])]))}


def _frames(facts: TouchFacts, outcome: _Outcome, policy: Policy, as_of: date) -> PlanResult:
    frame = facts.frame
    n = len(frame)
    conflicts = policy.planner.conflicts
    planned_at = pd.Timestamp(datetime.combine(as_of, time(), tzinfo=UTC))
    planned = (outcome.decision == PLANNED) | (outcome.decision == DEFERRED)
    rows = np.flatnonzero(planned)
    utc, wall = utc_of_local(outcome.day[rows], outcome.second[rows], facts.zone[rows],
                             facts.zones, as_of)
    bypass = facts.transactional[rows]
    utc = np.where(bypass, facts.earliest_s[rows], utc)

    # Every text is written from the facts each row keeps, over one set of day names.
    day_values = [outcome.day, outcome.named, facts.first_day, facts.last_day,
                  facts.earliest_day, outcome.refusals[3]]  # [3]: the listed touches' days
    first_day = min(int(v.min(initial=0)) for v in day_values)
    last_day = max(int(v.max(initial=0)) for v in day_values)
    named_day, iso_day = day_tables(as_of, first_day, last_day)
    clock, clock_index = clock_table(wall % DAY_S // 60)
    # "escalated (lifecycle_critical, protected): no allowed slot before ...": which
    # protected touch the CSM's manager gets a task for, and why it found no day.
    escalation = np.where(outcome.decision == ESCALATED, facts.klass, -1).astype(np.int64)
    tables = {**outcome.tables, "named_day": named_day, "iso_day": iso_day, "clock": clock,
              "zone": table(facts.zones),
              "prefix": table([f"escalated ({name}, protected): "
                               for name in policy.classes.names])}
    low_csat = (f"promotional waits {conflicts.days_after_low_csat} days after a ticket "
                f"closed with CSAT <= {conflicts.low_csat_max}")
    clock_of = np.zeros(n, dtype=np.int64)
    clock_of[rows] = clock_index
    every = Placed(form=outcome.form, given=outcome.given, planned=planned, day=outcome.day,
                   named=outcome.named, first=facts.first_day, last=facts.last_day,
                   wanted=facts.earliest_day, delayed=facts.delayed_by_conflict,
                   latest=outcome.latest, why=outcome.why, block=outcome.block,
                   clock=clock_of, zone=facts.zone.astype(np.int64), prefix=escalation)
    given = pa.concat_arrays([part if isinstance(part, pa.Array) else texts(part)
                             for part in outcome.given_details])
    detail = write_texts(every, table(given),
                         outcome.refusals, tables, first_day, low_csat)
    notes = frame["note"].fillna("").to_numpy(dtype=object)
    if notes.any():
        # "moved past season retail_peak (...): wanted from ...; <the planner's detail>":
        # what candidate policy changed comes first.
        note = pa.array(notes, TEXT)
        empty = pa.scalar("", TEXT)
        prefix = pc.if_else(pc.equal(note, empty), empty, pc.binary_join_element_wise(
            note, pa.scalar("; ", TEXT), empty))
        detail = pc.binary_join_element_wise(prefix, detail, pa.scalar("", TEXT))
    calendar_rows = Placed(**{name: values[rows] for name, values in vars(every).items()})
    calendar_rows.given = outcome.reason[rows]
    calendar_rows.planned = np.zeros(len(rows), dtype=bool)
    reason = write_texts(calendar_rows, table(REASONS), outcome.refusals, tables, first_day,
                         low_csat)

    calendar = frame.iloc[rows].reset_index(drop=True)
    calendar["plan_date"] = as_of
    calendar["csm_id"] = facts.csm_id[rows]
    calendar["scheduled_at"] = pd.to_datetime(utc, unit="s", utc=True)
    calendar["local_send_at"] = pd.to_datetime(wall, unit="s")
    calendar["timezone"] = pd.array(texts(facts.zones).take(pa.array(facts.zone[rows])),
                                    dtype="str")
    calendar["status"] = "scheduled"
    calendar["reason"] = pd.array(reason, dtype="str")
    calendar["batch_id"] = None
    calendar["provider_message_id"] = None
    calendar["updated_at"] = planned_at
    decisions = pd.DataFrame({
        "touch_id": frame["touch_id"], "plan_date": as_of,
        "contact_id": frame["contact_id"], "account_id": frame["account_id"],
        "decision": _coded(DECISIONS, outcome.decision),
        "rule": _coded(outcome.rules, outcome.rule),
        "detail": pd.array(detail, dtype="str"), "decided_at": planned_at,
    })
    return PlanResult(calendar[CALENDAR_COLUMNS], decisions[DECISION_COLUMNS])


def _coded(names, codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    # A text column from codes into a few names (-1 is missing), built in Arrow.
    return pd.array(texts(names).take(pa.array(codes, mask=codes < 0)), dtype="str")
