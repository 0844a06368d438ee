"""Command line: ``python -m cadence sample|demo|bench|docs|env|airflow|screenshots``."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime, time
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

    whatif = sub.add_parser("whatif", help="replay planning under another policy and "
                            "compare it with the policy (nothing sent, no live table written)")
    whatif.add_argument("--policy", type=Path, default=None,
                        help="YAML of the policy keys the scenario changes")
    whatif.add_argument("--overrides", type=json.loads, default=None,
                        help='inline JSON overrides, e.g. \'{"planner": {"limits": '
                             '{"email_per_7_days": 3}}}\'')
    whatif.add_argument("--from", dest="first", type=date.fromisoformat, required=True)
    whatif.add_argument("--to", dest="last", type=date.fromisoformat, required=True)

    engagement = sub.add_parser("sample-engagement", help="provider events answering every "
                                "message in the outbox (closes the demo's loop)")
    engagement.add_argument("--seed", type=int, default=7)
    engagement.add_argument("--until", type=date.fromisoformat, default=None,
                            help="no event on or after this day (default: today)")

    bench = sub.add_parser("bench", help="planner and dispatch throughput, or (--nightly) "
                           "one measured cadence_nightly run through Airflow")
    bench.add_argument("--accounts", type=int, default=None,
                       help="default: 20,000 (100,000 with --nightly)")
    bench.add_argument("--hourly", action="store_true",
                       help="dispatch of 100,000 due touches through the SendGrid stand-in "
                            "and consent sync over 1M contacts: JSON of seconds, peak memory, "
                            "rows")
    bench.add_argument("--touches", type=int, default=None,
                       help="--hourly: touches due in the window (default 100,000)")
    bench.add_argument("--contacts", type=int, default=None,
                       help="--hourly: contacts of the consent sync (default 1,000,000)")
    bench.add_argument("--nightly", action="store_true",
                       help="sample, then cadence_nightly on the embedded warehouse: JSON of "
                            "seconds per task, peak memory and rows per table")

    scale = sub.add_parser("scale-demo", help="cadence_nightly on CeleryExecutor with two "
                           "workers (redis-server, local PostgreSQL), compared with DuckDB")
    scale.add_argument("--accounts", type=int, default=None, help="default: 200")

    env = sub.add_parser("env", help="write .env for docker-compose with random secrets")
    env.add_argument("--path", type=Path, default=Path(".env"))
    env.add_argument("--example", action="store_true", help="print .env.example instead")
    sub.add_parser("docs", help="regenerate docs/rules.md and docs/tables.md")
    sub.add_parser("airflow", help="the Airflow UI (standalone) on 127.0.0.1:8080")
    shots = sub.add_parser("screenshots", help="README pictures (needs `make airflow` running)")
    shots.add_argument("--airflow-url", default="http://127.0.0.1:8080")

    args = parser.parse_args(argv)
    if args.command == "env":
        from cadence.devtools.compose_env import example_text, write_env

        if args.example:
            print(example_text(), end="")
            return 0
        if not write_env(args.path):
            print(f"{args.path} exists: left as it is (delete it to make new secrets)")
            return 0
        print(f"{args.path} written with new random secrets")
        return 0
    if args.command == "airflow":
        from cadence.devtools.demo import AIRFLOW_HOME
        from cadence.devtools.standalone import run_standalone

        return run_standalone(AIRFLOW_HOME)
    if args.command == "screenshots":
        from cadence.devtools.demo import AIRFLOW_HOME
        from cadence.devtools.screenshots import take_screenshots

        for path in take_screenshots(args.airflow_url, AIRFLOW_HOME):
            print(f"wrote {path}")
        return 0
    if args.command == "docs":
        from cadence.contract.settings import load_settings
        from cadence.outputs.docs_pages import write_docs
        from cadence.policy import load_policy

        for path in write_docs(load_policy(load_settings().policy_path)):
            print(f"wrote {path}")
        return 0
    if args.command == "sample":
        from cadence.contract.settings import load_settings
        from cadence.devtools.sample import write_sample

        out = args.out or load_settings().source_dir
        counts = write_sample(out, accounts=args.accounts, seed=args.seed,
                              as_of=args.as_of or date.today(), dirty_rate=args.dirty_rate)
        for entity, n in counts.items():
            print(f"{entity:<20} {n:>10,} rows")
        print(f"written to {out}")
        return 0
    if args.command == "demo":
        from cadence.devtools.demo import run_demo

        return run_demo(accounts=args.accounts, as_of=args.as_of or date.today())
    if args.command == "whatif":
        from cadence.contract.schema import create_warehouse_tables
        from cadence.contract.settings import load_settings
        from cadence.contract.warehouse import connect
        from cadence.learning.whatif import WhatIfError, format_comparison, run_whatif
        from cadence.policy import PolicyError, load_policy

        settings = load_settings()
        warehouse = connect(settings)
        create_warehouse_tables(warehouse)  # as cadence_whatif's first task does
        try:
            result = run_whatif(warehouse, load_policy(settings.policy_path),
                                args.first, args.last, settings.out_dir,
                                policy_file=args.policy, overrides=args.overrides)
        except (WhatIfError, PolicyError) as exc:
            print(f"what-if: {exc}", file=sys.stderr)
            return 2
        print(f"what-if {result['comparison_id']}: {result['changes']}")
        print(format_comparison(result["comparison"]))
        print(f"table whatif_comparison, page {result['page']}")
        return 0
    if args.command == "sample-engagement":
        from cadence.contract.settings import load_settings
        from cadence.devtools.sample_engagement import write_engagement_from_outbox

        settings = load_settings()
        until = pd_day(args.until or date.today())
        n = write_engagement_from_outbox(settings.out_dir, settings.source_dir, args.seed,
                                         until)
        print(f"engagement_events       {n:>10,} rows (answering the outbox) -> "
              f"{settings.source_dir / 'engagement_events.csv'}")
        return 0
    if args.command == "scale-demo":
        from cadence.devtools.scale_demo import run_scale_demo

        return run_scale_demo(accounts=args.accounts)
    if args.hourly:
        from cadence.devtools.hourly_bench import run_hourly_bench

        return run_hourly_bench(touches=args.touches, contacts=args.contacts)
    if args.nightly:
        from cadence.devtools.nightly_bench import run_nightly_bench

        return run_nightly_bench(accounts=args.accounts)
    from cadence.devtools.bench import run_bench

    return run_bench(accounts=args.accounts)


def pd_day(day: date) -> datetime:
    """Midnight UTC of a day."""
    return datetime.combine(day, time(), tzinfo=UTC)


if __name__ == "__main__":
    sys.exit(main())
