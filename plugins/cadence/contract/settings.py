"""Operator settings (DESIGN §12): each has a working default; the environment wins."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[3]
INCLUDE_DIR = PROJECT_ROOT / "include"
SQL_DIR = INCLUDE_DIR / "sql"
CONFIG_DIR = INCLUDE_DIR / "config"
# The embedded warehouse's buffer cache: DuckDB's own default is 80% of the machine, and a
# nightly's tasks share one process (``dags test``) or one worker with pandas frames.
DUCKDB_MEMORY_LIMIT = "4GB"
_SIZE = re.compile(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


@dataclass(frozen=True)
class Settings:
    """Where the warehouse, the sources, the outputs and the policy live."""

    warehouse_url: str
    warehouse_schema: str  # PostgreSQL schema of the warehouse tables
    source_dir: Path
    out_dir: Path
    policy_path: Path
    duckdb_memory_limit: str = DUCKDB_MEMORY_LIMIT  # DuckDB's buffer cache, e.g. 4GB


def _path(value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else PROJECT_ROOT / path


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read settings from the environment (``CADENCE_*``), falling back to the defaults."""
    env = os.environ if environ is None else environ
    default_db = PROJECT_ROOT / "data" / "warehouse.duckdb"
    return Settings(
        warehouse_url=env.get("CADENCE_WAREHOUSE_URL") or f"duckdb:///{default_db}",
        warehouse_schema=env.get("CADENCE_WAREHOUSE_SCHEMA") or "cadence",
        source_dir=_path(env.get("CADENCE_SOURCE_DIR") or "data/sources"),
        out_dir=_path(env.get("CADENCE_OUT_DIR") or "data/out"),
        policy_path=_path(env.get("CADENCE_POLICY") or "include/config/policy.yml"),
        duckdb_memory_limit=_size("CADENCE_DUCKDB_MEMORY_LIMIT",
                                  env.get("CADENCE_DUCKDB_MEMORY_LIMIT") or DUCKDB_MEMORY_LIMIT),
    )


def _size(name: str, value: str) -> str:
    # A memory size goes into a SET statement: only a number and a unit are let through.
    if not _SIZE.fullmatch(value.strip()):
        raise ValueError(f"{name}={value!r} is not a memory size such as 2GB or 512MB")
    return value.strip()
