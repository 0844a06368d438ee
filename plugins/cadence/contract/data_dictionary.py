"""The data dictionary: every warehouse table and column, documented in dbt's ``schema.yml``
format (``models: - name: description: columns: - name: description: data_tests:``).

The SQL models document themselves beside their SQL (``include/sql/<layer>/schema.yml``);
the tables written by Python tasks are in ``include/sql/outputs.yml``. Any dbt-aware tool
(dbt docs, a catalog) reads these files as they are; cadence reads them to

* check a warehouse against them (:func:`check_warehouse`): a table or column that exists
  but is not documented is an error that says exactly what to add and where;
* run their ``not_null`` and ``accepted_values`` tests on the warehouse
  (:func:`run_data_tests`);
* render ``docs/tables.md`` (:func:`render_markdown`, ``python -m cadence docs``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cadence.contract.settings import SQL_DIR
from cadence.contract.yaml_files import read_yaml

OUTPUTS_FILE = "outputs.yml"  # tables written by Python tasks
LAYERS = ("staging", "intermediate", "marts")


@dataclass(frozen=True)
class DocumentedColumn:
    name: str
    description: str
    data_type: str | None = None
    tests: tuple[Any, ...] = ()
    not_null: bool = False  # dbt contract ``constraints: [{type: not_null}]``: enforced


@dataclass(frozen=True)
class DocumentedTable:
    name: str
    description: str
    file: Path
    columns: tuple[DocumentedColumn, ...]
    materialized: str | None = None  # SQL models only: view, table or partition
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


class DictionaryError(ValueError):
    """A schema.yml file that is not in dbt's format or leaves a description empty."""


def dictionary_files(sql_dir: Path = SQL_DIR) -> list[Path]:
    """The schema files, in the order docs/tables.md lists them."""
    return [sql_dir / layer / "schema.yml" for layer in LAYERS] + [sql_dir / OUTPUTS_FILE]


def load_dictionary(sql_dir: Path = SQL_DIR) -> dict[str, DocumentedTable]:
    """Every documented table by name; a model or column without a description, or a table
    documented twice, is an error naming the file and the model."""
    tables: dict[str, DocumentedTable] = {}
    for path in dictionary_files(sql_dir):
        models = (read_yaml(path) or {}).get("models") or []
        rel = path.relative_to(sql_dir.parent.parent)
        for entry in models:
            name = entry.get("name")
            if not name or not str(entry.get("description") or "").strip():
                raise DictionaryError(f"{rel}: model {name!r} needs a name and a description")
            if name in tables:
                raise DictionaryError(f"{rel}: model {name} is also documented in "
                                      f"{tables[name].file}")
            columns = []
            for col in entry.get("columns") or []:
                if not str(col.get("description") or "").strip():
                    raise DictionaryError(
                        f"{rel}: model {name}, column {col.get('name')!r} has no description")
                columns.append(DocumentedColumn(
                    name=col["name"], description=" ".join(str(col["description"]).split()),
                    data_type=col.get("data_type"), tests=tuple(col.get("data_tests") or ()),
                    not_null=any(c.get("type") == "not_null"
                                 for c in col.get("constraints") or ())))
            config = entry.get("config") or {}
            tables[name] = DocumentedTable(
                name=name, description=" ".join(str(entry["description"]).split()),
                file=rel, columns=tuple(columns), materialized=config.get("materialized"),
                meta=config.get("meta") or {})
    return tables


def warehouse_columns(warehouse) -> dict[str, list[str]]:
    """Every table and view of the warehouse schema with its columns in order."""
    frame = warehouse.read_frame(
        "select table_name, column_name from information_schema.columns"
        " where table_schema = current_schema() order by table_name, ordinal_position")
    return {t: list(g["column_name"]) for t, g in frame.groupby("table_name", sort=True)}


def check_warehouse(warehouse, dictionary: dict[str, DocumentedTable]) -> list[str]:
    """What the dictionary lacks for this warehouse, each line saying what to add where.

    Documented tables that this warehouse does not hold are fine (a run may not have
    written them); documented columns a table does not have are reported, so the
    dictionary never describes a column that is gone."""
    problems = []
    for table, columns in warehouse_columns(warehouse).items():
        doc = dictionary.get(table)
        if doc is None:
            snippet = "\n".join(
                [f"- name: {table}",
                 "  description: <grain: one row per ...; what it is for>",
                 "  config: {meta: {grain: <one row per ...>, written_by: <task>}}",
                 "  columns:"]
                + [f"  - {{name: {c}, data_type: <type>, description: <meaning>}}"
                   for c in columns])
            problems.append(
                f"table {table} is not documented: add it to include/sql/{OUTPUTS_FILE} "
                f"(or to the schema.yml of its SQL layer) under `models:`, e.g.\n{snippet}")
            continue
        missing = [c for c in columns if c not in doc.column_names]
        for column in missing:
            problems.append(
                f"column {table}.{column} is not documented: add "
                f"`- {{name: {column}, data_type: <type>, description: <meaning>}}` "
                f"under model {table} in {doc.file}")
        gone = [c for c in doc.column_names if c not in columns]
        if gone:
            problems.append(f"{doc.file}: model {table} documents columns the table does not "
                            f"have: {gone} (remove them or fix their names)")
    return problems


def run_data_tests(warehouse, dictionary: dict[str, DocumentedTable]) -> list[str]:
    """Run the ``not_null`` and ``accepted_values`` tests of every documented column of the
    tables this warehouse holds; one line per failing test with its count of bad rows."""
    present = warehouse_columns(warehouse)
    failures = []
    for table, doc in dictionary.items():
        for column in doc.columns:
            if column.name not in present.get(table, ()):
                continue
            for test in column.tests:
                where, params = _test_condition(column.name, test)
                if where is None:
                    continue
                bad = warehouse.read_frame(
                    f"select count(*) as n from {table} where {where}", params)["n"].iloc[0]
                if bad:
                    failures.append(f"{table}.{column.name}: {_test_name(test)} fails for "
                                    f"{int(bad)} rows ({doc.file})")
    return failures


def _test_name(test: Any) -> str:
    return test if isinstance(test, str) else next(iter(test))


def _test_condition(column: str, test: Any) -> tuple[str | None, dict[str, Any]]:
    if test == "not_null":
        return f"{column} is null", {}
    if isinstance(test, dict) and "accepted_values" in test:
        spec = test["accepted_values"]
        values = (spec.get("arguments") or spec)["values"]
        names = {f"v{i}": str(v) for i, v in enumerate(values)}
        listed = ", ".join(f":{k}" for k in names)
        return f"{column} is not null and cast({column} as text) not in ({listed})", names
    return None, {}


def render_markdown(dictionary: dict[str, DocumentedTable]) -> str:
    """docs/tables.md: an index of the tables, then each table's columns and tests."""
    lines = [
        "# Warehouse tables",
        "",
        "Generated by `python -m cadence docs` from the dbt-format `schema.yml` files "
        "(`include/sql/<layer>/schema.yml`, `include/sql/outputs.yml`); edit those, not this "
        "page. `tests/integration/test_pipeline_e2e.py` fails when a table or column of the "
        "end-to-end warehouse is missing here.",
        "",
        "| table | grain | written by | documented in |",
        "|---|---|---|---|",
    ]
    for doc in dictionary.values():
        written_by = doc.meta.get("written_by") or f"SQL model ({doc.materialized})"
        grain = doc.meta.get("grain") or doc.description
        lines.append(f"| [`{doc.name}`](#{doc.name}) | {_cell(grain)} | {_cell(written_by)} | "
                     f"`{doc.file}` |")
    for doc in dictionary.values():
        lines += ["", f"## {doc.name}", "", doc.description, ""]
        if doc.meta.get("depends_on"):
            lines += ["Reads: " + ", ".join(f"`{d}`" for d in doc.meta["depends_on"]), ""]
        lines += ["| column | type | description | tests |", "|---|---|---|---|"]
        for col in doc.columns:
            tests = ", ".join(_describe_test(t) for t in col.tests)
            lines.append(f"| `{col.name}` | {col.data_type or ''} | {_cell(col.description)} | "
                         f"{_cell(tests)} |")
    return "\n".join(lines) + "\n"


def _describe_test(test: Any) -> str:
    if isinstance(test, dict) and "accepted_values" in test:
        spec = test["accepted_values"]
        return "one of " + ", ".join(str(v) for v in (spec.get("arguments") or spec)["values"])
    return _test_name(test)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
