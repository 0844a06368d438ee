"""Every column the code writes to an analyst table is documented in include/sql/outputs.yml."""

from pathlib import Path

import pytest
import yaml

from cadence.touches import PLANNING_TABLES

DOCS = Path(__file__).resolve().parents[2] / "include" / "sql" / "outputs.yml"


@pytest.fixture(scope="module")
def documented() -> dict[str, dict]:
    tables = yaml.safe_load(DOCS.read_text())["tables"]
    return {t["name"]: t for t in tables}


def test_every_documented_table_states_its_grain_and_writer(documented):
    for name, table in documented.items():
        assert table["grain"] and table["written_by"] and table["columns"], name


@pytest.mark.parametrize("table", sorted(PLANNING_TABLES))
def test_planning_tables_match_their_column_contract(documented, table):
    assert list(documented[table]["columns"]) == list(PLANNING_TABLES[table])


def test_handoff_and_quality_tables_match_their_ddl(documented):
    import re

    sql_dir = DOCS.parent
    ddl = (sql_dir / "handoff" / "create_handoff_tables.sql").read_text()
    ddl += (sql_dir / "quality" / "quality_tables.sql").read_text()
    for name in ("handoff_batches", "deliveries", "consent_suppressions", "engagement_events",
                 "engagement_metrics", "engagement_flags", "quarantine", "validation_results"):
        body = re.search(rf"create table if not exists {name} \((.*?)\n\)", ddl, re.S).group(1)
        body = re.sub(r"--[^\n]*", "", body)
        columns = [part.split()[0] for part in body.replace("\n", " ").split(",") if part.strip()]
        assert list(documented[name]["columns"]) == columns, name


def test_consent_holds_and_erasure_log_match_their_code(documented):
    from cadence.erasure import LOG_COLUMNS
    from cadence.handoff.consent_holds import HOLD_COLUMNS

    assert list(documented["consent_holds"]["columns"]) == list(HOLD_COLUMNS)
    assert list(documented["erasure_log"]["columns"]) == list(LOG_COLUMNS)
