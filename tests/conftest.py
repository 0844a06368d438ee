"""Shared fixtures. Airflow's home and DAG folder are set before anything imports Airflow."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Each test process its own metadata DB: `make test` exports the demo's .airflow, which two
# xdist workers migrating at once broke (UNIQUE constraint failed: alembic_version).
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="cadence-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")

POSTGRES_URL = os.environ.get(
    "CADENCE_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def policy():
    """The shipped policy file, validated."""
    from cadence.policy import load_policy

    return load_policy(ROOT / "include" / "config" / "policy.yml")


@pytest.fixture
def duckdb_url(tmp_path) -> str:
    """URL of an empty DuckDB warehouse file for one test."""
    return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"


@pytest.fixture
def bare_warehouse(duckdb_url):
    """An embedded (DuckDB) warehouse without a single table."""
    from cadence.contract.warehouse import Warehouse

    wh = Warehouse(duckdb_url)
    yield wh
    wh.engine.dispose()


@pytest.fixture
def warehouse(bare_warehouse):
    """An embedded (DuckDB) warehouse as every DAG run finds it after its first task: every
    declared table there, empty."""
    from cadence.contract.schema import create_warehouse_tables

    create_warehouse_tables(bare_warehouse)
    return bare_warehouse


def postgres_available() -> str | None:
    """None when the test Postgres answers, else the reason it does not."""
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {type(exc).__name__}"


@pytest.fixture
def pg_schema():
    """A fresh PostgreSQL schema name, dropped afterwards. Skips locally, fails in CI."""
    import sqlalchemy as sa

    reason = postgres_available()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    schema = f"cadence_t_{uuid.uuid4().hex[:10]}"
    yield schema
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f"drop schema if exists {schema} cascade"))
    engine.dispose()


@pytest.fixture
def pg_warehouse(pg_schema):
    """A PostgreSQL warehouse in its own schema after the schema step: every declared table
    there, empty."""
    from cadence.contract.schema import create_warehouse_tables
    from cadence.contract.warehouse import Warehouse

    wh = Warehouse(POSTGRES_URL, schema=pg_schema)
    create_warehouse_tables(wh)
    yield wh
    wh.engine.dispose()


@pytest.fixture(params=["duckdb", "postgres"])
def any_warehouse(request, tmp_path):
    """The same test on the embedded DuckDB warehouse and on PostgreSQL."""
    if request.param == "duckdb":
        yield request.getfixturevalue("warehouse")
    else:
        yield request.getfixturevalue("pg_warehouse")
