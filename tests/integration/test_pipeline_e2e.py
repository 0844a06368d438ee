"""End to end through Airflow: `airflow dags test` of cadence_nightly then cadence_hourly on
sample data, on the embedded DuckDB warehouse and on PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from cadence.devtools.airflow_cli import dags_test, prepare_metadata

pytestmark = [pytest.mark.airflow_run, pytest.mark.xdist_group("airflow-pipeline")]

AS_OF = date(2026, 11, 23)
# The sample carries broken consent rows on purpose: the hourly check fails, sends go on.
CONSENT_CHECK = {"check_consent_rows"}
COMPARED = ("account_health", "segment_membership", "quarantine", "touch_candidates",
            "communication_calendar", "calendar_decisions", "csm_tasks")


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("airflow-home")
    prepare_metadata(home)
    return home


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> Path:
    from cadence.devtools.sample import write_sample

    out = tmp_path_factory.mktemp("sources")
    write_sample(out, accounts=60, seed=11, as_of=AS_OF)
    return out


def _env(url: str, sources: Path, out_dir: Path, schema: str | None = None) -> dict[str, str]:
    env = {
        "CADENCE_WAREHOUSE_URL": url,
        "CADENCE_SOURCE_DIR": str(sources),
        "CADENCE_OUT_DIR": str(out_dir),
    }
    if schema:
        env["CADENCE_WAREHOUSE_SCHEMA"] = schema
    return env


def _snapshot(warehouse) -> dict[str, pd.DataFrame]:
    from cadence.devtools.warehouse_compare import snapshot

    return {table: snapshot(warehouse, table) for table in COMPARED}


def _check_nightly_outputs(warehouse, out_dir: Path) -> None:
    health = warehouse.read_table("account_health", {"as_of_date": AS_OF})
    assert len(health) > 0
    assert health["score"].between(0, 100).all()
    assert set(health["band"]) <= {"green", "yellow", "red"}
    assert not health.duplicated(["account_id", "as_of_date"]).any()
    segments = warehouse.read_table("segment_membership")
    assert {"tier", "stage"} <= set(segments["segment_type"])
    assert warehouse.count("quarantine") > 0  # the sample's dirty rows
    candidates = warehouse.read_table("touch_candidates", {"plan_date": AS_OF})
    decisions = warehouse.read_table("calendar_decisions", {"plan_date": AS_OF})
    assert len(candidates) > 0
    # every candidate has exactly one decision
    assert sorted(decisions["touch_id"]) == sorted(candidates["touch_id"])
    calendar = warehouse.read_table("communication_calendar", {"plan_date": AS_OF})
    assert (calendar["status"] == "scheduled").any()
    assert not calendar.duplicated(["touch_id"]).any()
    tasks = warehouse.read_table("csm_tasks", {"plan_date": AS_OF})
    assert len(tasks) and tasks["csm_id"].notna().all() and tasks["contact_name"].notna().all()
    feeds = {p.stem for p in (out_dir / "csm_tasks").glob("*.ics")}
    assert feeds == set(tasks["csm_id"])  # one live feed per owner, queues included
    assert (out_dir / "reports" / f"plan_{AS_OF.isoformat()}.html").exists()


def test_nightly_on_duckdb_twice_gives_identical_tables(airflow_home, sources, tmp_path):
    from cadence.contract.warehouse import Warehouse

    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    env = _env(url, sources, tmp_path / "out")
    dags_test("cadence_nightly", AS_OF, airflow_home, env=env)
    warehouse = Warehouse(url)
    _check_nightly_outputs(warehouse, tmp_path / "out")
    first = _snapshot(warehouse)
    warehouse.engine.dispose()

    dags_test("cadence_nightly", AS_OF, airflow_home, env=env)
    warehouse = Warehouse(url)
    second = _snapshot(warehouse)
    for table in COMPARED:
        pd.testing.assert_frame_equal(first[table], second[table], obj=table)
    warehouse.engine.dispose()


@pytest.mark.postgres
def test_nightly_on_postgres_matches_duckdb(airflow_home, sources, tmp_path, pg_schema):
    from cadence.contract.warehouse import Warehouse
    from tests.conftest import POSTGRES_URL

    pg_env = _env(POSTGRES_URL, sources, tmp_path / "pg-out", schema=pg_schema)
    dags_test("cadence_nightly", AS_OF, airflow_home, env=pg_env)
    postgres = Warehouse(POSTGRES_URL, schema=pg_schema)
    _check_nightly_outputs(postgres, tmp_path / "pg-out")

    duck_url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    dags_test("cadence_nightly", AS_OF, airflow_home,
              env=_env(duck_url, sources, tmp_path / "duck-out"))
    duck = Warehouse(duck_url)
    for table in ("account_health", "segment_membership", "calendar_decisions"):
        left = _snapshot(postgres)[table]
        right = _snapshot(duck)[table]
        assert len(left) == len(right), table
    health_pg = postgres.read_table("account_health").sort_values("account_id")
    health_duck = duck.read_table("account_health").sort_values("account_id")
    assert health_pg["score"].round(6).tolist() == health_duck["score"].round(6).tolist()
    postgres.engine.dispose()
    duck.engine.dispose()


def _outbox_touch_ids(out_dir: Path) -> list[str]:
    ids = []
    for path in sorted((out_dir / "outbox").rglob("*.jsonl")):
        for line in path.read_text().splitlines():
            ids.append(json.loads(line)["touch_id"])
    return ids


def test_nightly_then_hourly_sends_due_touches_once(airflow_home, sources, tmp_path):
    """The outbox holds exactly the due touches; an unsubscribe between the runs removes
    that contact's non-transactional touches; a rerun sends nothing new; a run for last
    week sends nothing."""
    from cadence.contract.warehouse import Warehouse

    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    out_dir = tmp_path / "out"
    env = _env(url, sources, out_dir)
    dags_test("cadence_nightly", AS_OF, airflow_home, env=env)

    warehouse = Warehouse(url)
    calendar = warehouse.read_table("communication_calendar", {"plan_date": AS_OF})
    scheduled = calendar[calendar["status"] == "scheduled"].copy()
    scheduled["scheduled_at"] = pd.to_datetime(scheduled["scheduled_at"], utc=True)
    first_day = scheduled["scheduled_at"].min().floor("D").to_pydatetime()
    window_start = first_day  # the hourly run whose window holds the first due touches
    lookahead = timedelta(hours=48)
    due = scheduled[
        (scheduled["scheduled_at"] >= window_start)
        & (scheduled["scheduled_at"] < window_start + lookahead)
        & scheduled["channel"].isin(["email", "in_app", "sms"])  # what providers send
    ]
    # unsubscribe one due contact between the runs (non-transactional touches must go)
    victim = due.sort_values("touch_id")["contact_id"].iloc[0]
    warehouse.engine.dispose()
    suppressions = pd.read_csv(sources / "suppressions.csv", dtype=str)
    extra = pd.DataFrame([{"contact_id": victim, "reason": "unsubscribe", "scope": "all",
                           "created_at": (window_start - timedelta(minutes=5)).isoformat()}])
    hourly_sources = tmp_path / "sources-after-unsubscribe"
    hourly_sources.mkdir()
    for path in sources.iterdir():
        if path.is_file():
            (hourly_sources / path.name).write_bytes(path.read_bytes())
    pd.concat([suppressions, extra]).to_csv(hourly_sources / "suppressions.csv", index=False)
    hourly_env = _env(url, hourly_sources, out_dir)

    # AS_OF is a fixed day, so the run is replayed through the outbox (simulation)
    run_at = window_start
    conf = {"lookahead_hours": 48, "simulation": True}
    dags_test("cadence_hourly", run_at, airflow_home, env=hourly_env, conf=conf,
              allowed_failures=CONSENT_CHECK)
    sent = _outbox_touch_ids(out_dir)
    warehouse = Warehouse(url)
    held = set(warehouse.read_table("consent_holds")["contact_id"].dropna())
    warehouse.engine.dispose()
    expected = due[((due["contact_id"] != victim) | (due["message_type"] == "transactional"))
                   & ~due["contact_id"].isin(held)]
    assert sorted(sent) == sorted(expected["touch_id"])
    assert len(sent) == len(set(sent))
    warehouse = Warehouse(url)
    after = warehouse.read_table("communication_calendar", {"plan_date": AS_OF})
    victims = after[(after["contact_id"] == victim) & (after["message_type"] != "transactional")
                    & after["touch_id"].isin(due["touch_id"])]
    assert set(victims["status"]) == {"cancelled"}
    decisions = warehouse.read_table("calendar_decisions", {"plan_date": AS_OF})
    assert decisions["touch_id"].is_unique  # the hourly outcome replaced the plan's decision
    assert set(decisions[decisions["touch_id"].isin(victims["touch_id"])]["rule"]) == {
        "1.consent"}
    warehouse.engine.dispose()

    dags_test("cadence_hourly", run_at, airflow_home, env=hourly_env, conf=conf,
              allowed_failures=CONSENT_CHECK)
    assert sorted(_outbox_touch_ids(out_dir)) == sorted(sent)  # rerun sends nothing new

    last_week = datetime.combine(AS_OF - timedelta(days=7), datetime.min.time(), tzinfo=UTC)
    dags_test("cadence_hourly", last_week, airflow_home, env=hourly_env,
              conf={"lookahead_hours": 48}, allowed_failures=CONSENT_CHECK)
    assert sorted(_outbox_touch_ids(out_dir)) == sorted(sent)  # the past sends nothing
    warehouse.engine.dispose()
    checked = Warehouse(url)
    _check_data_dictionary(checked)
    checked.engine.dispose()  # DuckDB has one writer: the next `dags test` needs the file

    # a run dated a week ahead of the wall clock is not live either: nothing sent, and
    # nothing in between dropped as stale
    before = _statuses(url)
    ahead = (datetime.now(UTC) + timedelta(days=7)).replace(minute=0, second=0, microsecond=0)
    dags_test("cadence_hourly", ahead, airflow_home, env=hourly_env,
              conf={"lookahead_hours": 48}, allowed_failures=CONSENT_CHECK)
    assert sorted(_outbox_touch_ids(out_dir)) == sorted(sent)
    assert _statuses(url) == before


def _statuses(url: str) -> dict:
    from cadence.contract.warehouse import Warehouse

    warehouse = Warehouse(url)
    calendar = warehouse.read_table("communication_calendar")
    decisions = warehouse.read_table("calendar_decisions")
    warehouse.engine.dispose()
    return {"status": calendar["status"].value_counts().to_dict(),
            "rules": decisions["rule"].value_counts().to_dict()}


def test_an_erased_contact_leaves_no_trace_in_any_table_or_file(airflow_home, sources,
                                                                tmp_path):
    """Through Airflow: plan, send, then erase a contact who was sent to; no table and no
    file under CADENCE_OUT_DIR holds its address or name, also after the next nightly load
    of the same CRM export."""
    from cadence.contract.warehouse import Warehouse
    from tests.integration.test_erasure import hits

    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    out_dir = tmp_path / "out"
    copy = tmp_path / "sources"
    copy.mkdir()
    for path in sources.iterdir():
        if path.is_file():
            (copy / path.name).write_bytes(path.read_bytes())
    env = _env(url, copy, out_dir)
    dags_test("cadence_nightly", AS_OF, airflow_home, env=env)
    warehouse = Warehouse(url)
    calendar = warehouse.read_table("communication_calendar", {"plan_date": AS_OF})
    warehouse.engine.dispose()
    first_day = pd.to_datetime(calendar["scheduled_at"], utc=True).min().floor("D")
    conf = {"lookahead_hours": 168, "simulation": True}
    dags_test("cadence_hourly", first_day.to_pydatetime(), airflow_home, env=env, conf=conf,
              allowed_failures=CONSENT_CHECK)

    # the victim: someone sent to, with a name no other contact shares
    contacts = pd.read_csv(copy / "contacts.csv", dtype=str)
    full = contacts["first_name"] + " " + contacts["last_name"]
    unique = contacts[~full.duplicated(keep=False) & contacts["first_name"].notna()]
    sent = {json.loads(line)["contact_id"] for p in (out_dir / "outbox").rglob("*.jsonl")
            for line in p.read_text().splitlines()}
    victim = unique[unique["contact_id"].isin(sent)].iloc[0]
    email = victim["email"].lower()
    name = f"{victim['first_name']} {victim['last_name']}".lower()
    before = Warehouse(url)
    assert len(hits(before, out_dir, (email, name))) >= 3  # raw, staged, outbox at least
    before.engine.dispose()

    suppressions = pd.read_csv(copy / "suppressions.csv", dtype=str)
    request = pd.DataFrame([{"email": f" {victim['email'].upper()} ", "reason": "erasure",
                             "created_at": (first_day + pd.Timedelta(hours=1)).isoformat()}])
    pd.concat([suppressions, request]).to_csv(copy / "suppressions.csv", index=False)
    dags_test("cadence_hourly", first_day.to_pydatetime(), airflow_home, env=env, conf=conf,
              allowed_failures=CONSENT_CHECK)
    warehouse = Warehouse(url)
    assert hits(warehouse, out_dir, (email, name)) == []
    proof = warehouse.read_table("erasure_log")
    mine = proof[proof["contact_id"] == victim["contact_id"]]
    assert len(mine) == 1 and "outbox/" in mine["files"].iloc[0]
    assert "raw_contacts" in mine["tables"].iloc[0] and "deliveries" in mine["tables"].iloc[0]
    warehouse.engine.dispose()

    # the next nightly loads the same export: the contact stays pseudonymised, unplanned
    dags_test("cadence_nightly", AS_OF, airflow_home, env=env)
    warehouse = Warehouse(url)
    assert hits(warehouse, out_dir, (email, name)) == []
    replanned = warehouse.read_table("communication_calendar", {"plan_date": AS_OF})
    theirs = replanned[replanned["contact_id"] == victim["contact_id"]]
    assert "scheduled" not in set(theirs["status"])  # nothing is planned for them again
    warehouse.engine.dispose()


def _check_data_dictionary(warehouse) -> None:
    """Every table and column the nightly and hourly runs wrote is in the dbt-format data
    dictionary, and its not_null / accepted_values tests pass on the data."""
    from cadence.contract.data_dictionary import check_warehouse, load_dictionary, run_data_tests

    dictionary = load_dictionary()
    problems = check_warehouse(warehouse, dictionary)
    assert not problems, "data dictionary incomplete (then run `python -m cadence docs`):\n" + (
        "\n".join(problems))
    failures = run_data_tests(warehouse, dictionary)
    assert not failures, "\n".join(failures)
