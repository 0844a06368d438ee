"""Past one machine: `make scale-demo` runs cadence_nightly on the CeleryExecutor with two
workers (redis-server, the local PostgreSQL) and compares it with a DuckDB run.

The whole demo takes several minutes (Airflow's components start, then two nightly runs),
so it is marked slow: `make test-slow` (`make test` leaves it out)."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta

import pytest

from cadence.devtools.scale_demo import WORKERS, Instance, side_by_side

T0 = datetime(2026, 11, 23, 1, tzinfo=UTC)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _plan(index: int, host: str, start: float, end: float) -> Instance:
    return Instance("plan_calendar", index, host, _at(start), _at(end), "success")


def test_overlap_counts_only_instances_on_different_hosts_at_the_same_time():
    instances = [
        _plan(0, "worker-a", 0, 10), _plan(1, "worker-a", 5, 12),  # same host: not counted
        _plan(2, "worker-b", 9, 20),  # overlaps 0 (1 s) and 1 (3 s) on another host
        _plan(3, "worker-b", 20, 25),  # starts as 2 ends: no overlap
        Instance("level_csm_capacity", -1, "worker-a", _at(9), _at(30), "success"),
    ]
    proof = side_by_side(instances)
    assert proof["per_host"] == {"worker-a": 2, "worker-b": 2}
    assert proof["overlapping_pairs_on_different_hosts"] == 2
    assert proof["longest_overlap_s"] == 3.0
    assert proof["most_at_once"] == 3


def test_one_after_another_proves_nothing():
    serial = [_plan(i, WORKERS[i % 2], 10 * i, 10 * i + 10) for i in range(4)]
    proof = side_by_side(serial)
    assert set(proof["per_host"]) == set(WORKERS)
    assert proof["overlapping_pairs_on_different_hosts"] == 0
    assert proof["most_at_once"] == 1


def _needed() -> str | None:
    from tests.conftest import postgres_available

    if shutil.which("redis-server") is None:
        return "redis-server not installed (Debian package redis-server)"
    try:
        import airflow.providers.celery  # noqa: F401
    except ImportError:
        return "apache-airflow-providers-celery not installed"
    return postgres_available()


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.xdist_group("airflow-pipeline")
def test_two_celery_workers_plan_shards_at_once_and_every_table_equals_duckdb(tmp_path):
    from cadence.devtools.scale_demo import scale_demo
    from tests.conftest import POSTGRES_URL

    reason = _needed()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    result = scale_demo(accounts=200, admin_url=POSTGRES_URL, workdir=tmp_path)

    celery = result["celery"]
    assert celery["state"] == "success"
    proof = celery["plan_calendar"]
    assert proof["instances"] >= 2
    assert set(proof["per_host"]) == set(WORKERS)  # each worker planned shards
    assert proof["overlapping_pairs_on_different_hosts"] >= 1, proof["timeline"]
    assert proof["most_at_once"] >= 2
    comparison = result["comparison"]
    assert comparison["tables_compared"] >= 40
    for table in ("account_health", "segment_membership", "touch_candidates",
                  "communication_calendar", "calendar_decisions", "csm_tasks"):
        assert comparison["rows"][table] > 0, table
    assert comparison["equal"], "\n".join(
        line for lines in comparison["differences"].values() for line in lines)
    assert list(tmp_path.iterdir()) == []  # the demo's folder is gone
