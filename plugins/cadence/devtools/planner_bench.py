"""Planner benchmark: a synthetic population planned shard by shard the way the nightly DAG
plans it, against the lower bound of sorting the same candidate keys with ``numpy.lexsort``.

``python -m cadence.devtools.planner_bench --accounts 100000 --shard-accounts 5000 --workers 2``
splits the accounts into contiguous shards (the DAG hashes them with
:func:`cadence.planner.steps.shard_of`; a range gives shards of the same size and lets a
shard be generated on its own). A pool of worker processes (forked, one process per shard
so each shard's ``ru_maxrss`` is its own) generates each shard, times ``plan_calendar``
alone on it (CSM levelling included), keeps only counts and writes the shard's sort keys to
a temporary ``.npy``; the parent never holds a frame. The parent then times one
``np.lexsort`` of every candidate's keys (contact, -priority, earliest) and prints JSON:

- ``plan_wall_s``: ``plan_calendar`` seconds summed over shards divided by the workers in
  use, i.e. the planning time on that many workers with generation taken out;
  ``pool_wall_s`` is the measured wall time of the whole pool, generation included;
- ``plan_cpu_s``: ``plan_calendar`` CPU seconds summed over shards (one core's worth);
- ``candidates_per_s`` (on ``plan_wall_s``) and ``candidates_per_cpu_s`` (per core);
- ``ratio_wall_to_lexsort`` and ``ratio_cpu_to_lexsort`` (``plan_cpu_s / lexsort_s``);
- ``peak_memory_per_worker_mb``: the largest ``ru_maxrss`` of a shard's process
  (generation and planning); ``peak_memory_total_mb`` is that times the workers, a bound
  on what the workers hold at once (it counts the modules a forked worker shares with the
  parent once per worker); ``lexsort_peak_memory_mb`` the parent's, which sorts;
- ``generate_s``: generation seconds summed over shards, not counted in any plan figure;
- ``protected_dropped``: candidates of a protected class (policy ``classes``) dropped,
  which must be 0 (they are escalated instead); ``escalated`` counts those;
- ``value_vs_optimum`` (``--optimum-accounts``, default 1,000): the planner's kept value on
  random small accounts against the exact optimum (OR-Tools CP-SAT,
  :mod:`cadence.planner.exact`), the mean and the worst ratio of the lexicographic value,
  the same for the unprotected classes alone, and the accounts where the planner kept less
  than the optimum in a protected class (must be 0).

Five percent of the synthetic relationship and operational touches come from the
onboarding journey (source ``lifecycle``), so the protected classes' exact search runs at
scale too.

Each CSM's book is 50 consecutive accounts, so with shards a multiple of 50 accounts no
CSM spans two shards and per-shard levelling is the whole levelling: the DAG's cross-shard
``level_csm_capacity`` pass has nothing to move and is not timed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from cadence.planner.engine import plan_calendar
from cadence.planner.exact import AS_OF as OPTIMUM_AS_OF
from cadence.planner.exact import kept_by_planner, optimum, random_accounts
from cadence.planner.inputs import PlanningContext
from cadence.planner.priority import touch_classes
from cadence.planner.touch_facts import epoch_seconds
from cadence.policy import Policy, load_policy

AS_OF = date(2026, 11, 23)
CONTACTS_PER_ACCOUNT = 10
CANDIDATES_PER_CONTACT = 20
ACCOUNTS_PER_CSM = 50
SHARD_ACCOUNTS = 5_000
OPTIMUM_ACCOUNTS = 1_000
LIFECYCLE_SHARE = 0.05  # of relationship and operational touches
ZONES = [("GB", "Europe/London"), ("US", "America/New_York"), ("US", "America/Los_Angeles"),
         ("DE", "Europe/Berlin"), ("JP", "Asia/Tokyo"), ("AU", "Australia/Sydney"),
         ("BR", "America/Sao_Paulo"), ("IN", "Asia/Kolkata")]
CHANNELS = (["email", "in_app", "sms", "call", "meeting"], [0.6, 0.25, 0.03, 0.07, 0.05])
TYPES = (["educational", "relationship", "promotional", "operational", "transactional"],
         [0.35, 0.25, 0.2, 0.15, 0.05], [40, 50, 20, 45, 100])
TIERS = ["strategic", "enterprise", "mid_market", "smb", "tech_touch"]


def _uniform(seed: int, stream: str, index: np.ndarray) -> np.ndarray:
    """Draws in [0, 1), one per index: splitmix64 of (seed, stream, index). A pure function
    of the global index, unlike a generator's sequence, so an account draws the same
    whichever shard generates it."""
    key = hashlib.blake2b(f"{seed}/{stream}".encode(), digest_size=8).digest()
    z = (index.astype(np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
    z += np.uint64(int.from_bytes(key, "big"))
    z = (z ^ (z >> 30)) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> 27)) * np.uint64(0x94D049BB133111EB)
    z ^= z >> 31
    return (z >> 11).astype(np.float64) * 2.0 ** -53


def _integers(seed: int, stream: str, index: np.ndarray, high: int) -> np.ndarray:
    return (_uniform(seed, stream, index) * high).astype(np.int64)


def _choice(seed: int, stream: str, index: np.ndarray, p: list[float]) -> np.ndarray:
    # min() because the cumulative sum may end a rounding error below 1.
    picked = np.searchsorted(np.cumsum(p), _uniform(seed, stream, index), side="right")
    return np.minimum(picked, len(p) - 1)


def _ids(prefix: str, numbers: np.ndarray) -> np.ndarray:
    return np.char.add(prefix, numbers.astype(str)).astype(object)


def synthetic_population(accounts: int, seed: int = 7,
                         start: int = 0) -> tuple[pd.DataFrame, PlanningContext]:
    """Accounts ``start`` to ``start + accounts - 1`` of one seeded population: 10 contacts
    an account and 20 candidates a contact over 28 days, with a realistic mix of channels,
    message types, timezones and countries, plus suppressions, preferences, at-risk
    accounts, tickets, CSMs (one per 50 consecutive accounts) and sent history. Every value
    depends on the seed and the account's number only, so shards concatenated give the
    population generated at once, whatever the shard sizes."""
    account = np.arange(start, start + accounts)
    contact = np.arange(start * CONTACTS_PER_ACCOUNT, (start + accounts) * CONTACTS_PER_ACCOUNT)
    touch = np.arange(start * CONTACTS_PER_ACCOUNT * CANDIDATES_PER_CONTACT,
                      (start + accounts) * CONTACTS_PER_ACCOUNT * CANDIDATES_PER_CONTACT)
    n_contacts = len(contact)
    account_ids, contact_ids = _ids("a", account), _ids("c", contact)
    contact_account = np.repeat(np.arange(accounts), CONTACTS_PER_ACCOUNT)
    zone_names = np.array([z[1] for z in ZONES], dtype=object)
    zone_of_account = _integers(seed, "account zone", account, len(ZONES))
    csm_of_account = account // ACCOUNTS_PER_CSM
    csm_ids = _ids("m", np.unique(csm_of_account))
    # Box-Muller: a normal deviate from two uniforms, for the log-normal ARR.
    normal = (np.sqrt(-2 * np.log1p(-_uniform(seed, "arr radius", account)))
              * np.cos(2 * np.pi * _uniform(seed, "arr angle", account)))
    account_frame = pd.DataFrame({
        "account_id": account_ids,
        "country": np.array([z[0] for z in ZONES], dtype=object)[zone_of_account],
        "timezone": zone_names[zone_of_account],
        "arr": np.round(np.exp(10 + 1.2 * normal), 2),
        "status": np.where(_uniform(seed, "churned", account) < 0.02, "churned",
                           "active").astype(object),
        "csm_id": _ids("m", csm_of_account),
        "tier": np.array(TIERS, dtype=object)[_integers(seed, "tier", account, len(TIERS))],
    })
    own_zone = _uniform(seed, "own zone", contact) < 0.5
    contact_zone = _integers(seed, "contact zone", contact, len(ZONES))
    contacts = pd.DataFrame({
        "contact_id": contact_ids, "account_id": account_ids[contact_account],
        "email": np.char.add(contact_ids.astype(str), "@example.com").astype(object),
        "timezone": np.where(own_zone, zone_names[contact_zone], None),
    })

    contact_of = np.repeat(np.arange(n_contacts), CANDIDATES_PER_CONTACT)
    kind = _choice(seed, "message type", touch, TYPES[1])
    channel = np.array(CHANNELS[0], dtype=object)[_choice(seed, "channel", touch, CHANNELS[1])]
    message_type = np.array(TYPES[0], dtype=object)[kind]
    channel = np.where(np.isin(channel, ["call", "meeting"]) & (message_type != "relationship"),
                       "email", channel)
    begin = np.datetime64(datetime(2026, 11, 23), "s")
    earliest = begin + (_integers(seed, "earliest hour", touch, 28 * 24) * 3600).astype(
        "timedelta64[s]")
    window = (_integers(seed, "window days", touch, 11) * 86400).astype("timedelta64[s]")
    intent = _integers(seed, "intent", touch, 12)
    lifecycle = (np.isin(message_type, ["relationship", "operational"])
                 & (_uniform(seed, "lifecycle", touch) < LIFECYCLE_SHARE))
    candidates = pd.DataFrame({
        "touch_id": _ids("t", touch), "contact_id": contact_ids[contact_of],
        "account_id": account_ids[contact_account[contact_of]],
        "team": "cs", "message_type": message_type, "category": None, "channel": channel,
        "template_id": np.char.add("tpl", intent.astype(str)).astype(object),
        "intent": None, "source": np.where(lifecycle, "lifecycle", "cadence").astype(object),
        "rule_id": "bench",
        "earliest_at": pd.to_datetime(earliest).tz_localize(UTC),
        "latest_at": pd.to_datetime(earliest + window).tz_localize(UTC),
        "priority": np.array(TYPES[2])[kind] + _integers(seed, "priority", touch, 5),
        "urgent": _uniform(seed, "urgent", touch) < 0.01, "payload": None,
    })
    # One draw a contact, cut into disjoint bands: 1% unsubscribed, 0.5% bounced, 3% weekly
    # educational and 2% never promotional.
    band = _uniform(seed, "contact band", contact)
    unsubscribed, bounced = band < 0.01, (band >= 0.01) & (band < 0.015)
    never, weekly = band >= 0.98, (band >= 0.95) & (band < 0.98)
    suppressions = pd.DataFrame({
        "email": None,
        "contact_id": np.concatenate([contact_ids[unsubscribed], contact_ids[bounced]]),
        "reason": ["unsubscribe"] * unsubscribed.sum() + ["bounce"] * bounced.sum(),
        "scope": ["all"] * unsubscribed.sum() + ["email"] * bounced.sum()})
    preferences = pd.DataFrame({
        "contact_id": np.concatenate([contact_ids[never], contact_ids[weekly]]),
        "category": ["promotional"] * never.sum() + ["educational"] * weekly.sum(),
        "channel": None,
        "frequency": ["never"] * never.sum() + ["weekly"] * weekly.sum()})
    at_risk = account_ids[_uniform(seed, "at risk", account) < 0.05]
    ticketed = _uniform(seed, "ticket", account) < 1 / 30
    open_p1 = _uniform(seed, "ticket p1", account[ticketed]) < 1 / 3
    tickets = pd.DataFrame({
        "ticket_id": _ids("k", account[ticketed]), "account_id": account_ids[ticketed],
        "priority": np.where(open_p1, "p1", "p3").astype(object),
        "status": "closed",
        "closed_at": pd.to_datetime(begin - np.timedelta64(86400, "s")).tz_localize(UTC),
        "csat": 1})
    tickets.loc[open_p1, ["closed_at", "csat", "status"]] = [pd.NaT, None, "open"]
    sent = _uniform(seed, "sent", contact) < 0.2
    days_ago = 1 + _integers(seed, "sent days ago", contact[sent], 9)
    history = pd.DataFrame({
        "touch_id": _ids("h", contact[sent]), "contact_id": contact_ids[sent],
        "account_id": account_ids[contact_account[sent]], "channel": "email",
        "message_type": "educational", "category": "educational", "template_id": "tips",
        "scheduled_at": pd.to_datetime(begin - (days_ago * 86400).astype("timedelta64[s]"))
                          .tz_localize(UTC),
        "status": "sent"})
    context = PlanningContext(
        history=history, contacts=contacts, accounts=account_frame, preferences=preferences,
        suppressions=suppressions,
        segments=pd.DataFrame({"account_id": at_risk, "segment_key": "at_risk"}),
        tickets=tickets,
        csms=pd.DataFrame({"csm_id": csm_ids, "weekly_capacity": 25, "timezone": "UTC"}))
    return candidates, context


def _plan_shard(shard: int, start: int, accounts: int, seed: int, policy: Policy,
                keys_dir: str) -> dict:
    # Runs in a process of its own (maxtasksperchild=1), so ru_maxrss is this shard's peak.
    began = time.perf_counter()
    candidates, context = synthetic_population(accounts, seed, start)
    generated = time.perf_counter() - began
    began, began_cpu = time.perf_counter(), time.process_time()
    result = plan_calendar(candidates, context, policy, AS_OF)
    planning = time.perf_counter() - began
    planning_cpu = time.process_time() - began_cpu  # apart from waiting on a shared machine
    # Contacts are numbered in order within a shard, so the offset makes codes global.
    contact = pd.factorize(candidates["contact_id"])[0] + start * CONTACTS_PER_ACCOUNT
    keys = np.stack([contact, -candidates["priority"].to_numpy(dtype=np.int64),
                     epoch_seconds(candidates["earliest_at"])])
    np.save(Path(keys_dir) / f"{shard}.npy", keys)
    decisions = result.decisions["decision"].value_counts()
    protected = policy.classes.protected()[touch_classes(candidates, policy.classes)]
    at = result.decisions["touch_id"].isin(candidates["touch_id"][protected])
    protected_dropped = int((at & (result.decisions["decision"] == "dropped")).sum())
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    return {"shard": shard, "candidates": len(candidates), "calendar": len(result.calendar),
            "generate_s": generated, "plan_s": planning, "plan_cpu_s": planning_cpu,
            "peak_kb": peak_kb, "protected_dropped": protected_dropped,
            "decisions": {str(k): int(v) for k, v in decisions.items()}}


def _lexsort(keys_dir: str, shards: list[dict]) -> float:
    # Filled in place rather than concatenated so the keys are held once, not twice.
    keys = np.empty((3, sum(s["candidates"] for s in shards)), dtype=np.int64)
    at = 0
    for figures in sorted(shards, key=lambda s: s["shard"]):
        part = np.load(Path(keys_dir) / f"{figures['shard']}.npy")
        keys[:, at: at + part.shape[1]] = part
        at += part.shape[1]
    contact, priority, earliest = keys
    began = time.perf_counter()
    np.lexsort((earliest, priority, contact))
    return time.perf_counter() - began


def planner_bench(accounts: int, policy: Policy | None = None, *,
                  shard_accounts: int = SHARD_ACCOUNTS, workers: int | None = None,
                  seed: int = 7, optimum_accounts: int = OPTIMUM_ACCOUNTS) -> dict:
    """Generate ``accounts`` accounts (~200 candidates each) in shards of
    ``shard_accounts``, plan each shard on a pool of ``workers`` processes (default: one
    per core), time one lexsort of every candidate's keys and return the figures described
    in the module docstring (also printed as JSON)."""
    policy = policy or load_policy()
    starts = range(0, accounts, shard_accounts)
    tasks = [(shard, start, min(shard_accounts, accounts - start))
             for shard, start in enumerate(starts)]
    workers = min(workers or os.cpu_count() or 1, len(tasks))
    with tempfile.TemporaryDirectory(prefix="cadence-bench-") as keys_dir:
        began = time.perf_counter()
        # Fork before the parent holds anything large; a fresh process per shard.
        with multiprocessing.get_context("fork").Pool(workers, maxtasksperchild=1) as pool:
            shards = pool.starmap(_plan_shard, [(*task, seed, policy, keys_dir)
                                                for task in tasks], chunksize=1)
        pool_wall = time.perf_counter() - began
        lexsort = _lexsort(keys_dir, shards)
    candidates = sum(s["candidates"] for s in shards)
    plan_cpu = sum(s["plan_cpu_s"] for s in shards)
    plan_wall = sum(s["plan_s"] for s in shards) / workers
    per_worker_mb = round(max(s["peak_kb"] for s in shards) / 1024)
    decisions = sum((Counter(s["decisions"]) for s in shards), Counter())
    figures = {
        "accounts": accounts, "shards": len(tasks), "shard_accounts": shard_accounts,
        "workers": workers, "candidates": candidates,
        "calendar_rows": sum(s["calendar"] for s in shards),
        "generate_s": round(sum(s["generate_s"] for s in shards), 2),
        "pool_wall_s": round(pool_wall, 2),
        "plan_wall_s": round(plan_wall, 2), "plan_cpu_s": round(plan_cpu, 2),
        "candidates_per_s": round(candidates / plan_wall),
        "candidates_per_cpu_s": round(candidates / plan_cpu),
        "lexsort_s": round(lexsort, 3),
        "ratio_wall_to_lexsort": round(plan_wall / lexsort, 1),
        "ratio_cpu_to_lexsort": round(plan_cpu / lexsort, 1),
        "peak_memory_per_worker_mb": per_worker_mb,
        "peak_memory_total_mb": per_worker_mb * workers,
        "lexsort_peak_memory_mb": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "decisions": dict(sorted(decisions.items())),
        "protected_dropped": sum(s["protected_dropped"] for s in shards),
        "escalated": decisions.get("escalated", 0),
    }
    if optimum_accounts:
        figures.update(value_vs_optimum(optimum_accounts, policy, workers=workers, seed=seed))
    print(json.dumps(figures, indent=2))
    return figures


def _optimum_of(args: tuple) -> tuple:
    # One account's optimum against what the planner kept (in a worker process).
    frame, decisions, context, policy = args
    mine = kept_by_planner(frame, decisions, policy)
    best = optimum(frame, context, policy)
    protected = policy.classes.protected()
    unprotected = (sum(v for v, p in zip(mine.by_class, protected, strict=True) if not p),
                   sum(v for v, p in zip(best.by_class, protected, strict=True) if not p))
    short = any(m < b for m, b, p in zip(mine.by_class, best.by_class, protected, strict=True)
                if p)
    return mine.total, best.total, *unprotected, short


def value_vs_optimum(accounts: int, policy: Policy, *, workers: int | None = None,
                     seed: int = 7) -> dict:
    """Plan ``accounts`` random small accounts at once and solve each exactly (CP-SAT):
    the kept value's ratio to the optimum, mean and worst, in all and for the unprotected
    classes, and how many accounts the planner kept less of in a protected class."""
    candidates, context = random_accounts(accounts, seed)
    began = time.perf_counter()
    result = plan_calendar(candidates, context, policy, OPTIMUM_AS_OF)
    planning = time.perf_counter() - began
    decisions = dict(tuple(result.decisions.groupby("account_id")))
    history = dict(tuple(context.history.groupby("account_id")))
    tasks = []
    for account, frame in candidates.groupby("account_id"):
        own = PlanningContext(contacts=context.contacts, accounts=context.accounts,
                              history=history.get(account, context.history.iloc[:0]))
        tasks.append((frame.reset_index(drop=True), decisions[account], own, policy))
    began = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(workers or os.cpu_count() or 1) as pool:
        rows = pool.map(_optimum_of, tasks, chunksize=16)
    solving = time.perf_counter() - began
    ratio = np.array([m / b if b else 1.0 for m, b, *_ in rows])
    unprotected = np.array([m / b if b else 1.0 for _, _, m, b, _ in rows])
    return {"optimum_accounts": accounts,
            "optimum_candidates": len(candidates),
            "value_vs_optimum": {"mean": round(float(ratio.mean()), 5),
                                 "worst": round(float(ratio.min()), 5)},
            "unprotected_value_vs_optimum": {"mean": round(float(unprotected.mean()), 5),
                                             "worst": round(float(unprotected.min()), 5)},
            "accounts_short_of_optimum_in_a_protected_class": sum(r[-1] for r in rows),
            "optimum_plan_s": round(planning, 2), "optimum_solve_s": round(solving, 1)}


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m cadence.devtools.planner_bench --accounts N --shard-accounts S
    --workers W``."""
    parser = argparse.ArgumentParser(prog="python -m cadence.devtools.planner_bench")
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--shard-accounts", type=int, default=SHARD_ACCOUNTS,
                        help=f"accounts a shard (default {SHARD_ACCOUNTS:,}, ~1M candidates)")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes (default: one per core)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--optimum-accounts", type=int, default=OPTIMUM_ACCOUNTS,
                        help="random small accounts solved exactly (0: skip)")
    args = parser.parse_args(argv)
    planner_bench(args.accounts, shard_accounts=args.shard_accounts, workers=args.workers,
                  seed=args.seed, optimum_accounts=args.optimum_accounts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
