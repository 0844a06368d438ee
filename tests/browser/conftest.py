"""Browser tests: a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright,
never `playwright install`) against the calendar view served by uvicorn on 127.0.0.1 with
Airflow's own auth manager and login route, on a warehouse planned by the real nightly
functions from sample data."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
AS_OF = date(2026, 11, 23)


def plan_sample(root: Path, accounts: int = 25, seed: int = 5):
    """Sample sources planned by the nightly task functions in order (no scheduler): the
    warehouse the view and the report read. Returns the run's settings."""
    from cadence.contract.schema import create_warehouse_tables
    from cadence.contract.settings import load_settings
    from cadence.devtools.sample import write_sample
    from cadence.orchestration import nightly
    from cadence.orchestration.runs import Run

    settings = load_settings({"CADENCE_WAREHOUSE_URL": f"duckdb:///{root / 'warehouse.duckdb'}",
                              "CADENCE_SOURCE_DIR": str(root / "sources"),
                              "CADENCE_OUT_DIR": str(root / "out")})
    write_sample(settings.source_dir, accounts=accounts, seed=seed, as_of=AS_OF)
    start = datetime.combine(AS_OF, datetime.min.time(), tzinfo=UTC)
    run = Run(run_id="browser-test", run_type="manual", data_interval_start=start,
              data_interval_end=start, started_at=start,
              clock=lambda: start + timedelta(days=7),  # a week on: not live
              settings=settings)
    create_warehouse_tables(run.warehouse)
    for step in (nightly.extract_sources, nightly.validate_sources, nightly.build_staging,
                 nightly.score_account_health, nightly.assign_segments,
                 nightly.generate_candidates):
        step(run)
    for shard in nightly.list_plan_shards(run):
        nightly.plan_calendar(run, shard)
    nightly.level_csm_capacity(run)
    run.warehouse.engine.dispose()
    return settings


@pytest.fixture(scope="session")
def planned(tmp_path_factory):
    return plan_sample(tmp_path_factory.mktemp("planned"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def view_server(planned):
    """Airflow's auth manager (its /auth login routes) and the calendar view app on one
    uvicorn server, as the API server mounts them; yields the base URL."""
    import uvicorn
    from airflow.api_fastapi.app import init_auth_manager
    from fastapi import FastAPI

    from cadence.contract.warehouse import Warehouse
    from cadence.devtools.airflow_cli import prepare_metadata
    from cadence.orchestration.calendar_view import create_app

    prepare_metadata(Path(os.environ["AIRFLOW_HOME"]))  # revoked-token table, like Airflow's
    root = FastAPI()
    init_auth_manager(root)
    root.mount("/cadence", create_app(
        open_warehouse=lambda: Warehouse(planned.warehouse_url)))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(root, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def admin_token(view_server) -> str:
    """A JWT obtained the way Airflow's login page does: POST /auth/token with the simple
    auth manager's admin password (generated into AIRFLOW_HOME on init)."""
    import json

    import requests
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    passwords = json.loads(Path(SimpleAuthManager.get_generated_password_file()).read_text())
    response = requests.post(f"{view_server}/auth/token",
                             json={"username": "admin", "password": passwords["admin"]},
                             timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["access_token"]


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        reason = f"{CHROMIUM} missing: apt-get install -y chromium"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()
