"""The schema step: every warehouse table is declared once, in the data dictionary
(``include/sql/outputs.yml`` for tables Python tasks write, ``<layer>/schema.yml`` for the
SQL models), and created by :func:`create_warehouse_tables`, the first task of every DAG.

Steps never create tables: each reads and writes tables that exist from the start, empty
until something fills them. A table made by an older version gains the columns declared
since (e.g. a touch's experiment ``arm``); nothing is dropped or retyped here.
"""

from __future__ import annotations

import functools
import logging

from cadence.contract.data_dictionary import DocumentedTable, load_dictionary
from cadence.contract.warehouse import Warehouse

log = logging.getLogger(__name__)

# dbt's type names -> the portable spelling both DuckDB and PostgreSQL accept
_PORTABLE_TYPES = {"double": "double precision", "timestamptz": "timestamp with time zone"}


class SchemaError(ValueError):
    """A declared table that cannot be created: a column without a data_type."""


def _column_types(table: DocumentedTable) -> dict[str, str]:
    untyped = [c.name for c in table.columns if not c.data_type]
    if untyped:
        raise SchemaError(f"{table.file}: model {table.name}: columns {untyped} need a "
                          "data_type to be created")
    return {c.name: _PORTABLE_TYPES.get(c.data_type, c.data_type)
            + (" not null" if c.not_null else "") for c in table.columns}


@functools.cache
def declared_tables() -> dict[str, dict[str, str]]:
    """Every table the warehouse holds (views excluded: they are SQL, rebuilt by the model
    runner) -> column -> portable SQL type, in documented column order."""
    return {name: _column_types(table) for name, table in load_dictionary().items()
            if table.materialized != "view"}


def table_columns(table: str) -> list[str]:
    """The declared columns of ``table``, in order."""
    return list(declared_tables()[table])


def create_warehouse_tables(warehouse: Warehouse) -> dict[str, list[str]]:
    """Create every declared table that is missing and add declared columns an existing
    one lacks; ``{"created": [...], "columns_added": ["table.column", ...]}``."""
    created, added = [], []
    for table, columns in declared_tables().items():
        if warehouse.create_table(table, columns):
            created.append(table)
        else:
            added += [f"{table}.{c}" for c in warehouse.add_missing_columns(table, columns)]
    log.info("warehouse schema: %d tables created, %d columns added", len(created),
             len(added))
    return {"created": created, "columns_added": added}
