"""The model runner: builds the warehouse SQL models of ``include/sql`` in dependency order.

A layer (``staging``, ``intermediate``, ``marts``) is a folder of model files, one lower-case
SELECT each, and a ``schema.yml`` in dbt's format that documents every model (description,
columns) and declares in its ``config`` how it is materialized and (``meta.depends_on``)
every table and model it reads. The runner parses each model's SQL (sqlglot) and refuses a
model whose reads differ from what it declares, and a layer that reads a later one
(staging reads only the validated tables, intermediate never reads a mart). It is
materialized as:

* ``view``: recreated on every build;
* ``table``: every row replaced (delete + insert) in one transaction;
* ``partition``: the rows of ``as_of_date = :as_of`` replaced, so rerunning a date or
  backfilling dates in any order never duplicates rows.

Tables are created from the model's SELECT the first time and refilled afterwards (not
dropped), so views and readers that depend on them survive a rebuild. Models see ``:as_of``
and the policy values of :func:`model_params` as bound parameters; Jinja is only used where
DuckDB and PostgreSQL differ (``dialect``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import sqlglot
from sqlglot import exp

from cadence.contract.errors import RetryCannotHelp
from cadence.contract.settings import SQL_DIR
from cadence.contract.warehouse import Warehouse
from cadence.contract.yaml_files import read_yaml

if TYPE_CHECKING:
    from cadence.policy import Policy

LAYERS: tuple[str, ...] = ("staging", "intermediate", "marts")
# What each layer may read besides the tables Python tasks write (include/sql/outputs.yml):
# staging only those, intermediate staging and itself, marts every layer.
READABLE_LAYERS: dict[str, tuple[str, ...]] = {
    "staging": (),
    "intermediate": ("staging", "intermediate"),
    "marts": LAYERS,
}
MATERIALIZATIONS: tuple[str, ...] = ("view", "table", "partition")
PARTITION_COLUMN = "as_of_date"


class ModelError(RetryCannotHelp, ValueError):
    """A model is missing, undocumented, badly declared or has a dependency cycle."""


@dataclass(frozen=True)
class Model:
    """One SQL model: its file, how it is materialized and the models it reads."""

    name: str
    layer: str
    path: Path
    materialized: str
    depends_on: tuple[str, ...]  # every table and model it reads, as declared


def model_reads(sql: str) -> set[str]:
    """The tables and views a SELECT reads (its own CTEs excluded), from the SQL itself.

    Jinja is rendered for DuckDB with every dialect branch's text the same shape, so one
    parse names what both dialects read."""
    rendered = jinja2.Environment(undefined=jinja2.ChainableUndefined).from_string(
        sql).render(dialect="duckdb")
    tree = sqlglot.parse_one(rendered, dialect="duckdb")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    return {table.name for table in tree.find_all(exp.Table)} - ctes


def declared_tables(sql_dir: Path = SQL_DIR) -> list[str]:
    """The tables Python tasks write, as ``outputs.yml`` documents them."""
    path = sql_dir / "outputs.yml"
    if not path.exists():
        return []
    return [entry["name"] for entry in (read_yaml(path) or {}).get("models", [])]


def _check_reads(models: dict[str, Model], written_by_tasks: set[str]) -> None:
    for model in models.values():
        reads = model_reads(model.path.read_text())
        declared = set(model.depends_on)
        if reads != declared:
            raise ModelError(
                f"{model.layer}/schema.yml: model {model.name}: meta.depends_on must name "
                f"exactly what {model.name}.sql reads; undeclared {sorted(reads - declared)}, "
                f"declared but not read {sorted(declared - reads)}")
        unknown = sorted(reads - set(models) - written_by_tasks)
        if unknown:
            raise ModelError(f"model {model.name} reads {unknown}: neither a model nor a "
                             "table of include/sql/outputs.yml")
        later = sorted(r for r in reads if r in models
                       and models[r].layer not in READABLE_LAYERS[model.layer])
        if later:
            raise ModelError(f"{model.layer} model {model.name} reads {later} of a later "
                             f"layer; {model.layer} reads only "
                             f"{list(READABLE_LAYERS[model.layer]) or 'validated tables'}")


def discover_models(sql_dir: Path = SQL_DIR) -> dict[str, Model]:
    """Every model of every layer, checked against its layer's ``schema.yml``.

    A SQL file without documentation, a documented model without a file, an unknown
    materialization or a dependency on an unknown model is an error naming the model.
    """
    models: dict[str, Model] = {}
    for layer in LAYERS:
        folder = sql_dir / layer
        schema_path = folder / "schema.yml"
        declared = (read_yaml(schema_path) or {}).get("models", [])
        files = {p.stem: p for p in folder.glob("*.sql")}
        names = [entry["name"] for entry in declared]
        undocumented = sorted(set(files) - set(names))
        if undocumented:
            raise ModelError(f"{layer}: SQL files not documented in schema.yml: {undocumented}")
        for entry in declared:
            name = entry["name"]
            if name not in files:
                raise ModelError(f"{layer}/schema.yml: model {name} has no {name}.sql")
            config = entry.get("config") or {}  # dbt's schema.yml: config.materialized, meta
            materialized = config.get("materialized", "table")
            if materialized not in MATERIALIZATIONS:
                raise ModelError(
                    f"{layer}/schema.yml: model {name}: materialized must be one of "
                    f"{MATERIALIZATIONS}, not {materialized!r}"
                )
            models[name] = Model(
                name=name,
                layer=layer,
                path=files[name],
                materialized=materialized,
                depends_on=tuple((config.get("meta") or {}).get("depends_on") or ()),
            )
    _check_reads(models, set(declared_tables(sql_dir)))
    return models


def build_order(models: dict[str, Model], wanted: list[str]) -> list[Model]:
    """``wanted`` sorted so every model comes after the models it depends on; among models
    that are ready together, staging before intermediate before marts, then by name.
    Dependencies outside ``wanted`` are taken as already built."""
    unknown = [name for name in wanted if name not in models]
    if unknown:
        raise ModelError(f"unknown models: {unknown}")
    # Reads of tables Python tasks write are not built here: only models order the build.
    sorter = TopologicalSorter(
        {name: [d for d in models[name].depends_on if d in wanted] for name in wanted}
    )
    try:
        sorter.prepare()
    except CycleError as exc:
        raise ModelError(f"dependency cycle between models: {exc.args[1]}") from None
    order: list[Model] = []
    while sorter.is_active():
        ready = sorted(
            (models[name] for name in sorter.get_ready()),
            key=lambda m: (LAYERS.index(m.layer), m.name),
        )
        order.extend(ready)
        sorter.done(*(m.name for m in ready))
    return order


def model_params(policy: Policy, as_of: date) -> dict[str, Any]:
    """The bound parameters every model may use: ``as_of`` and the health and segment
    policy values (``health_*``, ``segment_*``)."""
    return {"as_of": as_of, **policy.health.sql_params(), **policy.segments.sql_params()}


def materialize(warehouse: Warehouse, model: Model, params: dict[str, Any]) -> int:
    """Build one model in one transaction and return its row count (of the ``as_of``
    partition for partitioned models)."""
    select = warehouse.render(model.path).strip().rstrip(";").strip()
    name = model.name
    if model.materialized == "view":
        # A view keeps its SQL, not values: view models must not use bound parameters.
        warehouse.execute(f"drop view if exists {name};\ncreate view {name} as\n{select}")
        return warehouse.count(name)
    if not warehouse.table_exists(name):
        warehouse.execute(f"create table {name} as\n{select}", params)
    else:
        _check_columns(warehouse, model, select, params)
        replaced = (
            f"delete from {name} where {PARTITION_COLUMN} = cast(:as_of as date)"
            if model.materialized == "partition"
            else f"delete from {name}"
        )
        warehouse.execute(
            f"{replaced};\ninsert into {name}\nselect * from (\n{select}\n) as model_rows",
            params,
        )
    if model.materialized == "partition":
        return warehouse.count(name, {PARTITION_COLUMN: params["as_of"]})
    return warehouse.count(name)


def _check_columns(
    warehouse: Warehouse, model: Model, select: str, params: dict[str, Any]
) -> None:
    # Rows are inserted by position: a model whose columns changed since its table was
    # created must not be written into the old shape.
    table = list(warehouse.read_frame(f"select * from {model.name} limit 0").columns)
    wanted = list(
        warehouse.read_frame(f"select * from (\n{select}\n) as model_rows limit 0", params).columns
    )
    if table != wanted:
        raise ModelError(
            f"model {model.name}: its columns {wanted} differ from table {model.name} "
            f"{table}; drop the table to rebuild it (partitioned models: rebuild every date)"
        )


def build_models(
    warehouse: Warehouse,
    policy: Policy,
    as_of: date,
    models: list[str],
    sql_dir: Path = SQL_DIR,
) -> dict[str, int]:
    """Build the named models for ``as_of`` in dependency order; rows per model."""
    catalog = discover_models(sql_dir)
    params = model_params(policy, as_of)
    return {m.name: materialize(warehouse, m, params) for m in build_order(catalog, models)}


def build_layer(
    warehouse: Warehouse, policy: Policy, layer: str, as_of: date, sql_dir: Path = SQL_DIR
) -> dict[str, int]:
    """Build every model of one layer for ``as_of``; rows per model."""
    if layer not in LAYERS:
        raise ModelError(f"unknown layer {layer!r}; layers are {LAYERS}")
    catalog = discover_models(sql_dir)
    names = [name for name, model in catalog.items() if model.layer == layer]
    return build_models(warehouse, policy, as_of, names, sql_dir)


def build_staging(warehouse: Warehouse, policy: Policy, as_of: date) -> dict[str, int]:
    """DAG task ``build_staging``: type the validated sources into ``stg_<entity>``."""
    return build_layer(warehouse, policy, "staging", as_of)
