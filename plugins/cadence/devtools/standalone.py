"""``make airflow``: the Airflow UI on this project in one command — ``airflow standalone``
on 127.0.0.1:8080 with the project's dags and plugins (the calendar view under "Calendar"),
the warehouse pool, the embedded warehouse of ``make demo``, and the admin password printed.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from pathlib import Path

import requests

from cadence.contract.settings import PROJECT_ROOT, load_settings
from cadence.devtools.airflow_cli import _airflow, airflow_env, prepare_metadata

HOST, PORT = "127.0.0.1", 8080


def _jwt_secret(airflow_home: Path) -> str:
    """One signing secret shared by the API server, scheduler and task runners (each would
    otherwise make up its own and reject the others' tokens); kept across restarts so a
    browser session survives one."""
    path = airflow_home / "jwt_secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


def standalone_env(airflow_home: Path) -> dict[str, str]:
    env = airflow_env(airflow_home)
    bin_dir = str(Path(_airflow()).parent)  # standalone starts its parts as `airflow ...`
    return airflow_env(airflow_home, {
        "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        "AIRFLOW__API__HOST": HOST,
        "AIRFLOW__API__PORT": str(PORT),
        "AIRFLOW__API__BASE_URL": f"http://{HOST}:{PORT}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{HOST}:{PORT}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": _jwt_secret(airflow_home),
        "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False",
        "CADENCE_TASK_RETRIES": "2",
    })


def run_standalone(airflow_home: Path, timeout_s: float = 300) -> int:
    """Start ``airflow standalone``, wait until the API server answers, print where to go and
    the admin password, then keep running until Ctrl-C (its output in ``standalone.log``)."""
    settings = load_settings()
    if settings.warehouse_url.startswith("duckdb") and not Path(
            settings.warehouse_url.split(":///", 1)[1]).exists():
        print("No warehouse yet: run `make demo` first (it plans a day of sample data).")
        return 1
    print(f"1/3 metadata and pool in {airflow_home}")
    prepare_metadata(airflow_home)
    log_path = airflow_home / "standalone.log"
    print(f"2/3 airflow standalone on http://{HOST}:{PORT} (output in {log_path})")
    with log_path.open("w") as log:
        process = subprocess.Popen([_airflow(), "standalone"], env=standalone_env(airflow_home),
                                   stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)
        try:
            if not _wait_until_up(process, timeout_s):
                print(f"Airflow did not come up in {timeout_s:.0f} s; see {log_path}")
                process.terminate()
                return 1
            _print_ready(airflow_home)
            return process.wait()
        except KeyboardInterrupt:
            process.terminate()
            process.wait(timeout=60)
            return 0


def _wait_until_up(process: subprocess.Popen, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if requests.get(f"http://{HOST}:{PORT}/api/v2/monitor/health", timeout=2).ok:
                return True
        except requests.RequestException:
            pass
        time.sleep(2)
    return False


def _print_ready(airflow_home: Path) -> None:
    passwords = airflow_home / "simple_auth_manager_passwords.json.generated"
    password = json.loads(passwords.read_text()).get("admin") if passwords.exists() else None
    print("3/3 ready")
    print(f"  Airflow UI     http://{HOST}:{PORT}   user admin   password {password}")
    print(f"  Calendar view  http://{HOST}:{PORT}/plugin/cadence-calendar (menu Browse > Calendar)")
    print("  DAGs start paused: unpause them in the UI. Stop with Ctrl-C.")
