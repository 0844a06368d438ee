"""Errors retrying cannot fix fail the task at once; network errors keep their retries.

Each DAG task's own callable is run with a :class:`cadence.orchestration.runs.Run` of a small
project
in a temporary folder, as Airflow would run it (without the scheduler's retry loop).
"""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from airflow.sdk.exceptions import AirflowFailException

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
ROOT = DAGS_DIR.parent


@pytest.fixture(scope="module")
def dag_bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def _run(tmp_path: Path, policy_path: Path | None = None):
    from cadence.contract.settings import Settings
    from cadence.orchestration.runs import Run

    settings = Settings(
        warehouse_url=f"duckdb:///{tmp_path / 'warehouse.duckdb'}",
        warehouse_schema="cadence",
        source_dir=tmp_path / "sources",
        out_dir=tmp_path / "out",
        policy_path=policy_path or ROOT / "include" / "config" / "policy.yml",
    )
    (tmp_path / "sources").mkdir(exist_ok=True)
    start = datetime(2026, 11, 23, tzinfo=UTC)
    return Run(run_id="manual__test", run_type="manual", data_interval_start=start,
               data_interval_end=start, started_at=start,
               clock=lambda: datetime(2026, 12, 2, tzinfo=UTC),  # a week on: not live
               settings=settings)


def _call(dag_bag, monkeypatch, dag_id: str, task_id: str, run):
    callable_ = dag_bag.dags[dag_id].get_task(task_id).python_callable
    # The DAG file's own function, under the wrappers every cadence task has.
    monkeypatch.setitem(inspect.unwrap(callable_).__globals__, "current_run", lambda **_: run)
    return callable_()


def test_a_missing_source_file_fails_the_extract_without_retries(dag_bag, monkeypatch, tmp_path):
    with pytest.raises(AirflowFailException, match=r"SourceError: csms: no source file"):
        _call(dag_bag, monkeypatch, "cadence_nightly", "extract_sources", _run(tmp_path))


def test_an_invalid_policy_fails_the_task_without_retries(dag_bag, monkeypatch, tmp_path):
    bad = tmp_path / "policy.yml"
    bad.write_text("quality: {reject_rate_threshold: -1}\n")
    with pytest.raises(AirflowFailException, match=r"quality\.reject_rate_threshold"):
        _call(dag_bag, monkeypatch, "cadence_nightly", "extract_sources", _run(tmp_path, bad))


def test_a_reject_rate_over_the_threshold_fails_without_retries(dag_bag, monkeypatch, tmp_path):
    from cadence.orchestration import nightly
    from cadence.quality import QualityError

    def breach(run):
        raise QualityError("contacts: 9 of 10 rows rejected")

    monkeypatch.setattr(nightly, "validate_sources", breach)
    with pytest.raises(AirflowFailException, match="QualityError: contacts"):
        _call(dag_bag, monkeypatch, "cadence_nightly", "validate_sources", _run(tmp_path))


def test_a_network_error_keeps_its_retries(dag_bag, monkeypatch, tmp_path):
    from cadence.orchestration import hourly

    def unreachable(run):
        raise requests.ConnectionError("connection refused")

    monkeypatch.setattr(hourly, "dispatch_due_touches", unreachable)
    with pytest.raises(requests.ConnectionError):
        _call(dag_bag, monkeypatch, "cadence_hourly", "dispatch_due_touches", _run(tmp_path))


@pytest.mark.parametrize("dag_id", ["cadence_nightly", "cadence_hourly"])
def test_every_task_fails_now_when_retrying_cannot_help(dag_bag, dag_id):
    for task in dag_bag.dags[dag_id].tasks:
        assert getattr(task.python_callable, "fails_now_when_retry_cannot_help", False), (
            task.task_id)
        assert task.retries >= 2, task.task_id  # network errors keep their retries
