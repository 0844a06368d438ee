"""Dispatch: hand the touches due in a window to their providers, never losing one and
never sending one twice (the outbox protocol, DESIGN §9.3).

1. Record: each batch (id and idempotency key derived from provider and touch ids) and its
   deliveries, with the rendered messages, are committed *before* any call; the calendar
   rows get the batch id.
2. Send: the batch is marked ``sending`` (attempt + 1) and committed, then handed over.
3. Mark: the outcome per message (sent, failed with reason, unknown) is committed to the
   batch, the deliveries and the calendar.

A rerun after a crash first finishes what is pending: ``recorded`` batches are sent under
the same key; ``sending``/``unknown`` ones are reconciled by their provider (outbox: the
file exists; webhook: resent under the same Idempotency-Key; SendGrid/Intercom: only
engagement events prove acceptance, otherwise the batch stays unknown and is reported,
never resent blindly).

A run that is not live (backfill, catchup, a logical date in the past or in the future)
sends nothing through a real provider; with ``simulation`` every channel goes to the
outbox provider instead. A live run works from the wall clock read at send time (the
``clock`` it is given), not from its logical time: staleness, the due window and consent
are judged against the present, consent from every suppression known then, and contacts
with an unreadable consent row are held (:mod:`cadence.handoff.consent_holds`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import fields
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from cadence.contract.schema import table_columns
from cadence.contract.warehouse import Warehouse
from cadence.handoff import consent, consent_holds, store
from cadence.providers import build_provider
from cadence.providers.base import (
    ACCEPTED,
    FAILED,
    Batch,
    BatchResult,
    Message,
    MessageOutcome,
    Provider,
)
from cadence.providers.outbox import OutboxProvider
from cadence.providers.twilio import e164

log = logging.getLogger(__name__)

# provider outcome -> delivery and calendar status
CALENDAR_STATUS = {ACCEPTED: "sent", FAILED: "failed", "unknown": "unknown"}
DELIVERY_COLUMNS = list(table_columns("deliveries"))


def batch_id(provider: str, touch_ids: list[str]) -> str:
    """Deterministic: the same provider and touches always give the same batch id."""
    raw = provider + "|" + ",".join(sorted(touch_ids))
    return "b_" + hashlib.sha256(raw.encode()).hexdigest()[:24]


CONTACT_DETAILS = ["email", "first_name", "last_name", "phone", "account_name", "csm_name",
                   "csm_email"]


def render_messages(touches: pd.DataFrame, contacts: pd.DataFrame
                    ) -> tuple[list[Message], dict[str, str]]:
    """Messages for due touches (payload JSON plus first/last name, company and CSM), and
    the touches that cannot be rendered with the reason (unknown contact, bad payload,
    an email without address, an SMS without an E.164 phone number)."""
    details = contacts.drop_duplicates("contact_id").set_index("contact_id")[CONTACT_DETAILS]
    # One join and one pass over plain tuples: a lookup per touch is too slow at 100k.
    joined = touches.join(details, on="contact_id")
    known = touches["contact_id"].isin(details.index).to_numpy()
    send_at = pd.to_datetime(touches["scheduled_at"], utc=True)
    seconds = ((send_at - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy()
    messages: list[Message] = []
    problems: dict[str, str] = {}
    for touch, is_known, at in zip(joined.itertuples(index=False), known, seconds,
                                   strict=True):
        if not is_known:
            problems[touch.touch_id] = "contact not found in stg_contacts"
            continue
        try:
            payload = json.loads(touch.payload) if isinstance(touch.payload, str) else {}
        except json.JSONDecodeError:
            problems[touch.touch_id] = "payload is not valid JSON"
            continue
        email = touch.email if isinstance(touch.email, str) else None
        if touch.channel == "email" and email is None:
            problems[touch.touch_id] = "contact has no email address"
            continue
        phone = e164(touch.phone) if touch.channel == "sms" else None
        if touch.channel == "sms" and phone is None:
            problems[touch.touch_id] = "contact has no phone number in E.164 form"
            continue
        names = {"first_name": touch.first_name, "last_name": touch.last_name,
                 "company": touch.account_name, "csm_name": touch.csm_name,
                 "csm_email": touch.csm_email}
        data = {**payload, **{k: v for k, v in names.items() if isinstance(v, str)}}
        messages.append(Message(
            touch_id=touch.touch_id, contact_id=touch.contact_id, email=email,
            channel=touch.channel, message_type=touch.message_type,
            category=touch.category if isinstance(touch.category, str) else None,
            template_id=touch.template_id, data=data, send_at=int(at), phone=phone))
    return messages, problems


def message_json(message: Message) -> str:
    """The stored form of a rendered message (deliveries.message), read back on resume.
    Field by field: ``dataclasses.asdict`` deep-copies, too slow for 100k messages."""
    return json.dumps({f.name: getattr(message, f.name) for f in fields(message)},
                      default=str)


def plan_batches(messages: list[Message], provider_of_channel: dict[str, str],
                 providers: dict[str, Provider], send_date) -> list[Batch]:
    """Group messages per provider and the provider's batch key, in batches of at most
    the provider's size; batch ids are deterministic."""
    groups: dict[tuple, list[Message]] = {}
    for message in sorted(messages, key=lambda m: m.touch_id):
        name = provider_of_channel[message.channel]
        key = (name, *providers[name].batch_key(message))
        groups.setdefault(key, []).append(message)
    batches = []
    for (name, *_), members in sorted(groups.items()):
        size = providers[name].max_batch_size
        for start in range(0, len(members), size):
            chunk = tuple(members[start:start + size])
            bid = batch_id(name, [m.touch_id for m in chunk])
            batches.append(Batch(bid, name, f"cadence-{bid}", send_date, chunk))
    return batches


# -- commit points (each its own transaction; tests inject crashes here) -----------------
def _deliveries(batch: Batch, plan_date, now: datetime, status: str,
                outcomes: dict[str, MessageOutcome] | None = None) -> pd.DataFrame:
    """``deliveries`` rows of a batch: recorded (no outcome yet) or with their outcomes."""
    outcomes = outcomes or {}
    touch_ids = [m.touch_id for m in batch.messages]
    found = [outcomes.get(t) for t in touch_ids]
    return pd.DataFrame({
        "touch_id": touch_ids, "batch_id": batch.batch_id, "plan_date": plan_date,
        "provider": batch.provider,
        "provider_message_id": pd.Series([o.provider_message_id if o else None
                                          for o in found], dtype="object"),
        "status": [CALENDAR_STATUS[o.status] if o else status for o in found],
        "reason": pd.Series([o.reason if o else None for o in found], dtype="object"),
        "message": [message_json(m) for m in batch.messages],
        "updated_at": pd.Timestamp(now)}, columns=DELIVERY_COLUMNS)


def _record(warehouse: Warehouse, batches: list[Batch], plan_date, now: datetime) -> None:
    batch_rows = [{"batch_id": b.batch_id, "provider": b.provider,
                   "idempotency_key": b.idempotency_key, "plan_date": plan_date,
                   "send_date": b.send_date, "touch_count": len(b.messages), "now": now}
                  for b in batches]
    with warehouse.engine.begin() as conn:
        store.run_many(conn, warehouse, "insert_batch", batch_rows)
        if batches:
            warehouse.insert_rows(conn, "deliveries", pd.concat(
                [_deliveries(b, plan_date, now, "recorded") for b in batches],
                ignore_index=True))
        store.run_many(conn, warehouse, "assign_batch", batch_rows)


def _mark_sending(warehouse: Warehouse, batch: Batch, now: datetime) -> None:
    warehouse.execute(store.sql(warehouse, "mark_sending"), {"batch_id": batch.batch_id,
                                                            "now": now})


def _record_outcome(warehouse: Warehouse, batch: Batch, plan_date, result: BatchResult,
                    now: datetime) -> None:
    outcomes = {o.touch_id: o for o in result.outcomes}
    rows = _deliveries(batch, plan_date, now, "recorded", outcomes)
    rows = rows[rows["touch_id"].isin(list(outcomes))]
    key = [{"batch_id": batch.batch_id, "status": result.status,
            "summary": result.summary[:500], "now": now}]
    with warehouse.engine.begin() as conn:
        store.run_many(conn, warehouse, "batch_outcome", key)
        store.run_many(conn, warehouse, "delete_batch_deliveries", key)
        warehouse.insert_rows(conn, "deliveries", rows)
        store.run_many(conn, warehouse, "calendar_outcome", key)


def _send(warehouse: Warehouse, provider: Provider, batch: Batch, plan_date,
          now: datetime) -> BatchResult:
    _mark_sending(warehouse, batch, now)
    result = provider.send_batch(batch)
    _record_outcome(warehouse, batch, plan_date, result, now)
    return result


def _resume(warehouse: Warehouse, providers: dict[str, Provider], now: datetime,
            tally: dict) -> None:
    pending = store.read(warehouse, "pending_batches")
    for row in pending.itertuples(index=False):
        provider = providers.get(row.provider)
        if provider is None:
            continue  # a real provider's batch in a simulation: left for a live run
        stored = store.read(warehouse, "batch_messages", batch_id=row.batch_id)
        messages = tuple(Message(**json.loads(m)) for m in stored["message"])
        batch = Batch(row.batch_id, row.provider, row.idempotency_key,
                      pd.Timestamp(row.send_date).date(), messages)
        plan_date = pd.Timestamp(row.plan_date).date()
        if row.status == "recorded":
            result = _send(warehouse, provider, batch, plan_date, now)
        else:
            seen = store.read(warehouse, "seen_touches", provider=row.provider)
            known = dict(zip(seen["touch_id"], seen["provider_message_id"], strict=True))
            result = provider.reconcile(batch, known) or BatchResult.uniform(
                batch, "unknown", "outcome unknown: not seen by the provider's events yet")
            _record_outcome(warehouse, batch, plan_date, result, now)
        tally["resumed_batches"] += 1
        _count(result, tally)


def _count(result: BatchResult, tally: dict) -> None:
    for outcome in result.outcomes:
        tally[CALENDAR_STATUS[outcome.status]] += 1


def _mark_touches(warehouse: Warehouse, status: str, plan_date, touches: pd.DataFrame,
                  reasons: list[str], now: datetime, decision: dict | None = None) -> None:
    with warehouse.engine.begin() as conn:
        store.close_touches(conn, warehouse, touches["touch_id"], plan_date, status, reasons,
                            now, decision)


def dispatch_due(warehouse: Warehouse, policy, window_start: datetime, window_end: datetime,
                 run_is_live: bool, simulation: bool = False, dry_run: bool = False,
                 out_dir: Path | None = None,
                 providers: dict[str, Provider] | None = None,
                 clock: Callable[[], datetime] | None = None) -> dict:
    """Hand every scheduled touch due before ``window_end`` (and not older than the
    staleness bound before ``window_start``) to its provider; returns counts per outcome.

    ``window_start`` is the run's present (the end of the hourly data interval) and
    ``window_end`` that plus the lookahead: touches of the coming hour are handed over
    early (SendGrid holds them until ``send_at``) and missed ones still go while fresh.
    ``clock`` is the wall clock: when given (live runs), it is read at send time and the
    window moves to it, so staleness and the due window are about the present whatever
    the run's logical time; a simulation replays its own window. ``providers`` overrides
    the providers built from policy (tests, benchmarks).
    """
    if out_dir is None:
        from cadence.contract.settings import load_settings

        out_dir = load_settings().out_dir
    handoff = policy.handoff
    tally = {"sent": 0, "failed": 0, "unknown": 0, "cancelled": 0, "stale": 0, "held": 0,
             "unrenderable": 0, "batches": 0, "resumed_batches": 0,
             "mode": "simulation" if simulation else "dry_run" if dry_run else "live"}
    if not run_is_live and not simulation:
        log.warning("run is not live (backfill, catchup, or a window that does not hold the "
                    "present): nothing is sent and nothing marked stale; use "
                    "simulation=true to replay a past window through the outbox provider")
        return {**tally, "mode": "not_live"}
    now = window_start if simulation or clock is None else clock()
    window_start, window_end = now, now + (window_end - window_start)
    plan_date = store.latest_plan_date(warehouse, window_start.date())
    channel_providers = dict(handoff.channel_providers)
    if simulation:
        channel_providers = dict.fromkeys(channel_providers, "outbox")
    if providers is None:
        providers = {name: build_provider(name, handoff, out_dir)
                     for name in sorted(set(channel_providers.values()))}
    if simulation:
        providers = {"outbox": providers.get("outbox")
                     or OutboxProvider(out_dir, handoff.outbox.batch_size)}
    if dry_run:
        providers = {name: OutboxProvider(Path(out_dir) / "dry_run", p.max_batch_size)
                     for name, p in providers.items()}
    else:
        _resume(warehouse, providers, now, tally)
    tally["plan_date"] = plan_date.isoformat() if plan_date else None
    if plan_date is None:
        return tally
    warehouse.execute(store.sql(warehouse, "carry_over_deliveries"),
                      {"plan_date": plan_date, "now": now})
    due = store.read(warehouse, "scheduled_touches", {"due": True}, plan_date=plan_date,
                     window_end=window_end)
    due = due[due["channel"].isin(list(channel_providers))]
    scheduled_at = pd.to_datetime(due["scheduled_at"], utc=True)
    oldest = pd.Timestamp(window_start) - timedelta(hours=handoff.staleness_hours)
    stale = due[scheduled_at < oldest]
    due = due[scheduled_at >= oldest]
    contacts = consent.read_contacts(warehouse)
    forbidden = consent.forbidden_reasons(due, contacts, consent.read_suppressions(warehouse))
    blocked, due = due[forbidden.notna()], due[forbidden.isna()]
    # Held touches stay scheduled: they go once the unreadable consent row is fixed.
    held = due["contact_id"].isin(list(consent_holds.held_contacts(warehouse)))
    due = due[~held]
    messages, problems = render_messages(due, contacts)
    batches = plan_batches(messages, channel_providers, providers, window_start.date())
    tally.update(stale=len(stale), cancelled=len(blocked), held=int(held.sum()),
                 unrenderable=len(problems), batches=len(batches))
    if dry_run:
        for batch in batches:
            providers[batch.provider].send_batch(batch)
        tally["rendered"] = len(messages)
        log.info("dry run: %d messages in %d batches written under %s/dry_run, none sent",
                 len(messages), len(batches), out_dir)
        return tally
    stale_reason = f"stale: scheduled more than {handoff.staleness_hours:g}h before the run"
    _mark_touches(warehouse, "dropped", plan_date, stale, [stale_reason] * len(stale),
                  now, {"decision": "dropped", "rule": "9.staleness"})
    _mark_touches(warehouse, "cancelled", plan_date, blocked,
                  [f"consent: {r}" for r in forbidden[forbidden.notna()]], now,
                  {"decision": "suppressed", "rule": "1.consent"})
    unrenderable = due[due["touch_id"].isin(list(problems))]
    _mark_touches(warehouse, "failed", plan_date, unrenderable,
                  [problems[t] for t in unrenderable["touch_id"]], now)
    _record(warehouse, batches, plan_date, now)
    for batch in batches:
        _count(_send(warehouse, providers[batch.provider], batch, plan_date, now), tally)
    log.info("dispatch %s: %s", plan_date, {k: v for k, v in tally.items()})
    return tally
