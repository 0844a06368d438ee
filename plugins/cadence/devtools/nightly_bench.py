"""``make bench-nightly``: one ``cadence_nightly`` run through Airflow on the embedded
warehouse, measured. Figures are printed as JSON, never asserted.

The sample is generated into a temporary folder by a child process, then ``airflow dags
test`` runs the nightly on a fresh SQLite metadata DB and DuckDB file there. Per-task
seconds come from the task instances in the metadata DB (mapped tasks summed and counted),
peak memory from sampling the RSS of this process and all its descendants while the run
goes (:class:`TreeMemorySampler`), and rows per table from the warehouse afterwards.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from time import perf_counter

import psutil  # an Airflow dependency

from cadence.contract.settings import PROJECT_ROOT
from cadence.devtools.airflow_cli import (
    DagRunFailed,
    dags_test,
    failed_tasks,
    first_traceback,
    prepare_metadata,
)

DEFAULT_ACCOUNTS = 100_000
AS_OF = date(2026, 11, 23)  # a fixed day: runs at different dates compare
SEED = 1
DAG_ID = "cadence_nightly"
_SAMPLE_LINE = re.compile(r"^(?P<entity>\w+)\s+(?P<rows>[\d,]+) rows$")


def _timestamp(value: str | datetime | None) -> datetime | None:
    if value is None:
        return None
    stamp = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    # The metadata DB keeps UTC, with or without an offset: compared as naive UTC.
    return stamp.astimezone(UTC).replace(tzinfo=None) if stamp.tzinfo else stamp


def task_seconds(rows: Iterable[tuple]) -> dict[str, dict[str, float]]:
    """Seconds per task from task-instance rows ``(task_id, map_index, start, end)``
    (timestamps as ``datetime`` or ISO strings): a mapped task's instances summed, with
    how many ran, and (mapped tasks) the longest instance, what the task would take with a
    worker per instance. Instances that never started (skipped) are counted with 0 s.
    Tasks are ordered by when their first instance started."""
    durations: dict[str, list[float]] = {}
    first_start: dict[str, datetime] = {}
    for task_id, _map_index, start, end in rows:
        start, end = _timestamp(start), _timestamp(end)
        seconds = 0.0
        if start is not None and end is not None:
            seconds = (end - start).total_seconds()
            if task_id not in first_start or start < first_start[task_id]:
                first_start[task_id] = start
        durations.setdefault(task_id, []).append(seconds)
    summary = {}
    for task in sorted(durations, key=lambda t: (first_start.get(t, datetime.max), t)):
        entry = {"seconds": round(sum(durations[task]), 2), "count": len(durations[task])}
        if len(durations[task]) > 1:
            entry["longest_s"] = round(max(durations[task]), 2)
        summary[task] = entry
    return summary


def sample_rows(printed: str) -> dict[str, int]:
    """Rows per entity from what ``python -m cadence sample`` prints (``entity  1,234 rows``;
    a CSV line count would miscount quoted fields holding newlines)."""
    rows = {}
    for line in printed.splitlines():
        match = _SAMPLE_LINE.match(line)
        if match:
            rows[match["entity"]] = int(match["rows"].replace(",", ""))
    return rows


def read_task_instances(metadata_db: Path, dag_id: str) -> list[tuple]:
    """``(task_id, map_index, start_date, end_date)`` of every task instance of the DAG's
    latest run in an Airflow SQLite metadata DB."""
    with sqlite3.connect(metadata_db) as conn:
        return conn.execute(
            "select task_id, map_index, start_date, end_date from task_instance "
            "where dag_id = ? and run_id = (select run_id from dag_run where dag_id = ? "
            "order by id desc limit 1) order by start_date",
            (dag_id, dag_id),
        ).fetchall()


def tree_rss(pid: int) -> int:
    """Bytes resident in a process and all its descendants (shared pages counted once per
    process, so an upper bound); processes that end while being read are skipped."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


class TreeMemorySampler:
    """Context manager: samples :func:`tree_rss` of ``pid`` every ``interval`` seconds on a
    thread; ``peak_bytes`` is the largest sample (taken once more on exit)."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_bytes = 0
        self.samples = 0
        self.series: list[tuple[datetime, int]] = []  # (naive UTC, bytes) of each sample
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        size = tree_rss(self.pid)
        self.peak_bytes = max(self.peak_bytes, size)
        self.samples += 1
        self.series.append((datetime.now(UTC).replace(tzinfo=None), size))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeMemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def task_peaks(rows: Iterable[tuple], series: list[tuple[datetime, int]]) -> dict[str, int]:
    """The largest tree RSS (MB) sampled while each task ran (its instances' start to end;
    ``series`` of naive-UTC times and bytes): which task holds the run's peak."""
    peaks: dict[str, int] = {}
    for task_id, _map_index, start, end in rows:
        start, end = _timestamp(start), _timestamp(end)
        if start is None or end is None:
            continue
        inside = [size for at, size in series if start <= at <= end]
        if inside:
            peaks[task_id] = max(peaks.get(task_id, 0), max(inside))
    return {task: round(size / 2**20) for task, size in peaks.items()}


def warehouse_rows(url: str) -> dict[str, int]:
    """Rows per table (and view) of the warehouse, by name."""
    from cadence.contract.data_dictionary import warehouse_columns
    from cadence.contract.warehouse import Warehouse

    warehouse = Warehouse(url)
    try:
        return {name: warehouse.count(name) for name in warehouse_columns(warehouse)}
    finally:
        warehouse.engine.dispose()


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def nightly_bench(accounts: int = DEFAULT_ACCOUNTS, workdir: Path | None = None) -> dict:
    """Generate the sample for ``accounts``, run ``cadence_nightly`` once through Airflow on
    a fresh embedded warehouse and return the figures (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="cadence-bench-nightly-", dir=workdir) as tmp:
        root = Path(tmp)
        started = perf_counter()
        _progress(f"sample: {accounts:,} accounts as of {AS_OF} -> {root / 'sources'}")
        # A child process, so the generator's memory is not held by this one during the run
        sample = subprocess.run(
            [sys.executable, "-m", "cadence", "sample", "--accounts", str(accounts),
             "--seed", str(SEED), "--as-of", AS_OF.isoformat(), "--out", str(root / "sources")],
            check=True, capture_output=True, text=True,
            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT / "plugins")})
        sample_s = perf_counter() - started
        source_rows = sum(sample_rows(sample.stdout).values())

        airflow_home = root / "airflow"
        prepare_metadata(airflow_home)
        url = f"duckdb:///{root / 'warehouse.duckdb'}"
        env = {"CADENCE_WAREHOUSE_URL": url, "CADENCE_SOURCE_DIR": str(root / "sources"),
               "CADENCE_OUT_DIR": str(root / "out")}
        _progress(f"airflow dags test {DAG_ID} {AS_OF} (log: {root / 'nightly.log'})")
        run_started = perf_counter()
        failed: list[str] = []
        with TreeMemorySampler(psutil.Process().pid) as sampler:
            try:
                dags_test(DAG_ID, AS_OF, airflow_home, env=env, log_path=root / "nightly.log")
            except DagRunFailed as exc:
                # The figures up to the failure still tell where a large run spends its time.
                log = (root / "nightly.log").read_text(errors="replace")
                failed = sorted(failed_tasks(log)) or ["(see the error)"]
                _progress(f"the nightly failed in {failed}:\n{first_traceback(log) or exc}")
        nightly_s = perf_counter() - run_started

        instances = read_task_instances(airflow_home / "airflow.db", DAG_ID)
        tasks = task_seconds(instances)
        for task, peak in task_peaks(instances, sampler.series).items():
            tasks[task]["peak_rss_tree_mb"] = peak
        rows = warehouse_rows(url)
    return {
        "accounts": accounts,
        "failed_tasks": failed,
        "source_rows": source_rows,
        "sample_s": round(sample_s, 1),
        "nightly_wall_s": round(nightly_s, 1),
        "tasks_s": round(sum(t["seconds"] for t in tasks.values()), 1),
        "total_wall_s": round(perf_counter() - started, 1),
        "peak_rss_tree_mb": round(sampler.peak_bytes / 2**20),
        "memory_samples": sampler.samples,
        "tasks": tasks,
        "rows": rows,
    }


def run_nightly_bench(accounts: int | None = None) -> int:
    """``python -m cadence bench --nightly``: print the figures as JSON; the exit code."""
    figures = nightly_bench(accounts or DEFAULT_ACCOUNTS)
    print(json.dumps(figures, indent=2))
    return 1 if figures["failed_tasks"] else 0
