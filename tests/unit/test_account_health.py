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
    ensure_validated_tables,
    model_params,
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
    assert order.index("account_health") < order.index("int_segment_daily")
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
    for name in "ab":
        (tmp_path / "marts" / f"{name}.sql").write_text("select 1 as x\n")
    with pytest.raises(ModelError, match="dependency cycle"):
        build_order(discover_models(tmp_path), ["a", "b"])


def test_a_model_whose_columns_changed_is_not_written_into_the_old_table(warehouse, policy):
    warehouse.execute("create table stg_csms (csm_id text, name text)")
    ensure_validated_tables(warehouse)
    with pytest.raises(ModelError, match=r"model stg_csms: its columns .* drop the table"):
        build_models(warehouse, policy, date(2026, 6, 15), ["stg_csms"])
