"""The warehouse models on hand-made accounts: staging types, account health, SCD2 segments,
idempotent reruns, backfills in any order, and the same numbers on DuckDB and PostgreSQL."""

from __future__ import annotations

import math
import os
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest
import yaml

from cadence.contract.entities import ENTITIES
from cadence.contract.schema import create_warehouse_tables
from cadence.contract.settings import SQL_DIR
from cadence.contract.warehouse import Warehouse
from cadence.models.account_health import score_account_health
from cadence.models.runner import build_staging, discover_models
from cadence.models.segments import assign_segments, segments_at
from cadence.policy import load_policy, parse_policy
from tests.conftest import POSTGRES_URL, ROOT, postgres_available

AS_OF = date(2026, 6, 15)


def _day(offset: int) -> str:
    return (AS_OF + timedelta(days=offset)).isoformat()


def _at(offset: int, hour: int = 12) -> str:
    """An ISO-8601 timestamp ``offset`` days from AS_OF, with a UTC offset like the sources."""
    moment = datetime.combine(AS_OF + timedelta(days=offset), datetime.min.time())
    return (moment + timedelta(hours=hour)).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _account(account_id, arr, contract_start, renewal_date, status="active",
             renewal_status="open", seats="10"):
    return {
        "account_id": account_id, "name": f"Company {account_id}", "country": "US",
        "timezone": "America/New_York", "arr": str(arr), "plan": "pro", "csm_id": "csm1",
        "contract_start": contract_start, "renewal_date": renewal_date,
        "seats_purchased": seats, "status": status, "renewal_status": renewal_status,
        "updated_at": "2026-06-01T08:00:00Z",
    }


def _contact(contact_id, account_id, is_primary):
    return {"contact_id": contact_id, "account_id": account_id,
            "email": f"{contact_id}@example.com", "role": "admin", "is_primary": is_primary,
            "updated_at": "2026-06-01T08:00:00Z"}


def _usage(account_id, first: int, last: int, active_users: int, logins: int, seats_used: int):
    rows = []
    for offset in range(first, last + 1):
        rows.append({"account_id": account_id, "usage_date": _day(offset),
                     "active_users": str(active_users), "logins": f"{logins}.0",
                     "events": "100", "feature": None, "seats_used": str(seats_used)})
        for feature in ("reports", "alerts"):
            rows.append({"account_id": account_id, "usage_date": _day(offset),
                         "active_users": "1", "logins": None, "events": "5",
                         "feature": feature, "seats_used": None})
    return rows


SOURCES: dict[str, list[dict]] = {
    "csms": [{"csm_id": "csm1", "name": "Casey", "email": "casey@example.com",
              "timezone": "Europe/Berlin", "weekly_capacity": "25"}],
    "accounts": [
        # strategic by ARR, renewal in 80 days and still open
        _account("strat", 800000, "2024-01-01", _day(80), seats="100"),
        # mid-market, renewal committed; two P1 tickets and a poor NPS in the last 14 days
        _account("risky", 30000, "2025-01-01", _day(300), renewal_status="committed"),
        # small and new: 20 days into its contract
        _account("onboard", 8000, _day(-20), _day(345), seats="5"),
        # enterprise whose admin answered NPS 10 yesterday
        _account("promo", 150000, "2025-03-01", _day(200), renewal_status="renewed"),
        # starts adoption on AS_OF: onboarding the day before
        _account("grad", 2000, _day(-90), _day(275)),
        _account("gone", 50000, "2024-05-01", _day(-10), status="churned",
                 renewal_status="lost"),
    ],
    "contacts": [_contact("c_strat", "strat", "yes"), _contact("c_risky", "risky", "0"),
                 _contact("c_onboard", "onboard", "True"), _contact("c_promo", "promo", None)],
    "usage_daily": (
        _usage("strat", -59, 0, active_users=60, logins=200, seats_used=95)
        + _usage("onboard", -19, 0, active_users=3, logins=10, seats_used=3)
        + _usage("promo", -40, -20, active_users=5, logins=5, seats_used=5)
    ),
    "support_tickets": [
        {"ticket_id": "t1", "account_id": "risky", "contact_id": "c_risky",
         "opened_at": _at(-3), "closed_at": None, "priority": "p1", "status": "open",
         "csat": None},
        {"ticket_id": "t2", "account_id": "risky", "contact_id": "c_risky",
         "opened_at": _at(-2), "closed_at": None, "priority": "p1", "status": "open",
         "csat": None},
        # closed long ago: neither open nor recent
        {"ticket_id": "t3", "account_id": "strat", "contact_id": "c_strat",
         "opened_at": "2026-03-07T14:00:00.250+02:00", "closed_at": "2026-03-12T09:00:00Z",
         "priority": "p1", "status": "closed",
         "csat": "1"},
    ],
    "nps_responses": [
        {"response_id": "n1", "contact_id": "c_risky", "score": "10", "responded_at": _at(-40)},
        {"response_id": "n2", "contact_id": "c_risky", "score": "5", "responded_at": _at(-5)},
        {"response_id": "n3", "contact_id": "c_promo", "score": "10", "responded_at": _at(-1)},
    ],
}


def record_sent_touches(warehouse) -> None:
    """Two touches sent to the onboarding account this week, one opened."""
    sent = pd.DataFrame({
        "touch_id": ["t_a", "t_b"], "plan_date": [AS_OF - timedelta(days=6)] * 2,
        "contact_id": ["c_onboard"] * 2, "account_id": ["onboard"] * 2,
        "channel": ["email"] * 2, "status": ["sent"] * 2,
        "scheduled_at": pd.to_datetime([_at(-5), _at(-3)], utc=True),
    })
    warehouse.write_frame("communication_calendar", sent, replace_all=True)
    events = [{"provider": "outbox", "provider_message_id": f"m_{t}", "touch_id": t,
               "event": event, "occurred_at": _at(offset, 13)}
              for t, event, offset in [("t_a", "delivered", -5), ("t_a", "open", -4),
                                       ("t_b", "delivered", -3)]]
    load_validated(warehouse, {"engagement_events": events})


def load_validated(warehouse, sources: dict[str, list[dict]] = SOURCES) -> None:
    """Write ``validated_<entity>`` tables as the quality step does: text columns."""
    for entity, rows in sources.items():
        columns = ENTITIES[entity].column_names
        frame = pd.DataFrame(rows).reindex(columns=columns).astype("object")
        frame = frame.where(frame.notna(), None)
        frame["_loaded_at"] = pd.Timestamp("2026-06-15T01:00:00Z")
        frame["_run_id"] = "test_run"
        warehouse.write_frame(f"validated_{entity}", frame, replace_all=True)


def run_nightly(warehouse, policy, as_of: date) -> None:
    build_staging(warehouse, policy, as_of)
    score_account_health(warehouse, policy, as_of)
    assign_segments(warehouse, policy, as_of)


def _health(warehouse, as_of: date = AS_OF) -> pd.DataFrame:
    return warehouse.read_frame(
        "select * from account_health where as_of_date = :d order by account_id", {"d": as_of}
    ).set_index("account_id")


def _segments(warehouse, as_of: date = AS_OF) -> dict[str, set[str]]:
    frame = segments_at(warehouse, as_of)
    return {acc: set(rows["segment_key"]) for acc, rows in frame.groupby("account_id")}


def _membership(warehouse) -> pd.DataFrame:
    return warehouse.read_frame(
        "select * from segment_membership"
        " order by account_id, segment_type, segment_key, valid_from"
    )


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def nightly(request, tmp_path_factory):
    """The sources loaded and the models built for the day before AS_OF and for AS_OF, once
    per engine for the whole module (the tests only read, or rerun idempotently)."""
    policy = load_policy(ROOT / "include" / "config" / "policy.yml")
    schema = None
    if request.param == "duckdb":
        wh = Warehouse(f"duckdb:///{tmp_path_factory.mktemp('models') / 'warehouse.duckdb'}")
    else:
        reason = postgres_available()
        if reason:
            if os.environ.get("CI"):
                pytest.fail(reason)
            pytest.skip(reason)
        schema = f"cadence_t_{uuid.uuid4().hex[:10]}"
        wh = Warehouse(POSTGRES_URL, schema=schema)
    create_warehouse_tables(wh)
    load_validated(wh)
    record_sent_touches(wh)
    run_nightly(wh, policy, AS_OF - timedelta(days=1))
    run_nightly(wh, policy, AS_OF)
    yield wh
    if schema:
        wh.execute(f"drop schema {schema} cascade")
    wh.engine.dispose()


def test_staging_keeps_contract_names_and_types_every_value(nightly):
    accounts = nightly.read_frame("select * from stg_accounts order by account_id")
    assert list(accounts.columns) == ENTITIES["accounts"].column_names + ["_loaded_at", "_run_id"]
    strat = accounts.set_index("account_id").loc["strat"]
    assert strat["arr"] == 800000.0
    assert strat["seats_purchased"] == 100
    assert strat["renewal_date"] == AS_OF + timedelta(days=80)
    assert strat["updated_at"] == pd.Timestamp("2026-06-01T08:00:00Z")
    usage = nightly.read_frame("select logins from stg_usage_daily where logins is not null")
    assert set(usage["logins"]) == {200, 10, 5}  # "200.0" in the source
    contacts = nightly.read_frame("select contact_id, is_primary from stg_contacts")
    assert dict(zip(contacts["contact_id"], contacts["is_primary"], strict=True)) == {
        "c_strat": True, "c_risky": False, "c_onboard": True, "c_promo": None}
    ticket = nightly.read_frame("select * from stg_support_tickets where ticket_id = 't3'")
    assert ticket["opened_at"].iloc[0] == pd.Timestamp("2026-03-07T12:00:00.250Z")
    assert ticket["closed_at"].iloc[0] == pd.Timestamp("2026-03-12T09:00:00Z")
    assert ticket["csat"].iloc[0] == 1
    assert nightly.count("stg_engagement_events") == 3


def test_strategic_account_renewing_in_80_days_is_strategic_and_renewal(nightly):
    segments = _segments(nightly)
    assert {"strategic", "renewal"} <= segments["strat"]
    assert "expansion_ready" in segments["strat"]  # 95 of 100 seats in use
    health = _health(nightly).loc["strat"]
    assert health["band"] == "green"
    assert health["commercial"] < 100  # open renewal inside the 90-day risk window


def test_red_account_that_dropped_20_points_is_at_risk(nightly, policy):
    health = _health(nightly).loc["risky"]
    weights = policy.health.weights
    # two open P1 tickets take support from 100 to 20; the latest NPS (5) replaces a 10
    expected_delta = weights.support * (20 - 100) + weights.sentiment * (50 - 100)
    assert health["score_delta_14d"] == pytest.approx(expected_delta, abs=0.05)
    assert health["score_delta_14d"] == pytest.approx(-19.5, abs=0.05)
    assert health["band"] == "red"
    assert {"at_risk", "detractor", "mid_market", "mature"} <= _segments(nightly)["risky"]


def test_new_small_account_is_onboarding_smb(nightly):
    assert {"smb", "onboarding"} <= _segments(nightly)["onboard"]
    assert not {"inactive", "silent"} & _segments(nightly)["onboard"]


def test_opened_messages_count_toward_engagement(nightly, policy):
    share = policy.health.message_engagement_share
    # logins alone score 100; one of the two delivered messages was opened (50)
    assert _health(nightly).loc["onboard", "engagement"] == pytest.approx(
        (1 - share) * 100 + share * 50, abs=0.05)


def test_fresh_nps_10_makes_a_promoter_and_old_usage_makes_inactive(nightly):
    segments = _segments(nightly)["promo"]
    assert {"enterprise", "promoter", "inactive", "silent", "mature"} <= segments
    assert "detractor" not in segments


def test_churned_account_gets_no_score_but_the_churned_stage(nightly):
    assert "gone" not in _health(nightly).index
    assert _segments(nightly)["gone"] == {"mid_market", "churned"}


def test_account_leaving_a_segment_gets_valid_to(nightly):
    rows = _membership(nightly)
    grad = rows[(rows.account_id == "grad") & (rows.segment_type == "stage")]
    onboarding = grad[grad.segment_key == "onboarding"].iloc[0]
    adoption = grad[grad.segment_key == "adoption"].iloc[0]
    assert onboarding["valid_from"] == AS_OF - timedelta(days=1)
    assert onboarding["valid_to"] == AS_OF
    assert not onboarding["is_current"]
    assert adoption["valid_from"] == AS_OF
    assert pd.isna(adoption["valid_to"]) and adoption["is_current"]
    assert _segments(nightly, AS_OF - timedelta(days=1))["grad"] >= {"onboarding"}


def test_rerunning_a_date_leaves_identical_tables(nightly, policy):
    tables = ["account_health", "segment_daily", "segment_membership", "int_account_facts"]
    before = {t: nightly.read_table(t) for t in tables}
    run_nightly(nightly, policy, AS_OF)
    for table in tables:
        after = nightly.read_table(table)
        keys = list(after.columns)
        pd.testing.assert_frame_equal(
            before[table].sort_values(keys).reset_index(drop=True),
            after.sort_values(keys).reset_index(drop=True),
        )


def test_backfill_in_reverse_order_gives_the_same_history(warehouse, policy):
    days = [AS_OF - timedelta(days=n) for n in range(3)]
    load_validated(warehouse)
    for day in days:  # newest first
        run_nightly(warehouse, policy, day)
    reverse = _membership(warehouse)
    health_reverse = warehouse.read_table("account_health")
    for day in sorted(days):
        run_nightly(warehouse, policy, day)
    pd.testing.assert_frame_equal(reverse, _membership(warehouse))
    keys = ["account_id", "as_of_date"]
    pd.testing.assert_frame_equal(
        health_reverse.sort_values(keys).reset_index(drop=True),
        warehouse.read_table("account_health").sort_values(keys).reset_index(drop=True),
    )


def _canonical(value):
    """One engine-neutral form of a cell: numbers as float, instants as UTC ISO text."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int | float | Decimal) or hasattr(value, "dtype"):
        return float(value)
    if isinstance(value, datetime):
        moment = pd.Timestamp(value)
        return (moment.tz_convert("UTC") if moment.tzinfo else moment).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _sort_key(row: tuple) -> tuple:
    # None first; floats rounded so engines' last-bit differences cannot reorder rows.
    return tuple((v is not None, round(v, 6) if isinstance(v, float) else v) for v in row)


def _rows(frame: pd.DataFrame) -> list[tuple]:
    rows = [tuple(_canonical(v) for v in row) for row in frame.itertuples(index=False)]
    return sorted(rows, key=_sort_key)


def _same_cell(left, right) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-6)
    return left == right


def assert_same_table(table: str, duck: pd.DataFrame, pg: pd.DataFrame) -> None:
    """Equal columns and equal rows (sorted on every column, floats within 1e-6), or an
    error naming the table and its first differing row."""
    assert list(duck.columns) == list(pg.columns), f"{table}: columns differ"
    duck_rows, pg_rows = _rows(duck), _rows(pg)
    for number, (d, p) in enumerate(zip(duck_rows, pg_rows, strict=False)):
        if not all(_same_cell(a, b) for a, b in zip(d, p, strict=True)):
            differing = [c for c, a, b in zip(duck.columns, d, p, strict=True)
                         if not _same_cell(a, b)]
            raise AssertionError(f"{table}: sorted row {number} differs in {differing}:\n"
                                 f"  duckdb   {dict(zip(duck.columns, d, strict=True))}\n"
                                 f"  postgres {dict(zip(pg.columns, p, strict=True))}")
    assert len(duck_rows) == len(pg_rows), (
        f"{table}: {len(duck_rows)} rows on DuckDB, {len(pg_rows)} on PostgreSQL")


def test_duckdb_and_postgres_give_the_same_numbers(warehouse, pg_warehouse, policy):
    # Two days (so deltas and SCD2 history exist) with engagement; then every model of every
    # layer, staging to marts, must hold the same rows on both engines.
    for wh in (warehouse, pg_warehouse):
        load_validated(wh)
        record_sent_touches(wh)
        run_nightly(wh, policy, AS_OF - timedelta(days=1))
        run_nightly(wh, policy, AS_OF)
    compared = []
    for name in discover_models():
        duck = warehouse.read_frame(f"select * from {name}")
        assert_same_table(name, duck, pg_warehouse.read_frame(f"select * from {name}"))
        compared.append((name, len(duck)))
    rows = dict(compared)
    assert rows["account_health"] == 2 * 5 and rows["segment_membership"] > 0, rows


def test_every_table_has_exactly_the_documented_columns(warehouse, policy):
    load_validated(warehouse)
    run_nightly(warehouse, policy, AS_OF)
    assert warehouse.count("stg_preferences") == 0  # no file yet: staged as an empty table
    catalog = discover_models()
    for layer in ("staging", "intermediate", "marts"):
        documented = yaml.safe_load((SQL_DIR / layer / "schema.yml").read_text())["models"]
        for entry in documented:
            assert entry["name"] in catalog
            columns = list(warehouse.read_frame(f"select * from {entry['name']} limit 0").columns)
            assert columns == [c["name"] for c in entry["columns"]], entry["name"]


def test_an_account_named_in_policy_is_strategic_whatever_its_arr(warehouse):
    policy = parse_policy({"segments": {"strategic_accounts": ["onboard"]}})
    load_validated(warehouse)
    run_nightly(warehouse, policy, AS_OF)
    tiers = segments_at(warehouse, AS_OF).query("segment_type == 'tier'")
    assert dict(zip(tiers["account_id"], tiers["segment_key"], strict=True))["onboard"] == (
        "strategic")
