"""Run cadence DAGs through the real Airflow CLI (``airflow dags test``) against a local
SQLite metadata database: used by ``make demo`` and by the end-to-end tests."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Collection, Mapping
from datetime import date, datetime
from pathlib import Path

from cadence.contract.settings import PROJECT_ROOT
from cadence.orchestration.dag_defaults import WAREHOUSE_POOL


class DagRunFailed(RuntimeError):
    """``airflow dags test`` exited non-zero; the message ends with the log's tail."""


# The line cadence's failure callback writes for every failed task.
_FAILED_TASK = re.compile(r"cadence task failed: dag=\S+ task=(\S+)")


def failed_tasks(log: str) -> set[str]:
    """Ids of the tasks a ``dags test`` log reports as failed."""
    return set(_FAILED_TASK.findall(log))


def first_traceback(log: str, limit: int = 6000) -> str:
    """The first Python traceback of a ``dags test`` log (where a task failed), or ''."""
    start = log.find("Traceback (most recent call last)")
    return "" if start < 0 else log[start:start + limit]


def airflow_env(airflow_home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for an Airflow CLI call on this project."""
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "PYTHONPATH": str(PROJECT_ROOT / "plugins"),
            "CADENCE_TASK_RETRIES": "0",  # a local run shows a failure at once
        }
    )
    env.update(extra or {})
    return env


def _airflow() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def prepare_metadata(airflow_home: Path, env: Mapping[str, str] | None = None) -> None:
    """Migrate the SQLite metadata DB and create the warehouse pool (one slot: DuckDB)."""
    airflow_home.mkdir(parents=True, exist_ok=True)
    full_env = airflow_env(airflow_home, env)
    for args in (["db", "migrate"],
                 ["pools", "set", WAREHOUSE_POOL, "1", "cadence warehouse writer"]):
        result = subprocess.run([_airflow(), *args], env=full_env, capture_output=True,
                                text=True, check=False)
        if result.returncode:
            raise DagRunFailed(f"airflow {' '.join(args)} failed:\n{result.stderr[-3000:]}")


def dags_test(
    dag_id: str,
    logical_date: date | datetime,
    airflow_home: Path,
    env: Mapping[str, str] | None = None,
    conf: Mapping[str, object] | None = None,
    log_path: Path | None = None,
    allowed_failures: Collection[str] = (),
) -> str:
    """Run one DAG run in-process with ``airflow dags test``; return its log. A run whose
    only failed tasks are ``allowed_failures`` (a check that reports bad input after the
    work is done, e.g. ``check_consent_rows``) is returned, not raised."""
    args = [_airflow(), "dags", "test", dag_id, logical_date.isoformat()]
    if conf:
        args += ["--conf", json.dumps(conf)]
    result = subprocess.run(args, env=airflow_env(airflow_home, env), capture_output=True,
                            text=True, check=False)
    log = result.stdout + result.stderr
    if log_path:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(log)
    failed = "state=failed" in log or "new_state=failed" in log or "new_state=up_for_retry" in log
    tasks = failed_tasks(log)
    if failed and tasks and tasks <= set(allowed_failures) and "upstream_failed" not in log:
        return log
    if result.returncode or failed:
        raise DagRunFailed(f"{dag_id} {logical_date} failed (exit {result.returncode}),"
                           f" tasks {sorted(tasks)}:\n{first_traceback(log)}\n...\n"
                           + log[-3000:])
    return log
