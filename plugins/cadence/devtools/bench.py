"""``make bench``: the figures the README and closing notes quote, printed, never asserted.

- sample generator: seconds for N accounts (every entity written as CSV);
- planner: the population planned in shards of 5,000 accounts on one worker process per
  core, as the nightly DAG maps the plan over shards: candidates planned per second, peak
  memory per worker and in total, and a ``numpy.lexsort`` of the same candidate keys as
  the lower bound, with the ratios (:mod:`cadence.devtools.planner_bench`);
- dispatch: messages per second handed to a local SendGrid stand-in in batches of 1000
  (:mod:`cadence.devtools.dispatch_bench`).
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from time import perf_counter

DEFAULT_ACCOUNTS = 20_000  # ~4M candidates: a few minutes on 2 cores
DISPATCH_MESSAGES = 100_000


def run_bench(accounts: int | None = None) -> int:
    """Run every benchmark and print its figures; return the process exit code."""
    from cadence.devtools.dispatch_bench import dispatch_bench
    from cadence.devtools.planner_bench import planner_bench
    from cadence.devtools.sample import write_sample

    accounts = accounts or DEFAULT_ACCOUNTS
    print(f"== sample generator: {accounts:,} accounts")
    with tempfile.TemporaryDirectory() as out:
        started = perf_counter()
        counts = write_sample(Path(out), accounts=accounts, seed=1, as_of=date(2026, 11, 23))
        seconds = perf_counter() - started
    print(f"   {sum(counts.values()):,} rows in {seconds:.1f} s")

    print(f"== planner: {accounts:,} accounts")
    planner_bench(accounts)

    print(f"== dispatch: {DISPATCH_MESSAGES:,} messages to a local SendGrid stand-in")
    figures = dispatch_bench(DISPATCH_MESSAGES)
    print(f"   {figures['messages']:,} messages in {figures['requests']:,} requests, "
          f"{figures['seconds']:.1f} s: {figures['messages_per_second']:,.0f} messages/s")
    return 0
