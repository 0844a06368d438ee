"""The data dictionary (dbt-format schema.yml files) documents every column the code writes,
and docs/tables.md is generated from it."""

import re
from pathlib import Path

import pytest

from cadence.contract.data_dictionary import (
    DictionaryError,
    check_warehouse,
    load_dictionary,
    render_markdown,
    run_data_tests,
)

ROOT = Path(__file__).resolve().parents[2]
SQL_DIR = ROOT / "include" / "sql"


@pytest.fixture(scope="module")
def documented():
    return load_dictionary(SQL_DIR)


def test_every_python_written_table_states_its_grain_and_writer(documented):
    for doc in documented.values():
        if doc.file.name == "outputs.yml":
            assert doc.meta.get("grain") and doc.meta.get("written_by"), doc.name
            assert doc.columns, doc.name


def test_docs_tables_md_is_generated_from_the_dictionary(documented):
    assert (ROOT / "docs" / "tables.md").read_text() == render_markdown(documented), (
        "docs/tables.md is stale: run `python -m cadence docs`")


def test_an_undocumented_table_or_column_is_reported_with_what_to_add(warehouse, documented):
    warehouse.execute("create table audit_notes (hashed_email text, erased_at timestamp)")
    warehouse.execute("drop table csm_tasks;"
                      "create table csm_tasks (task_id text, plan_date date, owner_note text)")
    problems = "\n".join(check_warehouse(warehouse, documented))
    assert "table audit_notes is not documented: add it to include/sql/outputs.yml" in problems
    assert "- {name: hashed_email, data_type: <type>, description: <meaning>}" in problems
    assert ("column csm_tasks.owner_note is not documented: add `- {name: owner_note, "
            "data_type: <type>, description: <meaning>}` under model csm_tasks in "
            "include/sql/outputs.yml") in problems
    assert "model csm_tasks documents columns the table does not have" in problems


def test_data_tests_find_nulls_and_values_outside_the_accepted_set(warehouse, documented):
    warehouse.execute("drop table account_health;"
                      "create table account_health as select 'a1' as account_id, "
                      "date '2026-11-23' as as_of_date, 50.0 as score, 'purple' as band")
    warehouse.execute("insert into account_health values (null, date '2026-11-23', 1.0, 'red')")
    failures = "\n".join(run_data_tests(warehouse, documented))
    assert "account_health.account_id: not_null fails for 1 rows" in failures
    assert "account_health.band: accepted_values fails for 1 rows" in failures


def test_a_column_without_a_description_is_refused(tmp_path):
    for layer in ("staging", "intermediate", "marts"):
        (tmp_path / "sql" / layer).mkdir(parents=True)
        (tmp_path / "sql" / layer / "schema.yml").write_text("models: []\n")
    (tmp_path / "sql" / "outputs.yml").write_text(
        "models:\n  - name: t\n    description: one row per t\n    columns:\n      - name: c\n")
    with pytest.raises(DictionaryError, match=r"outputs.yml: model t, column 'c' has no desc"):
        load_dictionary(tmp_path / "sql")


def test_docs_rules_md_is_generated_from_the_rule_modules_and_policy(policy):
    from cadence.outputs.docs_pages import render_rules

    assert (ROOT / "docs" / "rules.md").read_text() == render_rules(policy), (
        "docs/rules.md is stale: run `python -m cadence docs`")


def test_every_rule_code_the_code_writes_has_a_section_in_rules_md():
    from cadence.outputs.docs_pages import RULES

    written = set()
    for path in (ROOT / "plugins" / "cadence").rglob("*.py"):
        written |= set(re.findall(r"[\"'](\d{1,2}\.[a-z_]+)[\"']", path.read_text()))
    assert written - set(RULES) == set()
