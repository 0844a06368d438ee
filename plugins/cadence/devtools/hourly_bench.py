"""``make bench-hourly``: the hourly run's two heavy steps at scale, measured on the
embedded (DuckDB) warehouse. Figures are printed as JSON, never asserted.

- **dispatch**: ``touches`` email touches (default 100,000) due in one window are handed to
  the SendGrid stand-in on 127.0.0.1 by :func:`cadence.handoff.dispatch.dispatch_due`, the
  outbox protocol included (batches and deliveries recorded before each call, outcomes
  after). Then the protocol is checked: every touch reached the stand-in exactly once,
  every delivery is ``sent`` with its batch, the batches' counts add up and every calendar
  row is ``sent`` under the batch its delivery names; a second dispatch sends nothing.
- **consent sync**: ``contacts`` contacts (default 1,000,000) with the sample's shares of
  preferences (40% of contacts have 1-3, a tenth of them ``never``) and suppressions (about
  6%) in the source files; the hourly ``sync_consent`` step (extract, validate, stage the
  two consent entities, refresh holds, merge into ``consent_suppressions``) is timed.
- **cancellations**: then one scheduled email touch per contact in the same warehouse, and
  the hourly ``cancel_forbidden_touches`` step cancels those the synced consent forbids;
  ``close_touches_s`` is its bulk part (calendar and decisions updated from one temporary
  table), checked against the calendar and decision rows it leaves.

Seconds are wall time of the step alone (set-up excluded), ``cpu_s`` the process's CPU time
(every thread) meanwhile; ``peak_rss_mb`` is the process's largest resident size while the
step ran (sampled every 0.2 s).
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from time import perf_counter, process_time

import numpy as np
import pandas as pd
import psutil  # an Airflow dependency

from cadence.contract.schema import create_warehouse_tables
from cadence.contract.tables import COMMUNICATION_CALENDAR
from cadence.contract.warehouse import Warehouse
from cadence.devtools.nightly_bench import TreeMemorySampler
from cadence.devtools.stand_ins import StandIn

DEFAULT_TOUCHES = 100_000
DEFAULT_CONTACTS = 1_000_000
PLAN_DATE = date(2026, 11, 23)
WINDOW = datetime(2026, 11, 23, 10, tzinfo=UTC)
SEED = 7


def _progress(message: str) -> None:
    print(f"[bench-hourly] {message}", file=sys.stderr, flush=True)


def _people(warehouse: Warehouse, contacts: int) -> pd.DataFrame:
    """Staged CSMs, accounts (ten contacts each) and ``contacts`` contacts."""
    ids = np.char.add("c", np.arange(contacts).astype(str)).astype(object)
    accounts = np.char.add("a", (np.arange(contacts) // 10).astype(str)).astype(object)
    warehouse.write_frame("stg_csms", pd.DataFrame({
        "csm_id": ["s1"], "name": ["Sam CSM"], "email": ["sam@vendor.example"]}),
        replace_all=True)
    account_ids = pd.unique(accounts)
    warehouse.write_frame("stg_accounts", pd.DataFrame({
        "account_id": account_ids, "name": "Acme", "csm_id": "s1"}), replace_all=True)
    frame = pd.DataFrame({"contact_id": ids, "account_id": accounts,
                          "email": np.char.add(ids.astype(str), "@example.com").astype(object),
                          "first_name": "Ada", "last_name": "Doe", "phone": None})
    warehouse.write_frame("stg_contacts", frame, replace_all=True)
    return frame


def _calendar(warehouse: Warehouse, people: pd.DataFrame, spread_minutes: int) -> None:
    """One scheduled email touch per contact, due inside the window, and its decision."""
    n = len(people)
    scheduled = pd.Timestamp(WINDOW) + pd.to_timedelta(np.arange(n) % spread_minutes, "min")
    touch_ids = np.char.add("t", np.arange(n).astype(str)).astype(object)
    frame = pd.DataFrame({
        "touch_id": touch_ids, "plan_date": PLAN_DATE, "contact_id": people["contact_id"],
        "account_id": people["account_id"], "csm_id": "s1", "team": "marketing",
        "message_type": "educational", "category": "educational", "channel": "email",
        "template_id": "d-tips", "intent": "tips", "source": "cadence", "rule_id": "r1",
        "scheduled_at": scheduled, "local_send_at": scheduled.tz_localize(None),
        "timezone": "UTC", "status": "scheduled", "reason": None, "priority": 1,
        "payload": json.dumps({"subject": "Tips"}), "batch_id": None,
        "provider_message_id": None, "updated_at": pd.Timestamp(WINDOW)})
    warehouse.write_frame("communication_calendar",
                          frame.assign(shard=0).reindex(columns=list(COMMUNICATION_CALENDAR)),
                          replace_where={"plan_date": PLAN_DATE})
    warehouse.write_frame("calendar_decisions", frame[
        ["touch_id", "plan_date", "contact_id", "account_id"]].assign(
        decision="scheduled", rule="8.send_timing", detail="planned by the nightly run",
        decided_at=pd.Timestamp(WINDOW)), replace_where={"plan_date": PLAN_DATE})


def _sendgrid_policy(policy):
    """The shipped policy with email through SendGrid, fast enough for a local stand-in."""
    handoff = policy.handoff.model_copy(update={
        "channel_providers": {**policy.handoff.channel_providers, "email": "sendgrid"},
        "sendgrid": policy.handoff.sendgrid.model_copy(update={"requests_per_second": 1000}),
    })
    return policy.model_copy(update={"handoff": handoff})


def _measured(step):
    """The step's result, wall seconds, peak RSS (MB) and CPU seconds."""
    sampler = TreeMemorySampler(psutil.Process().pid)
    with sampler:
        started, cpu = perf_counter(), process_time()
        result = step()
        seconds, cpu = perf_counter() - started, process_time() - cpu
    return result, round(seconds, 2), round(sampler.peak_bytes / 2**20), round(cpu, 2)


def protocol_problems(warehouse: Warehouse, received: list, touches: int) -> list[str]:
    """What breaks the outbox protocol after one dispatch of ``touches`` touches (empty:
    nothing): each touch sent exactly once, deliveries, batches and calendar consistent."""
    problems = []
    sent = Counter(p["custom_args"]["touch_id"] for request in received
                   for p in request.body["personalizations"])
    if len(sent) != touches or any(n != 1 for n in sent.values()):
        twice = sum(n > 1 for n in sent.values())
        problems.append(f"stand-in got {len(sent)} distinct touches of {touches}, "
                        f"{twice} more than once")
    deliveries = warehouse.read_frame(
        "select touch_id, batch_id, status from deliveries")
    if len(deliveries) != touches or not deliveries["touch_id"].is_unique:
        problems.append(f"{len(deliveries)} deliveries for {touches} touches")
    if set(deliveries["status"]) != {"sent"}:
        problems.append(f"delivery statuses {sorted(set(deliveries['status']))}")
    batches = warehouse.read_frame(
        "select batch_id, status, touch_count, attempt from handoff_batches")
    if batches["touch_count"].sum() != touches or set(batches["status"]) != {"accepted"}:
        problems.append(f"batches: {batches['touch_count'].sum()} touches, statuses "
                        f"{sorted(set(batches['status']))}")
    if len(batches) != len(received) or set(batches["attempt"]) != {1}:
        problems.append(f"{len(batches)} batches for {len(received)} requests")
    per_batch = deliveries.groupby("batch_id").size()
    expected = batches.set_index("batch_id")["touch_count"]
    if not per_batch.sort_index().equals(expected.sort_index()):
        problems.append("deliveries per batch differ from the batches' touch counts")
    calendar = warehouse.read_frame(
        "select c.touch_id from communication_calendar c join deliveries d"
        " on d.touch_id = c.touch_id and d.batch_id = c.batch_id"
        " where c.status = 'sent' and c.plan_date = :plan_date", {"plan_date": PLAN_DATE})
    if len(calendar) != touches:
        problems.append(f"{len(calendar)} calendar rows sent under their delivery's batch")
    return problems


def dispatch_bench(touches: int, root: Path) -> dict:
    """Dispatch ``touches`` due touches through the SendGrid stand-in (module docstring)."""
    from cadence.handoff.dispatch import dispatch_due
    from cadence.policy import load_policy
    from cadence.providers.base import HttpClient
    from cadence.providers.policy import RetryPolicy
    from cadence.providers.sendgrid import SendGridProvider

    warehouse = Warehouse(f"duckdb:///{root / 'dispatch.duckdb'}")
    create_warehouse_tables(warehouse)
    _progress(f"dispatch: {touches:,} touches due in one window")
    people = _people(warehouse, touches)
    _calendar(warehouse, people, spread_minutes=60)
    policy = _sendgrid_policy(load_policy(Path(__file__).resolve().parents[3]
                                          / "include" / "config" / "policy.yml"))
    server = StandIn("sendgrid").start()
    try:
        retry = RetryPolicy(max_attempts=3, initial_backoff_seconds=0.01,
                            max_backoff_seconds=0.1, max_total_seconds=10)
        provider = SendGridProvider(HttpClient(server.url, {}, retry, 1000),
                                    policy.handoff.sendgrid)

        def dispatch() -> dict:
            return dispatch_due(warehouse, policy, WINDOW, WINDOW + timedelta(hours=1),
                                run_is_live=True, out_dir=root / "out",
                                providers={"sendgrid": provider}, clock=lambda: WINDOW)

        tally, seconds, peak, cpu = _measured(dispatch)
        problems = protocol_problems(warehouse, server.received, touches)
        again = dispatch()
        if again["sent"] or len(server.received) != tally["batches"]:
            problems.append(f"a second dispatch sent {again['sent']} more")
    finally:
        server.stop()
        warehouse.engine.dispose()
    return {"touches": touches, "seconds": seconds, "cpu_s": cpu, "peak_rss_mb": peak,
            "messages_per_second": round(tally["sent"] / seconds) if seconds else None,
            "sent": tally["sent"], "batches": tally["batches"],
            "requests": len(server.received), "protocol_intact": not problems,
            "problems": problems}


def _consent_sources(folder: Path, people: pd.DataFrame) -> dict[str, int]:
    """preferences.csv and suppressions.csv in the sample's shares, with a few unreadable
    rows (which validation quarantines and whose contacts are held)."""
    rng = np.random.default_rng(SEED)
    n = len(people)
    ids, emails = people["contact_id"].to_numpy(), people["email"].to_numpy()
    who = np.nonzero(rng.random(n) < 0.4)[0]
    per = rng.integers(1, 4, len(who))
    rows = np.repeat(who, per)
    slot = np.concatenate([np.arange(k) for k in per])
    categories = np.array(["educational", "relationship", "promotional"], dtype=object)
    channels = np.array(["email", "in_app", "sms"], dtype=object)
    frequency = rng.choice(np.array(["as_sent", "weekly", "monthly", "never"], dtype=object),
                           len(rows), p=[0.4, 0.3, 0.2, 0.1])
    updated = pd.Timestamp(WINDOW) - pd.to_timedelta(rng.integers(1, 365 * 86400, len(rows)),
                                                     "s")
    preferences = pd.DataFrame({"contact_id": ids[rows], "category": categories[slot],
                                "channel": channels[(slot + rows) % 3],
                                "frequency": frequency,
                                "updated_at": updated.strftime("%Y-%m-%dT%H:%M:%SZ")})
    preferences.loc[preferences.index[:5], "frequency"] = "sometimes"  # unreadable
    reasons = np.array(["unsubscribe", "bounce", "spam_report", "do_not_contact"], dtype=object)
    sup = np.nonzero(rng.random(n) < 0.06)[0]
    reason = rng.choice(reasons, len(sup), p=[0.55, 0.3, 0.07, 0.08])
    scope = np.where(reason == "unsubscribe",
                     rng.choice(np.array(["all", "marketing"], dtype=object), len(sup)),
                     np.where(reason == "do_not_contact", "all", "email"))
    email_only = (reason == "bounce") & (rng.random(len(sup)) < 0.7)
    created = pd.Timestamp(WINDOW) - pd.to_timedelta(rng.integers(1, 365 * 86400, len(sup)),
                                                     "s")
    suppressions = pd.DataFrame({
        "email": np.where(reason == "do_not_contact", None, emails[sup]),
        "contact_id": np.where(email_only, None, ids[sup]), "reason": reason,
        "scope": scope, "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ")})
    suppressions.loc[suppressions.index[:3], "created_at"] = "yesterday"  # unreadable
    folder.mkdir(parents=True, exist_ok=True)
    preferences.to_csv(folder / "preferences.csv", index=False)
    suppressions.to_csv(folder / "suppressions.csv", index=False)
    return {"preferences": len(preferences), "suppressions": len(suppressions)}


def consent_bench(contacts: int, root: Path) -> dict:
    """The hourly consent sync over ``contacts`` contacts (module docstring)."""
    from cadence.contract.settings import load_settings
    from cadence.orchestration import hourly
    from cadence.orchestration.runs import Run

    url = f"duckdb:///{root / 'consent.duckdb'}"
    warehouse = Warehouse(url)
    create_warehouse_tables(warehouse)
    _progress(f"consent: {contacts:,} contacts")
    people = _people(warehouse, contacts)
    warehouse.write_frame("validated_contacts", people.assign(
        is_primary="false", role="user", locale="en", timezone="UTC"), replace_all=True)
    source_rows = _consent_sources(root / "sources", people)
    settings = load_settings({"CADENCE_WAREHOUSE_URL": url,
                              "CADENCE_SOURCE_DIR": str(root / "sources"),
                              "CADENCE_OUT_DIR": str(root / "out")})
    run = Run(run_id="bench_hourly", run_type="manual", data_interval_start=WINDOW,
              data_interval_end=WINDOW + timedelta(hours=1), started_at=WINDOW,
              clock=lambda: WINDOW, settings=settings)
    run.__dict__["warehouse"] = warehouse  # one connection for set-up and the step
    try:
        synced, sync_s, sync_peak, sync_cpu = _measured(lambda: hourly.sync_consent(run))
        suppressions = warehouse.count("consent_suppressions")
        cancellations = cancel_bench(warehouse, run, people)
    finally:
        warehouse.engine.dispose()
    return {"contacts": contacts, "source_rows": source_rows, "sync_s": sync_s,
            "sync_cpu_s": sync_cpu, "sync_peak_rss_mb": sync_peak,
            "consent_suppressions": suppressions,
            "sync": {k: v for k, v in synced.items() if isinstance(v, int | float | str)},
            "cancellations": cancellations}


def cancel_bench(warehouse: Warehouse, run, people: pd.DataFrame) -> dict:
    """One scheduled email touch per contact, then the hourly cancellation step over the
    consent just synced (module docstring)."""
    from cadence.handoff import store
    from cadence.orchestration import hourly

    _progress(f"cancellations: {len(people):,} scheduled touches")
    _calendar(warehouse, people, spread_minutes=24 * 60)
    bulk = {"seconds": 0.0, "cpu": 0.0}
    close_touches = store.close_touches

    def timed_close_touches(*args, **kwargs):
        started, cpu = perf_counter(), process_time()
        try:
            return close_touches(*args, **kwargs)
        finally:
            bulk["seconds"] += perf_counter() - started
            bulk["cpu"] += process_time() - cpu

    store.close_touches = timed_close_touches  # the step's bulk part, timed on its own
    try:
        tally, seconds, peak, cpu = _measured(lambda: hourly.cancel_forbidden_touches(run))
    finally:
        store.close_touches = close_touches
    left = warehouse.read_frame(
        "select c.status, d.decision, count(*) as n from communication_calendar c"
        " join calendar_decisions d on d.touch_id = c.touch_id and d.plan_date = c.plan_date"
        " where c.plan_date = :plan_date group by c.status, d.decision",
        {"plan_date": PLAN_DATE})
    counts = {f"{r.status}/{r.decision}": int(r.n) for r in left.itertuples()}
    consistent = (counts.get("cancelled/suppressed", 0) == tally["cancelled"]
                  and counts.get("scheduled/scheduled", 0) == len(people) - tally["cancelled"]
                  and sum(counts.values()) == len(people))
    return {"touches": len(people), "cancelled": tally["cancelled"], "seconds": seconds,
            "cpu_s": cpu, "peak_rss_mb": peak, "close_touches_s": round(bulk["seconds"], 2),
            "close_touches_cpu_s": round(bulk["cpu"], 2), "rows_consistent": consistent,
            "calendar_by_status_decision": counts}


def hourly_bench(touches: int = DEFAULT_TOUCHES, contacts: int = DEFAULT_CONTACTS) -> dict:
    """Both measurements, each on a fresh warehouse in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="cadence-bench-hourly-") as tmp:
        root = Path(tmp)
        dispatch = dispatch_bench(touches, root)
        consent = consent_bench(contacts, root)
    return {"dispatch": dispatch, "consent": consent,
            "targets": {"dispatch_s": 60, "consent_sync_s": 30}}


def run_hourly_bench(touches: int | None = None, contacts: int | None = None) -> int:
    """``python -m cadence bench --hourly``: print the figures as JSON; the exit code."""
    result = hourly_bench(touches or DEFAULT_TOUCHES, contacts or DEFAULT_CONTACTS)
    print(json.dumps(result, indent=2, default=str))
    intact = (result["dispatch"]["protocol_intact"]
              and result["consent"]["cancellations"]["rows_consistent"])
    return 0 if intact else 1
