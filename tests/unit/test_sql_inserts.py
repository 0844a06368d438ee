"""SQL files that write whole rows name every declared column: a row replaced by delete and
insert (``csm_tasks/apply_meeting_times.sql``) keeps every column, also one declared later."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from cadence.contract.schema import declared_tables
from cadence.contract.settings import SQL_DIR
from cadence.contract.warehouse import split_statements

INSERTS = [(path, statement) for path in sorted(SQL_DIR.rglob("*.sql"))
           for statement in split_statements(path.read_text())
           if "insert into" in statement.lower()]


def test_the_sql_files_hold_inserts():
    names = {path.relative_to(SQL_DIR).as_posix() for path, _ in INSERTS}
    assert "csm_tasks/apply_meeting_times.sql" in names


@pytest.mark.parametrize(("path", "statement"), INSERTS,
                         ids=[f"{p.relative_to(SQL_DIR)}#{i}" for i, (p, _) in enumerate(INSERTS)])
def test_an_insert_names_every_declared_column_of_its_table(path, statement):
    insert = sqlglot.parse_one(statement, read="postgres")
    assert isinstance(insert, exp.Insert)
    schema = insert.this
    table = schema.this.name
    columns = [c.name for c in schema.expressions]
    declared = list(declared_tables()[table])
    assert columns == declared, f"{path.name}: insert into {table} names {columns}"
    select = insert.expression
    if isinstance(select, exp.Select):  # as many values as columns
        assert len(select.expressions) == len(columns)
