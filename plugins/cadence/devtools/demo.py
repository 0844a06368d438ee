"""``make demo``: sample sources for a day, ``cadence_nightly`` then ``cadence_hourly``
through Airflow (``airflow dags test`` on SQLite metadata under ``.airflow/``), then a
short summary of what was built and where the outputs are."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from time import perf_counter

from cadence.contract.settings import CONFIG_DIR, PROJECT_ROOT, Settings, load_settings
from cadence.devtools.airflow_cli import DagRunFailed, dags_test, failed_tasks, prepare_metadata

AIRFLOW_HOME = PROJECT_ROOT / ".airflow"
HISTORY_DAYS = 28  # the past month planned and sent before the demo's day
WHATIF_DAYS = 3
WHATIF_POLICY = CONFIG_DIR / "whatif_3_per_week.yml"


def _clear_outputs(settings: Settings) -> None:
    # A fresh demo: the outbox answers only this run's sends, the warehouse only its plans.
    # Only the default embedded warehouse is removed, never one the environment names.
    shutil.rmtree(settings.out_dir / "outbox", ignore_errors=True)
    if settings.warehouse_url == load_settings({}).warehouse_url:
        Path(settings.warehouse_url.removeprefix("duckdb:///")).unlink(missing_ok=True)


def run_demo(accounts: int, as_of: date, seed: int = 7) -> int:
    """Run the demo end to end; return the process exit code."""
    from cadence.contract.warehouse import connect
    from cadence.devtools.playbook_summary import playbook_summary
    from cadence.devtools.sample import write_sample
    from cadence.devtools.sample_engagement import write_engagement_from_outbox
    from cadence.learning.summary import learning_summary
    from cadence.learning.whatif import format_comparison, run_whatif
    from cadence.outputs.csm_tasks import task_summary
    from cadence.outputs.report import format_text, summarize
    from cadence.policy import load_policy

    settings = load_settings()
    started = perf_counter()
    logs = AIRFLOW_HOME / "demo-logs"

    print(f"1/7 sample sources: {accounts} accounts as of {as_of} -> {settings.source_dir}")
    write_sample(settings.source_dir, accounts=accounts, seed=seed, as_of=as_of)
    _clear_outputs(settings)

    print(f"2/7 Airflow metadata (SQLite) in {AIRFLOW_HOME}")
    prepare_metadata(AIRFLOW_HOME)

    # A past month first, so there is something to learn from: the nightly plan of
    # HISTORY_DAYS ago, replayed through the outbox provider (simulation), and the
    # recipients' answers to what was sent.
    past = as_of - timedelta(days=HISTORY_DAYS)
    past_at = datetime.combine(past, time(), tzinfo=UTC)
    # The hourly run is about the hour that has just started on the demo's day, so it is
    # live: touches due in its window go to the outbox provider.
    hourly_at = datetime.combine(as_of, time(datetime.now(UTC).hour), tzinfo=UTC)
    try:
        print(f"3/7 airflow dags test cadence_nightly {past} (the past month's plan)")
        dags_test("cadence_nightly", past, AIRFLOW_HOME, log_path=logs / "nightly_past.log")
        print(f"4/7 airflow dags test cadence_hourly {past_at.isoformat()} (simulation: the "
              f"month replayed through the outbox)")
        dags_test("cadence_hourly", past_at, AIRFLOW_HOME, log_path=logs / "hourly_past.log",
                  conf={"simulation": True, "lookahead_hours": HISTORY_DAYS * 24},
                  allowed_failures={"check_consent_rows"})
        answered = write_engagement_from_outbox(
            settings.out_dir, settings.source_dir, seed,
            datetime.combine(as_of, time(), tzinfo=UTC))
        print(f"    {answered} engagement events answer the month's sends "
              f"-> {settings.source_dir / 'engagement_events.csv'}")
        print(f"5/7 airflow dags test cadence_nightly {as_of}")
        dags_test("cadence_nightly", as_of, AIRFLOW_HOME, log_path=logs / "nightly.log")
        print(f"6/7 airflow dags test cadence_hourly {hourly_at.isoformat()}")
        hourly_log = dags_test("cadence_hourly", hourly_at, AIRFLOW_HOME,
                               log_path=logs / "hourly.log", conf={"lookahead_hours": 48},
                               allowed_failures={"check_consent_rows"})
    except DagRunFailed as exc:
        print(exc)
        print(f"full logs: {logs}")
        return 1

    warehouse = connect(settings)
    if "check_consent_rows" in failed_tasks(hourly_log):
        # the sample carries broken consent rows on purpose: their contacts are held
        held = warehouse.read_table("consent_holds")
        print(f"    check_consent_rows failed as it should: {held['row_number'].nunique()} "
              f"consent rows cannot be read, {held['contact_id'].nunique()} contacts held "
              "(table consent_holds, rows in quarantine)")
    print()
    print(format_text(summarize(warehouse, as_of, load_policy(settings.policy_path))))
    print()
    _by_class(warehouse, as_of)
    print()
    print(playbook_summary(warehouse, as_of))
    print()
    print("CSM tasks")
    for key, value in task_summary(warehouse, as_of).items():
        print(f"  {key:<44} {value}")
    print()
    print(learning_summary(warehouse, as_of))
    print()
    last = as_of + timedelta(days=WHATIF_DAYS - 1)
    print(f"7/7 what-if {as_of} to {last}: {WHATIF_POLICY.name} vs the policy "
          "(replayed in scenario stores; nothing sent)")
    result = run_whatif(warehouse, load_policy(settings.policy_path), as_of, last,
                        settings.out_dir, policy_file=WHATIF_POLICY)
    print(format_comparison(result["comparison"]))
    print(f"  page {result['page']}")
    print()
    _where(settings.out_dir, as_of, logs, settings.warehouse_url)
    print(f"demo finished in {perf_counter() - started:.0f} s")
    return 0


def _by_class(warehouse, as_of: date) -> None:
    # DESIGN §7 priority classes: protected ones are never dropped, only escalated.
    from cadence.planner.priority import class_outcomes
    from cadence.policy import load_policy

    params = {"as_of": as_of}
    candidates = warehouse.read_frame(
        warehouse.render("planner/candidates.sql", in_shard=False), params)
    decisions = warehouse.read_frame(warehouse.render("planner/decisions.sql"), params)
    table = class_outcomes(candidates, decisions, load_policy().classes)
    print("Touches by priority class (candidates -> decisions)")
    print("\n".join("  " + line for line in table.to_string(index=False).splitlines()))


def _where(out_dir: Path, as_of: date, logs: Path, warehouse_url: str) -> None:
    print("Where things are")
    print(f"  warehouse       {warehouse_url}")
    print(f"  report          {out_dir / 'reports' / f'plan_{as_of.isoformat()}.html'}")
    print(f"  experiments     {out_dir / 'reports' / f'experiments_{as_of.isoformat()}.html'}")
    print(f"  CSM task feeds  {out_dir / 'csm_tasks'}/<owner>.ics (live iCalendar, subscribe)")
    print(f"  CSM task lists  {out_dir / 'csm_tasks'}/<owner>/<YYYY-Www>.csv (one per week)")
    print(f"  outbox batches  {out_dir / 'outbox'}")
    print(f"  Airflow logs    {logs}")
