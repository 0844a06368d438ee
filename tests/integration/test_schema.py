"""The schema step (DESIGN §9, house issue): every warehouse table is declared once in the
data dictionary and created by ``create_warehouse_tables``, the first task of every DAG."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from cadence.contract.data_dictionary import DocumentedColumn, DocumentedTable, warehouse_columns
from cadence.contract.schema import (
    SchemaError,
    _column_types,
    create_warehouse_tables,
    declared_tables,
)
from cadence.contract.tables import COMMUNICATION_CALENDAR


def test_every_declared_table_is_created_with_its_documented_columns(any_warehouse):
    # The fixture ran the schema step; the warehouse holds each table exactly as declared.
    found = warehouse_columns(any_warehouse)
    for table, columns in declared_tables().items():
        assert found.get(table) == list(columns), table
    assert "segment_membership" in found and "quarantine" in found


def test_the_schema_step_is_idempotent_and_adds_columns_declared_since(bare_warehouse):
    # A calendar table from an older version, without the columns declared since.
    bare_warehouse.execute("create table communication_calendar (touch_id text, plan_date date)")
    first = create_warehouse_tables(bare_warehouse)
    assert "communication_calendar" not in first["created"]
    assert "communication_calendar.experiment_arm" in first["columns_added"]
    assert set(COMMUNICATION_CALENDAR) <= set(
        warehouse_columns(bare_warehouse)["communication_calendar"])
    again = create_warehouse_tables(bare_warehouse)
    assert again == {"created": [], "columns_added": []}


def test_a_declared_not_null_constraint_is_enforced(warehouse):
    # quarantine declares dbt's constraints: [{type: not_null}] on its rule column.
    with pytest.raises(sa.exc.DBAPIError):
        warehouse.execute("insert into quarantine (entity, row, rule, run_id, as_of_date) "
                          "values ('contacts', '{}', null, 'r', date '2026-12-01')")


def test_a_table_with_an_untyped_column_cannot_be_declared():
    table = DocumentedTable(name="notes", description="one row per note", file="outputs.yml",
                            columns=(DocumentedColumn("note_id", "id", "text"),
                                     DocumentedColumn("body", "text of the note")))
    with pytest.raises(SchemaError, match=r"notes: columns \['body'\] need a data_type"):
        _column_types(table)
