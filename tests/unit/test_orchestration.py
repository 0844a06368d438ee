"""Which runs may reach the outside world: only a run about the present, never a backfill."""

from datetime import UTC, datetime, timedelta

from cadence.orchestration import is_live_run

NOW = datetime(2026, 11, 23, 10, 5, tzinfo=UTC)


def test_the_hour_that_just_ended_is_live():
    assert is_live_run("scheduled", NOW.replace(minute=0), NOW)
    assert is_live_run("manual", NOW.replace(minute=0), NOW)


def test_a_backfill_is_never_live_even_for_today():
    assert not is_live_run("backfill", NOW.replace(minute=0), NOW)


def test_catchup_or_a_rerun_of_last_week_is_not_live():
    assert not is_live_run("scheduled", NOW - timedelta(days=7), NOW)
    assert not is_live_run("manual", NOW - timedelta(hours=3), NOW)


def test_the_nightly_push_window_is_wider():
    ended = NOW - timedelta(hours=9)
    assert not is_live_run("scheduled", ended, NOW)
    assert is_live_run("scheduled", ended, NOW, timedelta(days=1))
