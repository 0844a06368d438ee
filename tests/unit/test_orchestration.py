"""Which runs may reach the outside world: only a run about the present, never a backfill,
never a run dated in the past or in the future."""

from datetime import UTC, datetime, timedelta

from cadence.orchestration.runs import Run, is_live_run

NOW = datetime(2026, 11, 23, 10, 5, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _window(end: datetime) -> tuple[datetime, datetime]:
    return end - HOUR, end


def test_the_hour_that_just_ended_is_live():
    assert is_live_run("scheduled", *_window(NOW.replace(minute=0)), NOW)
    assert is_live_run("manual", *_window(NOW.replace(minute=0)), NOW)


def test_a_backfill_is_never_live_even_for_today():
    assert not is_live_run("backfill", *_window(NOW.replace(minute=0)), NOW)


def test_catchup_or_a_rerun_of_last_week_is_not_live():
    assert not is_live_run("scheduled", *_window(NOW - timedelta(days=7)), NOW)
    assert not is_live_run("manual", *_window(NOW - timedelta(hours=3)), NOW)


def test_a_run_dated_next_week_is_not_live():
    """`airflow dags test cadence_hourly <a week ahead>` must not send a week early."""
    assert not is_live_run("manual", *_window(NOW + timedelta(days=7)), NOW)
    assert not is_live_run("scheduled", *_window(NOW + timedelta(hours=4)), NOW)


def test_the_bound_applies_on_both_sides_of_the_window():
    bound, minute = timedelta(hours=2), timedelta(minutes=1)
    assert is_live_run("manual", NOW + bound, NOW + bound + HOUR, NOW, bound)
    assert is_live_run("manual", NOW - bound - HOUR, NOW - bound, NOW, bound)
    assert not is_live_run("manual", NOW + bound + minute, NOW + bound + HOUR, NOW, bound)
    assert not is_live_run("manual", NOW - bound - HOUR, NOW - bound - minute, NOW, bound)


def test_the_nightly_push_window_is_wider():
    start, end = _window(NOW - timedelta(hours=9))
    assert not is_live_run("scheduled", start, end, NOW)
    assert is_live_run("scheduled", start, end, NOW, timedelta(days=1))


def test_a_run_reads_the_wall_clock_it_is_given_and_the_policy_bound(tmp_path):
    """The hourly run's bound is the policy's staleness (6 h in the shipped policy)."""
    from cadence.contract.settings import load_settings

    settings = load_settings({"CADENCE_OUT_DIR": str(tmp_path)})
    start, end = _window(NOW - timedelta(hours=5))
    run = Run("r", "scheduled", start, end, NOW, clock=lambda: NOW, settings=settings)
    assert run.is_live
    future = Run("r", "manual", *_window(NOW + timedelta(days=7)), NOW, clock=lambda: NOW,
                 settings=settings)
    assert not future.is_live


def test_a_task_leaves_no_warehouse_open_and_the_warehouse_still_works(tmp_path):
    # dags test and a Celery worker run task after task in one process: each task's DuckDB
    # connection (and with it DuckDB's buffer cache) is closed when the task ends.
    import pandas as pd

    from cadence.contract.warehouse import Warehouse
    from cadence.orchestration.dag_defaults import releases_memory_after

    warehouse = Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")

    @releases_memory_after
    def write() -> int:
        return warehouse.write_frame("t", pd.DataFrame({"x": [1, 2]}))

    assert write() == 2
    assert warehouse.engine.pool.checkedin() == 0
    assert warehouse.count("t") == 2  # reopened on use
