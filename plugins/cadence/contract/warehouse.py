"""The warehouse: one SQLAlchemy engine over DuckDB (embedded default) or PostgreSQL.

Every write goes through :meth:`Warehouse.write_frame`, which replaces a partition (or the
whole table) inside one transaction, so a rerun for the same logical date never
duplicates rows. SQL files from ``include/sql`` are rendered with Jinja (``dialect`` is the
only variable that may change the text) and values are always bound as parameters.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import sqlalchemy as sa

from cadence.contract.settings import SQL_DIR, Settings, load_settings

POSTGRES_SCHEMA = "cadence"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
# Shared query fragments (one usage window for several queries) are included by path.
_SQL_TEMPLATES = jinja2.Environment(loader=jinja2.FileSystemLoader(SQL_DIR),
                                    undefined=jinja2.StrictUndefined)


def _check_identifier(name: str) -> str:
    # Table and column names come from our own code and SQL files, never from users; the
    # check keeps it that way since identifiers cannot be bound as parameters.
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a valid warehouse identifier: {name!r}")
    return name


def declared_types(table: str) -> dict[str, str]:
    """Column -> portable SQL type of a declared table (:mod:`cadence.contract.schema`;
    empty when it is not): a table created from its first frame takes these, so an empty
    first frame cannot give a date column the type text."""
    from cadence.contract.schema import declared_tables

    return declared_tables().get(table, {})


def sql_type(series: pd.Series) -> str:
    """The portable SQL type (DuckDB and PostgreSQL) for a pandas column."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "bigint"
    if pd.api.types.is_float_dtype(dtype):
        return "double precision"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "timestamp with time zone"
    if pd.api.types.is_datetime64_dtype(dtype):
        return "timestamp"
    sample = series.dropna()
    if len(sample):
        first = sample.iloc[0]
        if isinstance(first, bool):
            return "boolean"
        if isinstance(first, datetime):
            return "timestamp with time zone" if first.tzinfo else "timestamp"
        if isinstance(first, date):
            return "date"
    return "text"


@dataclass
class Warehouse:
    """A connection to the warehouse with the few operations the pipeline needs."""

    url: str
    schema: str = POSTGRES_SCHEMA  # PostgreSQL only; DuckDB uses its main schema
    engine: sa.Engine | None = None

    def __post_init__(self) -> None:
        _check_identifier(self.schema)
        if self.engine is None:
            self.engine = _create_engine(self.url, self.schema)

    @property
    def dialect(self) -> str:
        """``duckdb`` or ``postgresql``: the only switch SQL templates may use."""
        return self.engine.dialect.name

    # -- reading -----------------------------------------------------------------------
    def read_frame(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run a query with bound parameters and return its rows."""
        with self.engine.connect() as conn:
            result = conn.execute(sa.text(sql), dict(params or {}))
            # Plain tuples: pandas would turn each Row into one anyway, after probing every
            # Row for a ``dtype`` attribute, a miss SQLAlchemy answers slowly (a third of
            # reading a million rows).
            return pd.DataFrame([tuple(row) for row in result], columns=list(result.keys()))

    def read_columns(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """:meth:`read_frame` for results of hundreds of thousands of rows: on DuckDB the
        columns come through Arrow (text as pandas strings, timestamps as datetime64), a
        fraction of the CPU of building a Python value per cell; on PostgreSQL the rows of
        :meth:`read_frame`."""
        if self.dialect != "duckdb":
            return self.read_frame(sql, params)
        query = sa.text(sql).compile(dialect=self.engine.dialect)
        values = dict(params or {})
        with self.engine.connect() as conn:
            relation = conn.connection.driver_connection.sql(
                str(query), params=[values[name] for name in query.positiontup or ()])
            return relation.to_arrow_table().to_pandas()

    def read_table(self, table: str, where: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """All rows of a table, optionally filtered by equality on columns."""
        clause, params = _where(where)
        return self.read_frame(f"select * from {_check_identifier(table)}{clause}", params)

    def table_exists(self, table: str) -> bool:
        """Whether the table (or view) exists in the warehouse schema."""
        with self.engine.connect() as conn:
            return self._columns(conn, table) is not None

    def create_table(self, table: str, columns: Mapping[str, str]) -> bool:
        """Create ``table`` with ``columns`` (name -> portable SQL type) when it is missing;
        whether it was created."""
        _check_identifier(table)
        with self.engine.begin() as conn:
            if self._columns(conn, table) is not None:
                return False
            ddl = ", ".join(f"{_check_identifier(c)} {t}" for c, t in columns.items())
            conn.execute(sa.text(f"create table {table} ({ddl})"))
        return True

    def add_missing_columns(self, table: str, columns: Mapping[str, str]) -> list[str]:
        """Add the ``columns`` (name -> portable SQL type) ``table`` lacks (a table made by
        an older version); the names added."""
        with self.engine.begin() as conn:
            existing = self._columns(conn, _check_identifier(table)) or []
            missing = [c for c in columns if c not in existing]
            for column in missing:
                conn.execute(sa.text(f"alter table {table} add column "
                                     f"{_check_identifier(column)} {columns[column]}"))
        return missing

    def count(self, table: str, where: Mapping[str, Any] | None = None) -> int:
        """Number of rows in a table."""
        clause, params = _where(where)
        frame = self.read_frame(
            f"select count(*) as n from {_check_identifier(table)}{clause}", params
        )
        return int(frame["n"].iloc[0])

    # -- SQL files ---------------------------------------------------------------------
    def render(self, path: str | Path, **context: Any) -> str:
        """Render a SQL file of ``include/sql`` with Jinja (``dialect`` is always given);
        ``{% include "dir/file.sql" %}`` takes in another file of ``include/sql``."""
        path = Path(path)
        if not path.is_absolute():
            path = SQL_DIR / path
        template = _SQL_TEMPLATES.from_string(path.read_text())
        return template.render(dialect=self.dialect, **context)

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Execute one or more statements (separated by ``;``) in one transaction."""
        with self.engine.begin() as conn:
            for statement in split_statements(sql):
                conn.execute(sa.text(statement), dict(params or {}))

    # -- writing -----------------------------------------------------------------------
    def write_frame(
        self,
        table: str,
        frame: pd.DataFrame,
        replace_where: Mapping[str, Any] | None = None,
        replace_all: bool = False,
    ) -> int:
        """Write rows idempotently: delete the partition ``replace_where`` (or every row
        when ``replace_all``) and insert ``frame``, all in one transaction.

        The table is created from the frame's columns when missing; columns the table has
        and the frame lacks are written as NULL.
        """
        _check_identifier(table)
        for column in frame.columns:
            _check_identifier(column)
        with self.engine.begin() as conn:
            existing = self._columns(conn, table)
            if existing is None:
                declared = declared_types(table)
                ddl = ", ".join(f"{c} {declared.get(c) or sql_type(frame[c])}"
                                for c in frame.columns)
                conn.execute(sa.text(f"create table {table} ({ddl})"))
                existing = list(frame.columns)
            else:
                missing = [c for c in frame.columns if c not in existing]
                for column in missing:
                    column_type = sql_type(frame[column])
                    conn.execute(sa.text(f"alter table {table} add column {column} {column_type}"))
                existing += missing
            if replace_all:
                conn.execute(sa.text(f"delete from {table}"))
            elif replace_where:
                clause, params = _where(replace_where)
                conn.execute(sa.text(f"delete from {table}{clause}"), params)
            if len(frame):
                self._bulk_insert(conn, table, frame)
        return len(frame)

    def insert_rows(self, conn: sa.Connection, table: str, frame: pd.DataFrame) -> None:
        """Append ``frame``'s rows to an existing table inside the caller's transaction, in
        bulk (DuckDB reads the frame, PostgreSQL takes COPY): for commit points that write
        thousands of rows at once (the hourly outbox protocol)."""
        _check_identifier(table)
        for column in frame.columns:
            _check_identifier(column)
        if len(frame):
            self._bulk_insert(conn, table, frame)

    def _columns(self, conn: sa.Connection, table: str) -> list[str] | None:
        # information_schema reads the same on both dialects (SQLAlchemy's inspector does not
        # work on duckdb-engine with SQLAlchemy 2.1).
        rows = conn.execute(
            sa.text(
                "select column_name from information_schema.columns"
                " where table_name = :t and table_schema = current_schema()"
                " order by ordinal_position"
            ),
            {"t": table},
        ).fetchall()
        return [r[0] for r in rows] or None

    def _bulk_insert(self, conn: sa.Connection, table: str, frame: pd.DataFrame) -> None:
        columns = ", ".join(frame.columns)
        driver = conn.connection.driver_connection
        if self.dialect == "duckdb":
            # DuckDB reads the frame in place: orders of magnitude faster than executemany.
            driver.register("_cadence_frame", frame)
            try:
                driver.execute(
                    f"insert into {table} ({columns}) select {columns} from _cadence_frame"
                )
            finally:
                driver.unregister("_cadence_frame")
            return
        # COPY reads text: a float column (an integer column with a NULL, in pandas) going
        # into a declared integer column must be written 50, not 50.0.
        integers = [c for c, kind in declared_types(table).items()
                    if kind.split()[0] in ("bigint", "integer", "smallint")
                    and c in frame.columns and frame[c].dtype.kind == "f"]
        if integers:
            frame = frame.astype(dict.fromkeys(integers, "Int64"))
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, header=False, na_rep="\\N", quoting=csv.QUOTE_MINIMAL)
        buffer.seek(0)
        with driver.cursor() as cursor:
            cursor.copy_expert(
                f"copy {table} ({columns}) from stdin with (format csv, null '\\N')", buffer
            )


def split_statements(sql: str) -> list[str]:
    """Split a SQL script on semicolons at line ends; our SQL files keep ``;`` out of strings."""
    parts = re.split(r";\s*(?:\n|$)", sql)
    return [p.strip() for p in parts if p.strip() and not _only_comments(p)]


def _only_comments(sql: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in sql.splitlines())


def _where(where: Mapping[str, Any] | None) -> tuple[str, dict[str, Any]]:
    if not where:
        return "", {}
    clauses = [f"{_check_identifier(k)} = :w_{k}" for k in where]
    return " where " + " and ".join(clauses), {f"w_{k}": v for k, v in where.items()}


def _create_engine(url: str, schema: str) -> sa.Engine:
    if url.startswith("duckdb"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url)

        @sa.event.listens_for(engine, "connect")
        def _utc(dbapi_connection, _record):  # timestamps read back in UTC, not host time
            dbapi_connection.execute("set TimeZone = 'UTC'")

        return engine
    engine = sa.create_engine(
        url,
        connect_args={"options": f"-csearch_path={schema} -ctimezone=UTC"},
        pool_pre_ping=True,
    )
    with engine.begin() as conn:
        conn.execute(sa.text(f"create schema if not exists {schema}"))
    return engine


def connect(settings: Settings | None = None) -> Warehouse:
    """The warehouse of ``settings`` (default: the environment's ``CADENCE_WAREHOUSE_URL``
    and, for PostgreSQL, ``CADENCE_WAREHOUSE_SCHEMA``)."""
    settings = settings or load_settings()
    return Warehouse(settings.warehouse_url, schema=settings.warehouse_schema)
