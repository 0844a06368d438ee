"""The CRM connectors end to end through Airflow (issue 5 acceptance): ``cadence_nightly``
reading accounts, contacts and CSMs from a local HubSpot stand-in plans what the plain files
source plans, and pushes each day's CSM tasks to HubSpot once, on live runs only."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml

from cadence.candidates.policy import HUMAN_CHANNELS
from cadence.connectors.policy import ConnectorsPolicy
from cadence.contract.settings import PROJECT_ROOT
from cadence.contract.warehouse import Warehouse
from cadence.devtools.airflow_cli import dags_test, prepare_metadata
from cadence.devtools.sample import generate_sample, write_sample
from cadence.policy import parse_policy
from tests.integration.crm_stand_ins import TOKEN, FakeHubSpot, serve

pytestmark = [pytest.mark.airflow_run, pytest.mark.xdist_group("airflow-connectors")]

AS_OF = date(2026, 11, 23)
ACCOUNTS = 40
SEED = 7
PAGE_SIZE = 10  # 40 companies, 40 deals and ~200 contacts come in several pages each
TASKS = "/crm/v3/objects/tasks"

# HubSpot has no standard property for these contract columns; a portal admin creates
# custom properties and the policy maps them, so the CRM carries the whole account.
CUSTOM_COMPANY = {"timezone": "cadence_timezone", "plan": "cadence_plan",
                  "seats_purchased": "cadence_seats_purchased"}
CUSTOM_CONTACT = {"role": "cadence_role", "timezone": "cadence_timezone",
                  "is_primary": "cadence_is_primary"}


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("airflow-home")
    prepare_metadata(home)
    return home


@pytest.fixture
def hubspot_serving():
    """Start stand-in HubSpots holding a sample's accounts, contacts and CSMs."""
    servers = []

    def start(frames: dict[str, pd.DataFrame]) -> FakeHubSpot:
        fake = FakeHubSpot(custom_properties={"companies": set(CUSTOM_COMPANY.values()),
                                              "contacts": set(CUSTOM_CONTACT.values())})
        load_crm(fake, frames)
        servers.append(serve(fake))
        return fake

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _crm_value(mapping: dict[str, str], value: str | None) -> str | None:
    """The CRM value the policy translates into ``value`` (the first listed)."""
    for crm_value, cadence_value in mapping.items():
        if cadence_value == value:
            return crm_value
    return value


def _modified_ms(text: str | None) -> int:
    stamp = pd.to_datetime(text, utc=True, errors="coerce")
    return 0 if pd.isna(stamp) else stamp.value // 1_000_000


def _put(fake: FakeHubSpot, object_type: str, object_id: str, updated_at: str | None,
         **properties) -> None:
    if object_id in fake.objects[object_type]:
        return  # HubSpot ids are unique: the CRM holds the first of the sample's duplicates
    fake.put(object_type, object_id, _modified_ms(updated_at), **properties)
    if _modified_ms(updated_at) == 0:
        # The sample's unparseable time reaches the connector as it is, to be quarantined.
        record = fake.objects[object_type][object_id]
        modified = "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"
        record["properties"][modified] = record["updatedAt"] = updated_at


def load_crm(fake: FakeHubSpot, frames: dict[str, pd.DataFrame]) -> None:
    """The sample's csms as owners, accounts as companies each with one renewal deal, and
    contacts associated with their company, as a HubSpot portal would hold them."""
    mapping = ConnectorsPolicy().hubspot
    status = mapping.company.values["status"]
    stage = mapping.deal.values["renewal_status"]
    fake.owners = [
        {"id": row.csm_id, "firstName": (row.name or "").split(" ", 1)[0] or None,
         "lastName": (row.name or " ").split(" ", 1)[1] or None, "email": row.email,
         "type": "PERSON", "archived": False, "createdAt": "2025-01-01T00:00:00Z",
         "updatedAt": "2025-01-01T00:00:00Z"}
        for row in frames["csms"].itertuples()
    ]
    for row in frames["accounts"].itertuples():
        _put(fake, "companies", row.account_id, row.updated_at, name=row.name,
             industry=row.industry, country=row.country, hubspot_owner_id=row.csm_id,
             lifecyclestage=_crm_value(status, row.status),
             hs_lifecyclestage_customer_date=row.contract_start,
             **{CUSTOM_COMPANY[c]: getattr(row, c) for c in CUSTOM_COMPANY})
        _put(fake, "deals", f"deal-{row.account_id}", row.updated_at,
             companies=[row.account_id], closedate=row.renewal_date, amount=row.arr,
             dealstage=_crm_value(stage, row.renewal_status), pipeline="default")
    for row in frames["contacts"].itertuples():
        _put(fake, "contacts", row.contact_id, row.updated_at, companies=[row.account_id],
             email=row.email, firstname=row.first_name, lastname=row.last_name,
             hs_language=row.locale, phone=row.phone, associatedcompanyid=row.account_id,
             **{CUSTOM_CONTACT[c]: getattr(row, c) for c in CUSTOM_CONTACT})


def hubspot_policy(path: Path) -> Path:
    """The shipped policy with accounts, contacts and csms read from HubSpot and CSM tasks
    pushed there."""
    policy = yaml.safe_load((PROJECT_ROOT / "include" / "config" / "policy.yml").read_text())
    policy["sources"]["entities"] = {"accounts": "hubspot", "contacts": "hubspot",
                                     "csms": "hubspot"}
    hubspot = policy["connectors"]["hubspot"]
    hubspot["page_size"] = PAGE_SIZE
    hubspot["company"]["columns"].update(CUSTOM_COMPANY)
    hubspot["contact"]["columns"].update(CUSTOM_CONTACT)
    policy["connectors"]["crm_tasks"]["crm"] = "hubspot"
    parse_policy(policy)
    path.write_text(yaml.safe_dump(policy, sort_keys=False))
    return path


def _env(tmp_path: Path, name: str, sources: Path, **extra: str) -> dict[str, str]:
    return {"CADENCE_WAREHOUSE_URL": f"duckdb:///{tmp_path / name}.duckdb",
            "CADENCE_SOURCE_DIR": str(sources), "CADENCE_OUT_DIR": str(tmp_path / name),
            **extra}


def _hubspot_env(tmp_path: Path, name: str, sources: Path, fake: FakeHubSpot) -> dict:
    connection = {"conn_type": "http", "host": fake.url, "password": TOKEN}
    return _env(tmp_path, name, sources,
                CADENCE_POLICY=str(hubspot_policy(tmp_path / "hubspot-policy.yml")),
                AIRFLOW_CONN_HUBSPOT_DEFAULT=json.dumps(connection))


def marts(url: str, as_of: date) -> dict[str, pd.DataFrame]:
    """What an analyst compares: health, current segments and the planned touches."""
    warehouse = Warehouse(url)
    health = warehouse.read_table("account_health", {"as_of_date": as_of})
    segments = warehouse.read_table("segment_membership")
    calendar = warehouse.read_table("communication_calendar", {"plan_date": as_of})
    warehouse.engine.dispose()
    frames = {
        "account_health": health[["account_id", "score", "band"]].assign(
            score=health["score"].astype(float).round(6)),
        "segment_membership": segments[segments["is_current"].astype(bool)][
            ["account_id", "segment_type", "segment_key", "valid_from"]],
        "communication_calendar": calendar[["touch_id", "channel", "status", "scheduled_at"]],
    }
    return {name: frame.sort_values(list(frame.columns)).reset_index(drop=True)
            for name, frame in frames.items()}


def test_hubspot_source_plans_what_the_files_source_plans(airflow_home, hubspot_serving,
                                                          tmp_path):
    sources = tmp_path / "sources"
    write_sample(sources, accounts=ACCOUNTS, seed=SEED, as_of=AS_OF)
    fake = hubspot_serving(generate_sample(ACCOUNTS, SEED, AS_OF))

    hubspot_env = _hubspot_env(tmp_path, "hubspot", sources, fake)
    dags_test("cadence_nightly", AS_OF, airflow_home, env=hubspot_env)
    files_env = _env(tmp_path, "files", sources)
    dags_test("cadence_nightly", AS_OF, airflow_home, env=files_env)

    listed = [path for method, path, _ in fake.requests if method == "GET"]
    for object_type in ("companies", "deals", "contacts"):
        # every page of the first (full) load, plus the one listing of archived objects
        pages = -(-len(fake.objects[object_type]) // PAGE_SIZE)
        assert listed.count(f"/crm/v3/objects/{object_type}") == pages + 1, object_type
    from_hubspot = marts(hubspot_env["CADENCE_WAREHOUSE_URL"], AS_OF)
    from_files = marts(files_env["CADENCE_WAREHOUSE_URL"], AS_OF)
    assert len(from_hubspot["account_health"]) > 0
    for name in ("account_health", "segment_membership"):
        pd.testing.assert_frame_equal(from_hubspot[name], from_files[name], obj=name)

    # HubSpot owners carry no weekly capacity, so the CSMs' human touches are levelled under
    # the policy default (25 a week) instead of the sample's own capacities: every other
    # touch matches exactly, and the human ones HubSpot's run plans are the files run's.
    hubspot_human, hubspot_rest = _split_human(from_hubspot["communication_calendar"])
    files_human, files_rest = _split_human(from_files["communication_calendar"])
    assert (hubspot_rest["status"] == "scheduled").any()
    pd.testing.assert_frame_equal(hubspot_rest, files_rest, obj="calendar (automated)")
    # HubSpot owners carry no timezone either (unless mapped to a custom property), so a
    # call's time follows the policy default zone instead of the CSM's: the same calls
    # are planned, at other times of day.
    assert len(hubspot_human) > 0
    same = ["touch_id", "channel", "status"]
    assert set(hubspot_human[same].itertuples(index=False)) <= set(
        files_human[same].itertuples(index=False))


def _split_human(calendar: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    human = calendar["channel"].isin(HUMAN_CHANNELS)
    return (calendar[human].reset_index(drop=True), calendar[~human].reset_index(drop=True))


def _task_calls(fake: FakeHubSpot) -> tuple[int, int]:
    creates = sum(1 for method, path, _ in fake.requests if method == "POST" and path == TASKS)
    updates = sum(1 for method, path, _ in fake.requests
                  if method == "PATCH" and path.startswith(TASKS + "/"))
    return creates, updates


def _owner_company_contact(fake: FakeHubSpot) -> list[tuple]:
    """Each HubSpot task as (owner, associated company, associated contact)."""
    policy = ConnectorsPolicy().crm_tasks
    rows = []
    for task in fake.objects["tasks"].values():
        linked = {a["types"][0]["associationTypeId"]: a["to"]["id"]
                  for a in task["associations"]}
        rows.append((task["properties"].get("hubspot_owner_id"),
                     linked.get(policy.hubspot_company_association),
                     linked.get(policy.hubspot_contact_association)))
    return sorted(rows, key=str)


def test_csm_tasks_are_pushed_once_and_only_by_a_live_run(airflow_home, hubspot_serving,
                                                          tmp_path):
    today = datetime.now(UTC).date()  # the push happens only on a run about the present
    sources = tmp_path / "sources"
    write_sample(sources, accounts=ACCOUNTS, seed=SEED, as_of=today)
    fake = hubspot_serving(generate_sample(ACCOUNTS, SEED, today))
    env = _hubspot_env(tmp_path, "hubspot", sources, fake)

    dags_test("cadence_nightly", today, airflow_home, env=env)
    warehouse = Warehouse(env["CADENCE_WAREHOUSE_URL"])
    planned = warehouse.read_table("csm_tasks", {"plan_date": today})
    warehouse.engine.dispose()
    assert len(planned) > 0
    assert _task_calls(fake) == (len(planned), 0)
    # a queue's task has no HubSpot owner unless policy names one (crm_owner_id)
    planned["crm_owner"] = planned["csm_id"].where(planned["owner_type"] != "queue")
    expected = planned[["crm_owner", "account_id", "contact_id"]].astype(object)
    expected = expected.where(expected.notna(), None)
    assert _owner_company_contact(fake) == sorted(expected.itertuples(index=False, name=None),
                                                  key=str)

    fake.requests.clear()
    dags_test("cadence_nightly", today, airflow_home, env=env)
    assert _task_calls(fake) == (0, len(planned))  # the rerun updates, creates none
    assert len(fake.objects["tasks"]) == len(planned)
    # The rerun's extract is incremental: it searches what changed instead of listing all.
    assert ("POST", "/crm/v3/objects/contacts/search") in {(m, p) for m, p, _ in fake.requests}

    fake.requests.clear()
    dags_test("cadence_nightly", today - timedelta(days=7), airflow_home, env=env)
    assert _task_calls(fake) == (0, 0)  # a run about the past pushes nothing
