"""Command line: ``python -m cadence sample|demo|bench|docs``."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one sub-command."""
    parser = argparse.ArgumentParser(prog="python -m cadence")
    sub = parser.add_subparsers(dest="command", required=True)

    sample = sub.add_parser("sample", help="write sample sources (every entity of DESIGN §4)")
    sample.add_argument("--accounts", type=int, default=200)
    sample.add_argument("--seed", type=int, default=7)
    sample.add_argument("--as-of", type=date.fromisoformat, default=None,
                        help="last day of the data (default: today)")
    sample.add_argument("--out", type=Path, default=None, help="default: CADENCE_SOURCE_DIR")
    sample.add_argument("--dirty-rate", type=float, default=0.01)

    demo = sub.add_parser("demo", help="sample data, nightly then hourly through Airflow")
    demo.add_argument("--accounts", type=int, default=200)
    demo.add_argument("--as-of", type=date.fromisoformat, default=None)

    bench = sub.add_parser("bench", help="planner and dispatch throughput")
    bench.add_argument("--accounts", type=int, default=None)

    sub.add_parser("docs", help="regenerate docs/rules.md and docs/tables.md")

    args = parser.parse_args(argv)
    if args.command == "docs":
        from cadence.docs_pages import write_docs
        from cadence.policy import load_policy
        from cadence.settings import load_settings

        for path in write_docs(load_policy(load_settings().policy_path)):
            print(f"wrote {path}")
        return 0
    if args.command == "sample":
        from cadence.sample import write_sample
        from cadence.settings import load_settings

        out = args.out or load_settings().source_dir
        counts = write_sample(out, accounts=args.accounts, seed=args.seed,
                              as_of=args.as_of or date.today(), dirty_rate=args.dirty_rate)
        for entity, n in counts.items():
            print(f"{entity:<20} {n:>10,} rows")
        print(f"written to {out}")
        return 0
    if args.command == "demo":
        from cadence.demo import run_demo

        return run_demo(accounts=args.accounts, as_of=args.as_of or date.today())
    from cadence.bench import run_bench

    return run_bench(accounts=args.accounts)


if __name__ == "__main__":
    sys.exit(main())
