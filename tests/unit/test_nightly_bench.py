"""The nightly benchmark's measuring parts: task-instance summary, metadata read, process
tree memory. The whole benchmark (an Airflow run) is not run here."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import datetime

import psutil

from cadence.devtools.nightly_bench import (
    TreeMemorySampler,
    read_task_instances,
    sample_rows,
    task_peaks,
    task_seconds,
    tree_rss,
)


def test_mapped_instances_are_summed_and_counted_in_start_order():
    rows = [
        ("plan_calendar", 1, "2026-11-23 00:00:10", "2026-11-23 00:00:16.5"),
        ("extract_sources", -1, "2026-11-23 00:00:00", "2026-11-23 00:00:04"),
        ("plan_calendar", 0, datetime(2026, 11, 23, 0, 0, 5), datetime(2026, 11, 23, 0, 0, 8)),
        ("push_health_properties", -1, None, None),  # skipped: never started
    ]
    assert task_seconds(rows) == {
        "extract_sources": {"seconds": 4.0, "count": 1},
        "plan_calendar": {"seconds": 9.5, "count": 2, "longest_s": 6.5},
        "push_health_properties": {"seconds": 0.0, "count": 1},
    }


def test_task_instances_of_the_latest_run_are_read(tmp_path):
    db = tmp_path / "airflow.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table dag_run (id integer, dag_id text, run_id text)")
        conn.execute("create table task_instance (dag_id text, run_id text, task_id text, "
                     "map_index integer, start_date text, end_date text)")
        conn.executemany("insert into dag_run values (?, ?, ?)",
                         [(1, "cadence_nightly", "old"), (2, "cadence_hourly", "h"),
                          (3, "cadence_nightly", "new")])
        conn.executemany("insert into task_instance values (?, ?, ?, ?, ?, ?)", [
            ("cadence_nightly", "old", "extract_sources", -1, "2026-11-22 00:00:00",
             "2026-11-22 00:01:00"),
            ("cadence_hourly", "h", "dispatch_due", -1, "2026-11-23 01:00:00",
             "2026-11-23 01:00:02"),
            ("cadence_nightly", "new", "extract_sources", -1, "2026-11-23 00:00:00",
             "2026-11-23 00:00:03"),
        ])
    rows = read_task_instances(db, "cadence_nightly")
    assert task_seconds(rows) == {"extract_sources": {"seconds": 3.0, "count": 1}}


def test_sampler_sees_memory_a_child_process_allocates():
    # the child holds 200 MB for a second: a parent-only measure would miss it
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import time; block = b\"x\" * (200 * 2**20); time.sleep(1.0)"])
    own = psutil.Process().memory_info().rss
    try:
        with TreeMemorySampler(psutil.Process().pid, interval=0.05) as sampler:
            child.wait(timeout=30)
    finally:
        child.kill()
    assert sampler.samples >= 3
    assert sampler.peak_bytes >= own + 150 * 2**20
    assert tree_rss(child.pid) == 0  # an ended process has no memory


def test_source_rows_are_the_counts_the_sample_command_prints():
    printed = ("accounts                  1,010 rows\n"
               "usage_daily             215,374 rows\n"
               "written to /tmp/sources\n")
    assert sample_rows(printed) == {"accounts": 1010, "usage_daily": 215374}


def test_each_task_gets_the_peak_sampled_while_it_ran():
    # Instances as the metadata DB stores them (UTC, one with an offset); samples in naive UTC.
    rows = [("validate", -1, "2026-11-23 01:00:00", "2026-11-23 01:00:10"),
            ("plan", 0, "2026-11-23T01:00:10+00:00", "2026-11-23T01:00:20+00:00"),
            ("plan", 1, "2026-11-23 01:00:20", "2026-11-23 01:00:30"),
            ("skipped", -1, None, None)]
    mb = 2**20
    series = [(datetime(2026, 11, 23, 1, 0, s), size * mb)
              for s, size in [(1, 100), (9, 900), (12, 300), (25, 700), (40, 5000)]]
    assert task_peaks(rows, series) == {"validate": 900, "plan": 700}
