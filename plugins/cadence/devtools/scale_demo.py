"""``make scale-demo``: one ``cadence_nightly`` on Airflow's CeleryExecutor with two
workers, without Docker, compared row by row with the same nightly on the embedded DuckDB
warehouse.

It starts, on 127.0.0.1 with free ports and everything under one temporary folder:

- ``redis-server`` (Debian's package) as the Celery broker;
- a fresh database on the local PostgreSQL server holding Airflow's metadata (schema
  ``public``) and the warehouse (schema ``cadence``), as docker-compose.yaml has it, with
  the ``cadence_warehouse`` pool wider than one slot;
- ``airflow api-server`` (the execution API every Airflow 3 task talks to), ``scheduler``,
  ``dag-processor`` and two ``airflow celery worker`` processes, concurrency 1 each, named
  ``worker-a`` and ``worker-b``.

It triggers one nightly for a fixed day on a small sample, waits for it, reads its task
instances (hostname, start, end) to show ``plan_calendar`` shards ran on both workers at
the same time, then runs the same nightly with ``airflow dags test`` on DuckDB and compares
every table both runs wrote. Every process it started is stopped and the database and the
folder removed, also when something fails.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from itertools import combinations
from pathlib import Path
from typing import IO, Any

from cadence.devtools.airflow_cli import airflow_env, dags_test, prepare_metadata

DAG_ID = "cadence_nightly"
AS_OF = date(2026, 11, 23)  # a fixed past day: neither run is live, nothing leaves the machine
SEED = 11
DEFAULT_ACCOUNTS = 200
WORKERS = ("worker-a", "worker-b")
POOL_SLOTS = 4  # > 1: on Postgres several tasks may write the warehouse at once
WAREHOUSE_SCHEMA = "cadence"
ADMIN_URL = os.environ.get("CADENCE_TEST_POSTGRES_URL",
                           "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


class ScaleDemoFailed(RuntimeError):
    """A component did not start, or the run failed; the message says which and why."""


def worker_hostname() -> str:
    """``[core] hostname_callable`` of the demo's workers: the worker's name. Both run on
    this machine, so its name would not tell their task instances apart (in docker-compose
    each worker container has a hostname of its own)."""
    return os.environ["CADENCE_WORKER_NAME"]


# -- what the task instances prove ---------------------------------------------------------

@dataclass(frozen=True)
class Instance:
    """One task instance as the metadata DB records it."""

    task_id: str
    map_index: int
    hostname: str | None
    start: datetime | None
    end: datetime | None
    state: str | None


def side_by_side(instances: Iterable[Instance], task_id: str = "plan_calendar") -> dict:
    """Whether ``task_id``'s mapped instances ran on several workers at once: instances per
    host, every pair on different hosts whose [start, end) intervals overlap, the longest
    such overlap and the most instances running at one moment."""
    runs = sorted((i for i in instances if i.task_id == task_id and i.start and i.end),
                  key=lambda i: (i.start, i.map_index))
    pairs = []
    for a, b in combinations(runs, 2):
        overlap = (min(a.end, b.end) - max(a.start, b.start)).total_seconds()
        if a.hostname != b.hostname and overlap > 0:
            pairs.append({"map_indexes": [a.map_index, b.map_index],
                          "hosts": [a.hostname, b.hostname], "overlap_s": round(overlap, 2)})
    events = sorted([(i.start, 1) for i in runs] + [(i.end, -1) for i in runs])
    running = most = 0
    for _, step in events:  # an end sorts before a start at the same instant
        running += step
        most = max(most, running)
    return {
        "instances": len(runs),
        "per_host": dict(sorted(Counter(i.hostname for i in runs).items())),
        "overlapping_pairs_on_different_hosts": len(pairs),
        "longest_overlap_s": max((p["overlap_s"] for p in pairs), default=0.0),
        "most_at_once": most,
        "pairs": pairs[:10],
        "timeline": [{"map_index": i.map_index, "host": i.hostname,
                      "start": i.start.isoformat(), "end": i.end.isoformat()} for i in runs],
    }


# -- processes -------------------------------------------------------------------------------

def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Service:
    name: str
    process: subprocess.Popen
    log: Path
    handle: IO[bytes]

    def tail(self, chars: int = 3000) -> str:
        self.handle.flush()
        return self.log.read_text(errors="replace")[-chars:]


class Services:
    """The processes the demo started, each in a session of its own; :meth:`stop_all`
    ends each one's whole process tree (TERM, then KILL after a grace period)."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.started: list[Service] = []

    def start(self, name: str, args: list[str], env: Mapping[str, str]) -> Service:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        handle = log.open("wb")
        process = subprocess.Popen(args, env=dict(env), stdout=handle, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        service = Service(name, process, log, handle)
        self.started.append(service)
        return service

    def check_running(self) -> None:
        """Raise naming the first service that exited, with its log's tail."""
        for service in self.started:
            code = service.process.poll()
            if code is not None:
                raise ScaleDemoFailed(f"{service.name} exited with {code}:\n{service.tail()}")

    def stop_all(self, grace: float = 20.0) -> None:
        import psutil  # an Airflow dependency

        for service in reversed(self.started):
            try:
                root = psutil.Process(service.process.pid)
                tree = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                tree = []
            for process in tree:
                try:
                    process.send_signal(signal.SIGTERM)
                except psutil.NoSuchProcess:
                    continue
            _, alive = psutil.wait_procs(tree, timeout=grace)
            for process in alive:
                try:
                    process.kill()
                except psutil.NoSuchProcess:
                    continue
            psutil.wait_procs(alive, timeout=5)
            service.process.poll()
            service.handle.close()


def wait_for(what: str, ready: Callable[[], Any], services: Services,
             timeout: float, every: float = 1.0) -> Any:
    """Poll ``ready`` until it returns something truthy; fail when a service dies or after
    ``timeout`` seconds, naming ``what``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        services.check_running()
        try:
            result = ready()
        except Exception as exc:  # noqa: BLE001 - not up yet; the last error is reported
            last_error, result = exc, None
        if result:
            return result
        time.sleep(every)
    raise ScaleDemoFailed(f"timed out after {timeout:.0f} s waiting for {what}"
                          + (f" (last error: {type(last_error).__name__}: {last_error})"
                             if last_error else ""))


def _airflow() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def _run_cli(args: list[str], env: Mapping[str, str]) -> str:
    result = subprocess.run([_airflow(), *args], env=dict(env), capture_output=True,
                            text=True, check=False)
    if result.returncode:
        raise ScaleDemoFailed(f"airflow {' '.join(args)} failed ({result.returncode}):\n"
                              f"{(result.stdout + result.stderr)[-3000:]}")
    return result.stdout


# -- the PostgreSQL database ---------------------------------------------------------------

def _engine(url: str):
    import sqlalchemy as sa

    return sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


def create_database(admin_url: str) -> str:
    """A new, empty database on the server of ``admin_url``; its URL."""
    import sqlalchemy as sa

    name = f"cadence_scale_{uuid.uuid4().hex[:10]}"
    engine = _engine(admin_url)
    with engine.connect() as conn:
        conn.execute(sa.text(f"create database {name}"))
    engine.dispose()
    return sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, url: str) -> None:
    """Drop the database of ``url`` (its sessions ended first)."""
    import sqlalchemy as sa

    name = sa.make_url(url).database
    engine = _engine(admin_url)
    with engine.connect() as conn:
        conn.execute(sa.text(f"drop database if exists {name} with (force)"))
    engine.dispose()


def _metadata_rows(url: str, sql: str, **params: Any) -> list[tuple]:
    import sqlalchemy as sa

    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql), params)]
    finally:
        engine.dispose()


def read_instances(metadata_url: str, run_id: str) -> list[Instance]:
    """The run's task instances with the host each ran on."""
    rows = _metadata_rows(
        metadata_url,
        "select task_id, map_index, hostname, start_date, end_date, state from task_instance"
        " where dag_id = :dag and run_id = :run order by start_date",
        dag=DAG_ID, run=run_id)
    return [Instance(*row) for row in rows]


# -- the two runs ----------------------------------------------------------------------------

def celery_env(home: Path, metadata_url: str, broker_url: str, api_port: int,
               sources: Path, out_dir: Path) -> dict[str, str]:
    """The environment every component of the Celery deployment shares."""
    sync_url = metadata_url  # postgresql+psycopg2://...
    return airflow_env(home, {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sync_url,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_SIZE": "3",
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{sync_url}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(48),
        "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        # Only the triggered run: an unpaused nightly would also get today's scheduled run.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "CADENCE_WAREHOUSE_URL": metadata_url,
        "CADENCE_WAREHOUSE_SCHEMA": WAREHOUSE_SCHEMA,
        "CADENCE_SOURCE_DIR": str(sources),
        "CADENCE_OUT_DIR": str(out_dir),
    })


def _http_ok(url: str) -> bool:
    import requests

    return requests.get(url, timeout=5).status_code == 200


def _workers_answering(broker_url: str) -> set[str]:
    from celery import Celery

    app = Celery(broker=broker_url)
    try:
        replies = app.control.ping(timeout=2.0) or []
    finally:
        app.close()
    return {name.split("@", 1)[-1] for reply in replies for name in reply}


def trigger_run(api_url: str, home: Path, run_id: str) -> None:
    """Unpause the nightly and trigger it for ``AS_OF`` through the REST API, as the UI does.
    (``airflow dags trigger --logical-date`` would give the run a data interval ending now,
    and cadence plans for the start of its data interval.)"""
    import requests

    passwords = home / "simple_auth_manager_passwords.json.generated"
    login = requests.post(f"{api_url}/auth/token", timeout=30, json={
        "username": "admin", "password": json.loads(passwords.read_text())["admin"]})
    login.raise_for_status()
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    dag_url = f"{api_url}/api/v2/dags/{DAG_ID}"
    for response in (
        requests.patch(dag_url, json={"is_paused": False}, headers=headers, timeout=30),
        requests.post(f"{dag_url}/dagRuns", headers=headers, timeout=30, json={
            "dag_run_id": run_id, "logical_date": f"{AS_OF.isoformat()}T00:00:00Z"}),
    ):
        if response.status_code >= 300:
            raise ScaleDemoFailed(f"{response.request.method} {response.url} answered "
                                  f"{response.status_code}: {response.text[:500]}")


def _progress(message: str) -> None:
    print(f"[scale-demo] {message}", file=sys.stderr, flush=True)


def _failed_task_logs(home: Path, instances: list[Instance]) -> str:
    failed = {i.task_id for i in instances if i.state in ("failed", "upstream_failed")}
    tails = []
    for task_id in sorted(failed):
        for log in sorted((home / "logs").rglob(f"task_id={task_id}/**/*.log")):
            tails.append(f"--- {log.relative_to(home)}\n{log.read_text(errors='replace')[-2500:]}")
    return "\n".join(tails)


def run_on_celery(root: Path, metadata_url: str, sources: Path,
                  timeout: float = 1200.0) -> dict:
    """Start the Celery deployment, run one nightly, stop everything; its figures."""
    home, out_dir = root / "celery-airflow", root / "celery-out"
    redis_port, api_port = free_port(), free_port()
    broker = f"redis://127.0.0.1:{redis_port}/0"
    env = celery_env(home, metadata_url, broker, api_port, sources, out_dir)
    services = Services(root / "logs")
    started = time.perf_counter()
    try:
        _progress(f"airflow db migrate on {metadata_url.rsplit('/', 1)[-1]}")
        home.mkdir(parents=True)
        _run_cli(["db", "migrate"], env)
        _run_cli(["pools", "set", "cadence_warehouse", str(POOL_SLOTS),
                  "cadence warehouse writers (Postgres allows several)"], env)
        _progress(f"redis-server on {redis_port}, api-server on {api_port}, scheduler, "
                  f"dag-processor, celery workers {', '.join(WORKERS)}")
        services.start("redis", ["redis-server", "--port", str(redis_port), "--bind",
                                 "127.0.0.1", "--save", "", "--appendonly", "no",
                                 "--dir", str(root)], env)
        services.start("api-server", [_airflow(), "api-server", "--host", "127.0.0.1",
                                      "--port", str(api_port), "--workers", "1"], env)
        services.start("scheduler", [_airflow(), "scheduler"], env)
        services.start("dag-processor", [_airflow(), "dag-processor"], env)
        for name in WORKERS:
            worker_env = {**env, "CADENCE_WORKER_NAME": name,
                          "AIRFLOW__CORE__HOSTNAME_CALLABLE":
                              "cadence.devtools.scale_demo.worker_hostname"}
            services.start(name, [_airflow(), "celery", "worker", "--celery-hostname", name,
                                  "--concurrency", "1", "--skip-serve-logs"], worker_env)
        wait_for("the api-server", lambda: _http_ok(
            f"http://127.0.0.1:{api_port}/api/v2/monitor/health"), services, 180)
        wait_for(f"both workers ({', '.join(WORKERS)})",
                 lambda: _workers_answering(broker) >= set(WORKERS), services, 180, every=2)
        wait_for(f"{DAG_ID} parsed by the dag-processor", lambda: _metadata_rows(
            metadata_url, "select 1 from serialized_dag where dag_id = :dag", dag=DAG_ID),
            services, 300, every=2)
        ready_s = time.perf_counter() - started

        run_id = f"scale_demo__{AS_OF.isoformat()}"
        trigger_run(f"http://127.0.0.1:{api_port}", home, run_id)
        _progress(f"triggered {DAG_ID} {run_id}; waiting for it (logs: {home / 'logs'})")
        run_started = time.perf_counter()

        def finished() -> str | None:
            rows = _metadata_rows(metadata_url, "select state from dag_run where dag_id = :dag"
                                  " and run_id = :run", dag=DAG_ID, run=run_id)
            state = rows[0][0] if rows else None
            return state if state in ("success", "failed") else None

        state = wait_for(f"{DAG_ID} to finish", finished, services, timeout, every=3)
        run_s = time.perf_counter() - run_started
        instances = read_instances(metadata_url, run_id)
        if state != "success":
            raise ScaleDemoFailed(f"{DAG_ID} {run_id} ended {state}; failed tasks: "
                                  f"{sorted(i.task_id for i in instances if i.state == 'failed')}"
                                  f"\n{_failed_task_logs(home, instances)}")
    except ScaleDemoFailed:
        raise
    except Exception as exc:
        raise ScaleDemoFailed(f"{type(exc).__name__}: {exc}") from exc
    finally:
        services.stop_all()
    hosts = Counter(i.hostname for i in instances)
    return {"state": state, "run_id": run_id, "startup_s": round(ready_s, 1),
            "run_s": round(run_s, 1), "task_instances": len(instances),
            "task_instances_per_host": dict(sorted(hosts.items(), key=str)),
            "plan_calendar": side_by_side(instances)}


def run_on_duckdb(root: Path, sources: Path) -> str:
    """The same nightly with ``airflow dags test`` on a DuckDB warehouse; its URL."""
    home = root / "duck-airflow"
    prepare_metadata(home)
    url = f"duckdb:///{root / 'warehouse.duckdb'}"
    _progress(f"airflow dags test {DAG_ID} {AS_OF} on DuckDB")
    dags_test(DAG_ID, AS_OF, home, env={"CADENCE_WAREHOUSE_URL": url,
                                         "CADENCE_SOURCE_DIR": str(sources),
                                         "CADENCE_OUT_DIR": str(root / "duck-out")},
              log_path=root / "logs" / "duckdb-nightly.log")
    return url


def compare_runs(postgres_url: str, duckdb_url: str) -> dict:
    """Every table either run wrote, compared row by row (run stamps left out)."""
    from cadence.contract.data_dictionary import warehouse_columns
    from cadence.contract.warehouse import Warehouse
    from cadence.devtools.warehouse_compare import (
        RUN_STAMPS,
        WALL_CLOCK_STAMPS,
        table_differences,
    )

    postgres = Warehouse(postgres_url, schema=WAREHOUSE_SCHEMA)
    duck = Warehouse(duckdb_url)
    try:
        tables = sorted(set(warehouse_columns(postgres)) | set(warehouse_columns(duck)))
        written = [t for t in tables if postgres.count(t) or duck.count(t)]
        ignored = RUN_STAMPS | WALL_CLOCK_STAMPS
        differences = {t: d for t in written
                       if (d := table_differences(postgres, duck, t, ignored))}
        rows = {t: postgres.count(t) for t in written}
    finally:
        postgres.engine.dispose()
        duck.engine.dispose()
    return {"tables_compared": len(written), "rows_compared": sum(rows.values()),
            "columns_ignored": sorted(ignored),
            "equal": not differences, "differences": differences, "rows": rows}


def scale_demo(accounts: int = DEFAULT_ACCOUNTS, admin_url: str = ADMIN_URL,
               workdir: Path | None = None) -> dict:
    """The whole demo (module docstring); its figures and proofs as a dict."""
    from cadence.devtools.sample import write_sample

    if shutil.which("redis-server") is None:
        raise ScaleDemoFailed("redis-server not found: install Debian's redis-server package")
    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="cadence-scale-demo-", dir=workdir))
    metadata_url = None
    try:
        sources = root / "sources"
        write_sample(sources, accounts=accounts, seed=SEED, as_of=AS_OF)
        metadata_url = create_database(admin_url)
        celery = run_on_celery(root, metadata_url, sources)
        duck_url = run_on_duckdb(root, sources)
        comparison = compare_runs(metadata_url, duck_url)
    finally:
        if metadata_url:
            drop_database(admin_url, metadata_url)
        shutil.rmtree(root, ignore_errors=True)
    proof = celery["plan_calendar"]
    return {
        "accounts": accounts, "as_of": AS_OF.isoformat(), "workers": list(WORKERS),
        "pool_slots": POOL_SLOTS, "celery": celery, "comparison": comparison,
        "shards_on_both_workers_at_once": (
            set(proof["per_host"]) >= set(WORKERS)
            and proof["overlapping_pairs_on_different_hosts"] > 0),
        "total_s": round(time.perf_counter() - started, 1),
    }


def run_scale_demo(accounts: int | None = None) -> int:
    """``python -m cadence scale-demo``: print the figures as JSON; 0 when the shards ran
    on both workers at once and every table equals DuckDB's."""
    try:
        result = scale_demo(accounts or DEFAULT_ACCOUNTS)
    except ScaleDemoFailed as exc:
        print(f"scale-demo failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, default=str))
    ok = result["shards_on_both_workers_at_once"] and result["comparison"]["equal"]
    return 0 if ok else 1
