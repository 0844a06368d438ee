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
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from cadence.contract.settings import DUCKDB_MEMORY_LIMIT, SQL_DIR, Settings, load_settings

POSTGRES_SCHEMA = "cadence"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_OPENED: weakref.WeakSet[sa.Engine] = weakref.WeakSet()  # engines of file or server warehouses
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
    # DuckDB only: the bound of its buffer cache (``CADENCE_DUCKDB_MEMORY_LIMIT``)
    duckdb_memory_limit: str = DUCKDB_MEMORY_LIMIT

    def __post_init__(self) -> None:
        _check_identifier(self.schema)
        if self.engine is None:
            self.engine = _create_engine(self.url, self.schema, self.duckdb_memory_limit)
            if not self.url.endswith(":memory:"):  # an in-memory database lives in its pool
                _OPENED.add(self.engine)

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
        """:meth:`read_frame` read column-wise: on DuckDB the rows come as Arrow columns and
        are given the dtypes ``read_frame`` gives, not built row by row (a million-row
        calendar is read in seconds, not a minute). PostgreSQL reads as ``read_frame``."""
        if self.dialect != "duckdb":
            return self.read_frame(sql, params)
        compiled = sa.text(sql).compile(dialect=self.engine.dialect)
        values = dict(params or {})
        with self.engine.connect() as conn:
            driver = conn.connection.driver_connection
            table = driver.sql(str(compiled), params=[
                values[name] for name in compiled.positiontup or ()]).to_arrow_table()
        return frame_of_columns(table)

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
    def execute_with(self, sql: str, frames: Mapping[str, pd.DataFrame],
                     params: Mapping[str, Any] | None = None) -> None:
        """Execute statements that read each of ``frames`` as a table of that name, in one
        transaction: a few changed rows applied with ``update ... from`` instead of a
        partition rewritten. DuckDB reads the frames in place; PostgreSQL gets temporary
        tables, filled by COPY and dropped at commit."""
        with self.engine.begin() as conn:
            driver = conn.connection.driver_connection
            for name, frame in frames.items():
                _check_identifier(name)
                if self.dialect == "duckdb":
                    driver.register(name, frame)
                    continue
                ddl = ", ".join(f"{_check_identifier(c)} {sql_type(frame[c])}"
                                for c in frame.columns)
                conn.execute(sa.text(f"create temporary table {name} ({ddl}) on commit drop"))
                if len(frame):
                    self._bulk_insert(conn, name, frame)
            try:
                for statement in split_statements(sql):
                    conn.execute(sa.text(statement), dict(params or {}))
            finally:
                if self.dialect == "duckdb":
                    for name in frames:
                        driver.unregister(name)

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


def frame_of_columns(table: pa.Table) -> pd.DataFrame:
    """The frame pandas builds from the rows of ``table`` as Python values (what
    :meth:`Warehouse.read_frame` returns), made from its Arrow columns: text as ``str``,
    integers as int64 (float64 with a NULL), booleans as bool (objects with a NULL),
    timestamps as datetime64[us] (objects when every value is NULL), dates and anything
    else as Python objects; no rows give object columns."""
    columns = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind, nulls, rows = column.type, column.null_count, len(column)
        if rows == 0 or nulls == rows:
            values = pd.Series([None] * rows, dtype=object)
        elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
            # One chunk, as pandas makes from Python strings: code taking the Arrow array
            # of a text column expects an array, not a chunked one.
            values = pd.Series(column.combine_chunks(), dtype="str")
        elif pa.types.is_integer(kind):
            values = pd.Series(column.to_numpy(), dtype="float64" if nulls else "int64")
        elif pa.types.is_floating(kind):
            values = pd.Series(column.to_numpy(), dtype="float64")
        elif pa.types.is_boolean(kind) and not nulls:
            values = pd.Series(column.to_numpy(), dtype=bool)
        elif pa.types.is_timestamp(kind):
            unit = column.cast(pa.timestamp("us", kind.tz))
            values = pd.Series(unit.to_pandas())
            values = values.astype(f"datetime64[us, {kind.tz}]" if kind.tz
                                   else "datetime64[us]")
        elif pa.types.is_date(kind):
            # datetime.date objects (None for NULL) as to_pylist makes them, built in C:
            # to_pylist took seconds per million dates.
            values = pd.Series(column.to_pandas(date_as_object=True), dtype=object)
        else:
            values = pd.Series(column.to_pylist(), dtype=object)
        columns[name] = values.reset_index(drop=True)
    return pd.DataFrame(columns, columns=table.column_names)


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


def _create_engine(url: str, schema: str, memory_limit: str) -> sa.Engine:
    if url.startswith("duckdb"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url)

        @sa.event.listens_for(engine, "connect")
        def _session(dbapi_connection, _record):
            # Timestamps read back in UTC, not host time. DuckDB's buffer cache takes 80% of
            # RAM unless bounded, and a run's tasks share one process and one database.
            dbapi_connection.execute("set TimeZone = 'UTC'")
            dbapi_connection.execute(f"set memory_limit = '{memory_limit}'")

        return engine
    engine = sa.create_engine(
        url,
        connect_args={"options": f"-csearch_path={schema} -ctimezone=UTC"},
        pool_pre_ping=True,
    )
    with engine.begin() as conn:
        conn.execute(sa.text(f"create schema if not exists {schema}"))
    return engine


def close_opened_warehouses() -> None:
    """Close the connections of every warehouse opened so far (they reopen when used again):
    a task's DuckDB database, its buffer cache with it, is released when the task ends, not
    carried into the next task run by the same process (``dags test``, a Celery worker)."""
    for engine in list(_OPENED):
        engine.dispose()
    _OPENED.clear()


def connect(settings: Settings | None = None) -> Warehouse:
    """The warehouse of ``settings`` (default: the environment's ``CADENCE_WAREHOUSE_URL``
    and, for PostgreSQL, ``CADENCE_WAREHOUSE_SCHEMA``)."""
    settings = settings or load_settings()
    return Warehouse(settings.warehouse_url, schema=settings.warehouse_schema,
                     duckdb_memory_limit=settings.duckdb_memory_limit)
