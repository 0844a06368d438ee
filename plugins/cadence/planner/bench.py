"""Planner benchmark: a synthetic population planned in memory, against the lower bound of
sorting the same candidate keys with ``numpy.lexsort``.

``python -m cadence.planner.bench --accounts 10000`` prints candidates per second, the
planning time (wall and CPU), peak memory (ru_maxrss of a child process that generates
and plans, so the parent's memory does not count), the lexsort time and the ratio.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import time
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd

from cadence.planner.engine import plan_calendar
from cadence.planner.inputs import PlanningContext
from cadence.planner.touch_facts import epoch_seconds
from cadence.policy import Policy, load_policy

AS_OF = date(2026, 11, 23)
CONTACTS_PER_ACCOUNT = 10
CANDIDATES_PER_CONTACT = 20
ZONES = [("GB", "Europe/London"), ("US", "America/New_York"), ("US", "America/Los_Angeles"),
         ("DE", "Europe/Berlin"), ("JP", "Asia/Tokyo"), ("AU", "Australia/Sydney"),
         ("BR", "America/Sao_Paulo"), ("IN", "Asia/Kolkata")]
CHANNELS = (["email", "in_app", "sms", "call", "meeting"], [0.6, 0.25, 0.03, 0.07, 0.05])
TYPES = (["educational", "relationship", "promotional", "operational", "transactional"],
         [0.35, 0.25, 0.2, 0.15, 0.05], [40, 50, 20, 45, 100])
TIERS = ["strategic", "enterprise", "mid_market", "smb", "tech_touch"]


def _ids(prefix: str, n: int) -> np.ndarray:
    width = len(str(max(n - 1, 0)))
    return np.char.add(prefix, np.char.zfill(np.arange(n).astype(str), width)).astype(object)


def synthetic_population(accounts: int, seed: int = 7) -> tuple[pd.DataFrame, PlanningContext]:
    """About 10 contacts per account and 20 candidates per contact over 28 days, with a
    realistic mix of channels, message types, timezones and countries, plus suppressions,
    preferences, at-risk accounts, tickets, CSMs and sent history."""
    rng = np.random.default_rng(seed)
    n_contacts = accounts * CONTACTS_PER_ACCOUNT
    n = n_contacts * CANDIDATES_PER_CONTACT
    account_ids = _ids("a", accounts)
    contact_ids = _ids("c", n_contacts)
    contact_account = np.repeat(np.arange(accounts), CONTACTS_PER_ACCOUNT)
    zone_of_account = rng.integers(0, len(ZONES), accounts)
    csm_ids = _ids("m", max(accounts // 50, 1))
    account_frame = pd.DataFrame({
        "account_id": account_ids,
        "country": np.array([z[0] for z in ZONES], dtype=object)[zone_of_account],
        "timezone": np.array([z[1] for z in ZONES], dtype=object)[zone_of_account],
        "arr": np.round(rng.lognormal(10, 1.2, accounts), 2),
        "status": np.where(rng.random(accounts) < 0.02, "churned", "active").astype(object),
        "csm_id": csm_ids[rng.integers(0, len(csm_ids), accounts)],
        "tier": np.array(TIERS, dtype=object)[rng.integers(0, len(TIERS), accounts)],
    })
    own_zone = rng.random(n_contacts) < 0.5
    contact_zone = np.where(own_zone, rng.integers(0, len(ZONES), n_contacts), -1)
    contacts = pd.DataFrame({
        "contact_id": contact_ids, "account_id": account_ids[contact_account],
        "email": np.char.add(contact_ids.astype(str), "@example.com").astype(object),
        "timezone": np.where(contact_zone >= 0, np.array([z[1] for z in ZONES],
                                                         dtype=object)[contact_zone], None),
    })

    contact_of = np.repeat(np.arange(n_contacts), CANDIDATES_PER_CONTACT)
    kind = rng.choice(len(TYPES[0]), n, p=TYPES[1])
    channel = np.array(CHANNELS[0], dtype=object)[rng.choice(5, n, p=CHANNELS[1])]
    message_type = np.array(TYPES[0], dtype=object)[kind]
    channel = np.where(np.isin(channel, ["call", "meeting"]) & (message_type != "relationship"),
                       "email", channel)
    start = np.datetime64(datetime(2026, 11, 23), "s")
    earliest = start + (rng.integers(0, 28 * 24, n) * 3600).astype("timedelta64[s]")
    window = (rng.integers(0, 11, n) * 86400).astype("timedelta64[s]")
    intent = rng.integers(0, 12, n)
    candidates = pd.DataFrame({
        "touch_id": _ids("t", n), "contact_id": contact_ids[contact_of],
        "account_id": account_ids[contact_account[contact_of]],
        "team": "cs", "message_type": message_type, "category": None, "channel": channel,
        "template_id": np.char.add("tpl", intent.astype(str)).astype(object),
        "intent": None, "source": "cadence", "rule_id": "bench",
        "earliest_at": pd.to_datetime(earliest).tz_localize(UTC),
        "latest_at": pd.to_datetime(earliest + window).tz_localize(UTC),
        "priority": np.array(TYPES[2])[kind] + rng.integers(0, 5, n),
        "urgent": rng.random(n) < 0.01, "payload": None,
    })
    chosen = rng.permutation(n_contacts)
    unsubscribed, bounced = chosen[: n_contacts // 100], chosen[n_contacts // 100:
                                                                n_contacts * 3 // 200]
    suppressions = pd.DataFrame({
        "email": None,
        "contact_id": np.concatenate([contact_ids[unsubscribed], contact_ids[bounced]]),
        "reason": ["unsubscribe"] * len(unsubscribed) + ["bounce"] * len(bounced),
        "scope": ["all"] * len(unsubscribed) + ["email"] * len(bounced)})
    never, weekly = chosen[-n_contacts // 50:], chosen[-n_contacts // 20: -n_contacts // 50]
    preferences = pd.DataFrame({
        "contact_id": np.concatenate([contact_ids[never], contact_ids[weekly]]),
        "category": ["promotional"] * len(never) + ["educational"] * len(weekly),
        "channel": None,
        "frequency": ["never"] * len(never) + ["weekly"] * len(weekly)})
    at_risk = account_ids[rng.random(accounts) < 0.05]
    ticketed = rng.permutation(accounts)[: max(accounts // 30, 1)]
    tickets = pd.DataFrame({
        "ticket_id": _ids("k", len(ticketed)), "account_id": account_ids[ticketed],
        "priority": np.where(np.arange(len(ticketed)) % 3 == 0, "p1", "p3").astype(object),
        "status": "closed",
        "closed_at": pd.to_datetime(start - np.timedelta64(86400, "s")).tz_localize(UTC),
        "csat": 1})
    tickets.loc[tickets["priority"] == "p1", ["closed_at", "csat", "status"]] = [
        pd.NaT, None, "open"]
    sent = rng.permutation(n_contacts)[: n_contacts // 5]
    history = pd.DataFrame({
        "touch_id": _ids("h", len(sent)), "contact_id": contact_ids[sent],
        "account_id": account_ids[contact_account[sent]], "channel": "email",
        "message_type": "educational", "category": "educational", "template_id": "tips",
        "scheduled_at": pd.to_datetime(start - (rng.integers(1, 10, len(sent)) * 86400)
                                       .astype("timedelta64[s]")).tz_localize(UTC),
        "status": "sent"})
    context = PlanningContext(
        history=history, contacts=contacts, accounts=account_frame, preferences=preferences,
        suppressions=suppressions,
        segments=pd.DataFrame({"account_id": at_risk, "segment_key": "at_risk"}),
        tickets=tickets,
        csms=pd.DataFrame({"csm_id": csm_ids, "weekly_capacity": 25, "timezone": "UTC"}))
    return candidates, context


def _measure(accounts: int, policy: Policy) -> dict:
    # Runs in a child process so ru_maxrss is this run's peak alone.
    began = time.perf_counter()
    candidates, context = synthetic_population(accounts)
    generated = time.perf_counter() - began
    contact = pd.factorize(candidates["contact_id"])[0]
    earliest = epoch_seconds(candidates["earliest_at"])
    priority = candidates["priority"].to_numpy()
    began = time.perf_counter()
    np.lexsort((earliest, -priority, contact))
    lexsort = time.perf_counter() - began
    began, began_cpu = time.perf_counter(), time.process_time()
    result = plan_calendar(candidates, context, policy, AS_OF)
    planning = time.perf_counter() - began
    planning_cpu = time.process_time() - began_cpu  # apart from waiting on a shared machine
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    decisions = result.decisions["decision"].value_counts().sort_index()
    return {
        "accounts": accounts, "candidates": len(candidates), "generate_s": round(generated, 2),
        "plan_s": round(planning, 2), "plan_cpu_s": round(planning_cpu, 2),
        "candidates_per_s": round(len(candidates) / planning),
        "lexsort_s": round(lexsort, 3), "ratio_to_lexsort": round(planning / lexsort, 1),
        "peak_memory_mb": round(peak_kb / 1024),
        "decisions": {str(k): int(v) for k, v in decisions.items()},
    }


def planner_bench(accounts: int, policy: Policy | None = None) -> dict:
    """Generate ``accounts`` accounts (~200 candidates each), plan them and return
    throughput, peak memory, the lexsort lower bound and the ratio (also printed)."""
    policy = policy or load_policy()
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        figures = pool.apply(_measure, (accounts, policy))
    print(json.dumps(figures, indent=2))
    return figures


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m cadence.planner.bench --accounts N``."""
    parser = argparse.ArgumentParser(prog="python -m cadence.planner.bench")
    parser.add_argument("--accounts", type=int, default=10_000)
    args = parser.parse_args(argv)
    planner_bench(args.accounts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
