"""What-if end to end on the embedded warehouse: a small sample planned for one day, then
two days replayed under the policy and under whatif_3_per_week.yml. The live tables are
left exactly as they were, nothing is sent, and each scenario keeps its own caps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from cadence.contract.settings import CONFIG_DIR, Settings
from cadence.learning.whatif import WhatIfError, run_whatif, scenario_policy

AS_OF = date(2026, 11, 23)
LIVE = ("communication_calendar", "calendar_decisions", "touch_candidates",
        "account_health", "segment_membership", "plan_accounts")


def _plan(settings: Settings):
    """One nightly plan of ``settings``' sample sources on its warehouse (no
    Airflow); the run."""
    from cadence.contract.schema import create_warehouse_tables
    from cadence.orchestration import nightly
    from cadence.orchestration.runs import Run

    at = datetime.combine(AS_OF, datetime.min.time(), tzinfo=UTC)
    run = Run(run_id="test", run_type="manual", data_interval_start=at,
              data_interval_end=at, started_at=at, settings=settings,
              clock=lambda: at + timedelta(days=9))  # replayed later: not live
    create_warehouse_tables(run.warehouse)
    for step in ("extract_sources", "validate_sources", "build_staging",
                 "score_account_health", "assign_segments", "learn_from_engagement",
                 "generate_candidates"):
        getattr(nightly, step)(run)
    for shard in nightly.list_plan_shards(run):
        nightly.plan_calendar(run, shard)
    nightly.steer_send_times(run)
    nightly.level_csm_capacity(run)
    return run


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """A warehouse with one nightly plan of 25 sample accounts (no Airflow)."""
    from cadence.devtools.sample import write_sample

    root = tmp_path_factory.mktemp("whatif")
    write_sample(root / "sources", accounts=25, seed=5, as_of=AS_OF)
    settings = Settings(warehouse_url=f"duckdb:///{root / 'warehouse.duckdb'}",
                        warehouse_schema="cadence", source_dir=root / "sources",
                        out_dir=root / "out", policy_path=CONFIG_DIR / "policy.yml")
    return _plan(settings)


def _snapshot(warehouse) -> dict[str, pd.DataFrame]:
    return {t: warehouse.read_table(t).sort_values(["plan_date" if t != "account_health"
                                                     and t != "segment_membership"
                                                     else "account_id"], kind="stable")
            .reset_index(drop=True) for t in LIVE}


def test_whatif_replays_into_scenarios_and_leaves_live_tables_alone(planned):
    warehouse, policy = planned.warehouse, planned.policy
    before = _snapshot(warehouse)
    outbox = planned.settings.out_dir / "outbox"
    first, last = AS_OF + timedelta(days=1), AS_OF + timedelta(days=2)
    result = run_whatif(warehouse, policy, first, last, planned.settings.out_dir,
                        policy_file=CONFIG_DIR / "whatif_3_per_week.yml")

    after = _snapshot(warehouse)
    for table in LIVE:
        pd.testing.assert_frame_equal(before[table], after[table], obj=table)
    assert not outbox.exists() and not warehouse.table_exists("deliveries") \
        or warehouse.count("deliveries") == 0

    comparison = warehouse.read_table("whatif_comparison",
                                      {"comparison_id": result["comparison_id"]})
    assert set(comparison["measure"]) == {
        "touches per contact per week (contact-weeks)",
        "touches per contact per week (mean, max)",
        "cap and spacing hits by rule (deferred or dropped)", "touches by team",
        "touches by class", "protected touches lost (dropped)",
        "CSM load per week (human touches)",
        "promotional share of non-transactional touches per week"}
    assert (comparison["scenario"] - comparison["baseline"]).eq(comparison["difference"]).all()
    page = Path(result["page"])
    assert page.suffix == ".html" and "<svg" in page.read_text()

    # Each scenario holds its own email cap per contact and calendar week (the policy's
    # smb_email_cap experiment gives its three_per_week arm 3 in both).
    for scenario, cap in ((result["baseline_id"], 2), (result["scenario_id"], 3)):
        calendar = warehouse.read_table("whatif_calendar", {"scenario_id": scenario})
        assert len(calendar)
        email = calendar[(calendar["channel"] == "email")
                         & (calendar["message_type"] != "transactional")]
        day = pd.to_datetime(email["local_send_at"]).dt.normalize()
        week = day - pd.to_timedelta(day.dt.weekday, unit="D")
        per_week = email.groupby([email["contact_id"], week]).size()
        arm = email.groupby([email["contact_id"], week])["experiment_arm"].first()
        limit = arm.eq("smb_email_cap:three_per_week").map({True: 3, False: cap})
        assert (per_week <= limit).all(), scenario
        assert per_week.max() <= 3


def test_a_bad_scenario_key_is_named(policy, tmp_path):
    bad = tmp_path / "alt.yml"
    bad.write_text("planner:\n  limits:\n    emails_a_week: 3\n")
    with pytest.raises(Exception, match=r"alt\.yml: planner\.limits\.emails_a_week"):
        scenario_policy(policy, bad)
    with pytest.raises(WhatIfError, match="policy file or inline overrides"):
        scenario_policy(policy)


@pytest.mark.postgres
def test_whatif_on_postgres_leaves_live_tables_alone_and_matches_duckdb(planned, pg_schema,
                                                                         tmp_path):
    import sqlalchemy as sa

    from tests.conftest import POSTGRES_URL

    sources = planned.settings.source_dir  # the same sample as the DuckDB plan
    settings = Settings(warehouse_url=POSTGRES_URL, warehouse_schema=pg_schema,
                        source_dir=sources, out_dir=tmp_path / "out",
                        policy_path=CONFIG_DIR / "policy.yml")
    run = _plan(settings)
    warehouse, policy = run.warehouse, run.policy
    first, last = AS_OF + timedelta(days=1), AS_OF + timedelta(days=2)
    scenario_file = CONFIG_DIR / "whatif_3_per_week.yml"
    before = _snapshot(warehouse)
    try:
        result = run_whatif(warehouse, policy, first, last, settings.out_dir,
                            policy_file=scenario_file)
        after = _snapshot(warehouse)
        for table in LIVE:
            pd.testing.assert_frame_equal(before[table], after[table], obj=table)
        assert not warehouse.table_exists("deliveries") or warehouse.count("deliveries") == 0
        assert not (settings.out_dir / "outbox").exists()
        # Each scenario was replayed in a schema of its own, not in the live one.
        schemas = warehouse.read_frame(
            "select schema_name from information_schema.schemata"
            " where schema_name like :prefix", {"prefix": f"{pg_schema}_whatif_%"})
        assert set(schemas["schema_name"]) == {
            f"{pg_schema}_whatif_{result['baseline_id']}",
            f"{pg_schema}_whatif_{result['scenario_id']}"}

        duck = run_whatif(planned.warehouse, planned.policy, first, last,
                          planned.settings.out_dir, policy_file=scenario_file)
        assert result["comparison_id"] == duck["comparison_id"]
        order = ["measure", "key"]
        on_postgres = result["comparison"].sort_values(order).reset_index(drop=True)
        on_duckdb = duck["comparison"].sort_values(order).reset_index(drop=True)
        assert len(on_postgres) > 10 and on_postgres["difference"].ne(0).any()
        pd.testing.assert_frame_equal(on_postgres, on_duckdb)
    finally:
        engine = sa.create_engine(POSTGRES_URL)
        with engine.begin() as conn:
            for label in ("b_", "s_"):
                names = conn.execute(sa.text(
                    "select schema_name from information_schema.schemata"
                    " where schema_name like :p"), {"p": f"{pg_schema}_whatif_{label}%"})
                for (name,) in names.fetchall():
                    conn.execute(sa.text(f"drop schema if exists {name} cascade"))
        engine.dispose()
