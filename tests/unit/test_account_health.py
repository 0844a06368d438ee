"""The health policy section and the model catalogue behind account_health."""

from __future__ import annotations

import re
from datetime import date

import pytest

from cadence.contract.settings import SQL_DIR
from cadence.models.account_health import HEALTH_MODELS
from cadence.models.runner import (
    LAYERS,
    ModelError,
    build_models,
    build_order,
    discover_models,
    model_params,
    model_reads,
)
from cadence.models.segments import SEGMENT_MODELS
from cadence.policy import PolicyError, parse_policy


def test_weights_that_do_not_sum_to_one_name_the_key():
    with pytest.raises(PolicyError, match=r"health\.weights: .*sum to 1, they sum to 1\.1"):
        parse_policy({"health": {"weights": {"product_usage": 0.35}}})


def test_red_band_above_green_band_is_rejected():
    with pytest.raises(PolicyError, match=r"health: .*red_below_score"):
        parse_policy({"health": {"green_min_score": 50, "red_below_score": 60}})


def test_misspelt_health_key_is_an_error():
    with pytest.raises(PolicyError, match=r"health\.weigths"):
        parse_policy({"health": {"weigths": {}}})


def test_shipped_policy_weights_sum_to_one(policy):
    assert sum(policy.health.weights.model_dump().values()) == pytest.approx(1)


def test_every_parameter_a_model_uses_is_bound_from_policy(policy):
    params = model_params(policy, date(2026, 6, 15))
    used = set()
    for path in [*SQL_DIR.glob("*/*.sql")]:
        if path.parent.name not in (*LAYERS, "queries"):
            continue
        # ":name" binds a parameter; "::" casts are not used in our SQL
        used |= set(re.findall(r"(?<![:\w]):([a-z_][a-z0-9_]*)", path.read_text()))
    assert used <= set(params), used - set(params)


def test_every_model_file_is_documented_and_declared():
    catalog = discover_models()
    for name in HEALTH_MODELS + SEGMENT_MODELS:
        assert name in catalog
    assert {m.materialized for m in catalog.values()} == {"view", "table", "partition"}


def test_models_are_built_after_what_they_read():
    catalog = discover_models()
    order = [m.name for m in build_order(catalog, list(reversed(HEALTH_MODELS + SEGMENT_MODELS)))]
    assert order.index("int_account_facts") < order.index("int_health_components")
    assert order.index("int_health_components") < order.index("account_health")
    assert order.index("account_health") < order.index("segment_daily")
    assert order[-1] == "segment_membership"


def test_an_undocumented_model_file_is_refused(tmp_path):
    for layer in ("staging", "intermediate", "marts"):
        (tmp_path / layer).mkdir()
        (tmp_path / layer / "schema.yml").write_text("models: []\n")
    (tmp_path / "marts" / "orphan.sql").write_text("select 1 as x\n")
    with pytest.raises(ModelError, match=r"marts: SQL files not documented .*orphan"):
        discover_models(tmp_path)


def test_a_dependency_cycle_is_refused(tmp_path):
    for layer in ("staging", "intermediate", "marts"):
        (tmp_path / layer).mkdir()
        (tmp_path / layer / "schema.yml").write_text("models: []\n")
    (tmp_path / "marts" / "schema.yml").write_text(
        "models:\n  - {name: a, config: {meta: {depends_on: [b]}}}\n"
        "  - {name: b, config: {meta: {depends_on: [a]}}}\n"
    )
    (tmp_path / "marts" / "a.sql").write_text("select x from b\n")
    (tmp_path / "marts" / "b.sql").write_text("select x from a\n")
    with pytest.raises(ModelError, match="dependency cycle"):
        build_order(discover_models(tmp_path), ["a", "b"])


def _layers(tmp_path, models: dict[str, tuple[str, str, list[str]]]):
    """SQL folders with ``name -> (layer, sql, declared depends_on)``."""
    for layer in ("staging", "intermediate", "marts"):
        (tmp_path / layer).mkdir()
        entries = [f"  - {{name: {name}, config: {{meta: {{depends_on: {deps}}}}}}}\n"
                   for name, (lay, _, deps) in models.items() if lay == layer]
        (tmp_path / layer / "schema.yml").write_text("models:\n" + "".join(entries)
                                                     if entries else "models: []\n")
        for name, (lay, sql, _) in models.items():
            if lay == layer:
                (tmp_path / layer / f"{name}.sql").write_text(sql)
    (tmp_path / "outputs.yml").write_text("models:\n  - {name: validated_x}\n")
    return tmp_path


def test_a_model_reading_a_table_it_does_not_declare_is_refused(tmp_path):
    # The read hides in a CTE's subquery and a Jinja dialect branch: the parse still sees it.
    sql = ("with t as (select * from stg_x where k in (select k from validated_x))\n"
           "select * from t {% if dialect == 'postgres' %}{% endif %}\n")
    sql_dir = _layers(tmp_path, {"stg_x": ("staging", "select k from validated_x\n",
                                           ["validated_x"]),
                                 "int_y": ("intermediate", sql, ["stg_x"])})
    with pytest.raises(ModelError, match=r"int_y: meta.depends_on .* undeclared "
                                         r"\['validated_x'\], declared but not read \[\]"):
        discover_models(sql_dir)


def test_a_model_declaring_a_read_it_does_not_make_is_refused(tmp_path):
    sql_dir = _layers(tmp_path, {"stg_x": ("staging", "select k from validated_x\n",
                                           ["validated_x", "validated_z"])})
    with pytest.raises(ModelError, match=r"declared but not read \['validated_z'\]"):
        discover_models(sql_dir)


def test_the_intermediate_layer_never_reads_a_mart(tmp_path):
    sql_dir = _layers(tmp_path, {"m": ("marts", "select k from validated_x\n",
                                       ["validated_x"]),
                                 "int_y": ("intermediate", "select k from m\n", ["m"])})
    with pytest.raises(ModelError, match=r"intermediate model int_y reads \['m'\] of a "
                                         "later layer"):
        discover_models(sql_dir)


def test_a_model_reading_an_undocumented_table_is_refused(tmp_path):
    sql_dir = _layers(tmp_path, {"stg_x": ("staging", "select k from mystery\n",
                                           ["mystery"])})
    with pytest.raises(ModelError, match=r"stg_x reads \['mystery'\]: neither a model"):
        discover_models(sql_dir)


def test_the_shipped_models_declare_exactly_what_they_read():
    for model in discover_models().values():
        assert set(model.depends_on) == model_reads(model.path.read_text()), model.name


def test_a_model_whose_columns_changed_is_not_written_into_the_old_table(warehouse, policy):
    # A table built by an older version of the model, with other columns.
    warehouse.execute("drop table stg_csms; create table stg_csms (csm_id text, name text)")
    with pytest.raises(ModelError, match=r"model stg_csms: its columns .* drop the table"):
        build_models(warehouse, policy, date(2026, 6, 15), ["stg_csms"])
