"""The HubSpot connector against a local stand-in serving HubSpot's real response shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pytest

from cadence.connectors.field_mapping import MappingError
from cadence.connectors.http import Credentials, airflow_credentials
from cadence.connectors.hubspot import HubSpotClient, HubSpotSource
from cadence.connectors.policy import HttpPolicy, HubSpotPolicy
from cadence.connectors.watermarks import get_watermark, reset_watermark
from cadence.contract.entities import ENTITIES
from cadence.sources.base import SourceError
from tests.integration import crm_stand_ins
from tests.integration.crm_stand_ins import TOKEN, FakeHubSpot

hubspot = crm_stand_ins.hubspot  # the stand-in fixture

FAST = HttpPolicy(retries=3, backoff_seconds=0, max_backoff_seconds=0, timeout_seconds=5)


def make_source(fake, warehouse, policy=None, when="2026-11-20T02:00:00+00:00", run="r1",
                threshold=0.05):
    policy = policy or HubSpotPolicy(page_size=2)
    client = HubSpotClient(Credentials(fake.url, None, TOKEN), FAST, policy.page_size,
                           policy.search_limit)
    return HubSpotSource(warehouse, policy, client, run, datetime.fromisoformat(when),
                         lambda _entity: threshold)


def seed(fake: FakeHubSpot) -> None:
    fake.owners = [{"id": "o1", "firstName": "Ada", "lastName": "Lovelace",
                    "email": "ada@example.com", "type": "PERSON", "archived": False,
                    "createdAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-01-01T00:00:00Z"}]
    for n in range(1, 6):
        fake.put("companies", f"c{n}", 1_700_000_000_000 + n, name=f"Company {n}",
                 industry="software", country="DE", hubspot_owner_id="o1",
                 lifecyclestage="customer", hs_lifecyclestage_customer_date="2025-03-01")
        fake.put("deals", f"d{n}", 1_700_000_000_000 + n, companies=[f"c{n}"],
                 closedate="2027-03-01T00:00:00Z", amount="12000", dealstage="qualifiedtobuy",
                 pipeline="default")
        fake.put("contacts", f"p{n}", 1_700_000_000_000 + n, companies=[f"c{n}"],
                 email=f"person{n}@example.com", firstname="Pat", lastname=None,
                 associatedcompanyid=f"c{n}")


def test_full_load_pages_and_maps_companies_deals_contacts_owners(hubspot, warehouse):
    seed(hubspot)
    source = make_source(hubspot, warehouse)
    accounts = source.read(ENTITIES["accounts"]).set_index("account_id")
    contacts = source.read(ENTITIES["contacts"]).set_index("contact_id")
    csms = source.read(ENTITIES["csms"])

    assert sorted(accounts.index) == ["c1", "c2", "c3", "c4", "c5"]
    c1 = accounts.loc["c1"]
    assert (c1["name"], c1["arr"], c1["renewal_date"], c1["renewal_status"], c1["status"]) == (
        "Company 1", "12000", "2027-03-01", "open", "active")
    assert c1["contract_start"] == "2025-03-01" and c1["csm_id"] == "o1"
    assert contacts.loc["p3", "account_id"] == "c3"
    assert pd.isna(contacts.loc["p3", "last_name"])
    assert csms.to_dict("records")[0]["name"] == "Ada Lovelace"
    # Five objects at two per page: three list pages per object type.
    company_pages = [r for r in hubspot.requests if r[1] == "/crm/v3/objects/companies"]
    assert len(company_pages) == 3 + 1  # + the archived listing
    assert get_watermark(warehouse, "hubspot", "companies") == "1700000000005"


def test_incremental_load_fetches_only_changes_and_removes_archived_and_merged(
        hubspot, any_warehouse):
    warehouse = any_warehouse
    seed(hubspot)
    make_source(hubspot, warehouse).read(ENTITIES["contacts"])
    hubspot.requests.clear()
    hubspot.put("contacts", "p2", 1_700_000_100_000, companies=["c2"], email="new@example.com",
                firstname="Pat", hs_merged_object_ids="p4", associatedcompanyid="c2")
    hubspot.archived["contacts"].add("p5")
    hubspot.objects["contacts"].pop("p4")

    contacts = make_source(hubspot, warehouse, run="r2").read(ENTITIES["contacts"])

    assert sorted(contacts["contact_id"]) == ["p1", "p2", "p3"]
    assert contacts.set_index("contact_id").loc["p2", "email"] == "new@example.com"
    searches = [r for r in hubspot.requests if r[1].endswith("/search")]
    assert searches and searches[0][2]["filterGroups"][0]["filters"][0]["value"] == \
        "1700000000005"
    assert not [r for r in hubspot.requests
                if r[1] == "/crm/v3/objects/contacts" and r[0] == "GET"
                and "archived=false" in r[1]]
    assert get_watermark(warehouse, "hubspot", "contacts") == "1700000100000"


def test_search_limit_reanchors_the_watermark(hubspot, warehouse):
    seed(hubspot)
    policy = HubSpotPolicy(page_size=2, search_limit=4)
    hubspot.search_limit = 4
    make_source(hubspot, warehouse, policy).read(ENTITIES["contacts"])
    for n in range(1, 6):
        hubspot.put("contacts", f"p{n}", 1_700_000_200_000 + n, companies=[f"c{n}"],
                    email=f"changed{n}@example.com")

    contacts = make_source(hubspot, warehouse, policy, run="r2").read(ENTITIES["contacts"])

    assert sorted(contacts["email"]) == [f"changed{n}@example.com" for n in range(1, 6)]
    anchors = {r[2]["filterGroups"][0]["filters"][0]["value"]
               for r in hubspot.requests if r[1].endswith("/search")}
    assert len(anchors) == 2


def test_throttling_and_server_errors_are_retried(hubspot, warehouse):
    seed(hubspot)
    hubspot.faults = [("GET", "/crm/v3/objects/companies", 429, {"Retry-After": "0"}),
                      ("GET", "/crm/v3/objects/companies", 503, {}),
                      ("GET", "/crm/v3/owners", 502, {})]
    source = make_source(hubspot, warehouse)
    assert len(source.read(ENTITIES["accounts"])) == 5
    assert len(source.read(ENTITIES["csms"])) == 1
    assert not hubspot.faults


def test_persistent_errors_fail_and_keep_the_last_good_watermark(hubspot, warehouse):
    seed(hubspot)
    make_source(hubspot, warehouse).read(ENTITIES["contacts"])
    hubspot.put("contacts", "p1", 1_700_000_300_000, email="x@example.com")
    hubspot.faults = [("POST", "/crm/v3/objects/contacts/search", 500, {})] * 10
    with pytest.raises(Exception, match="500"):
        make_source(hubspot, warehouse, run="r2").read(ENTITIES["contacts"])
    assert get_watermark(warehouse, "hubspot", "contacts") == "1700000000005"
    hubspot.faults.clear()
    contacts = make_source(hubspot, warehouse, run="r3").read(ENTITIES["contacts"])
    assert "x@example.com" in set(contacts["email"])


def test_malformed_records_are_quarantined_and_the_rest_load(hubspot, warehouse):
    seed(hubspot)
    hubspot.put("deals", "d9", 1_700_000_000_009, companies=["c1"], closedate="next spring",
                amount="1", dealstage="closedwon")
    hubspot.objects["contacts"]["p3"]["properties"]["lastmodifieddate"] = "garbage"
    hubspot.objects["contacts"]["p3"]["updatedAt"] = "garbage"
    source = make_source(hubspot, warehouse, threshold=0.25)
    accounts = source.read(ENTITIES["accounts"])
    contacts = source.read(ENTITIES["contacts"])

    assert len(accounts) == 5 and sorted(contacts["contact_id"]) == ["p1", "p2", "p4", "p5"]
    quarantine = warehouse.read_table("quarantine").set_index("entity")
    assert "closedate" in quarantine.loc["hubspot.deals", "rule"]
    assert json.loads(quarantine.loc["hubspot.deals", "row"])["id"] == "d9"
    assert "lastmodifieddate" in quarantine.loc["hubspot.contacts", "rule"]
    assert set(quarantine["run_id"]) == {"r1"}


def test_too_many_rejected_records_fail_the_load_after_quarantining_them(hubspot, warehouse):
    seed(hubspot)
    hubspot.objects["contacts"]["p3"]["properties"]["lastmodifieddate"] = "garbage"
    hubspot.objects["contacts"]["p3"]["updatedAt"] = "garbage"
    with pytest.raises(SourceError, match=r"contacts: 1 of 5 CRM records rejected \(20.0%\)"):
        make_source(hubspot, warehouse, threshold=0.1).read(ENTITIES["contacts"])
    assert warehouse.count("quarantine") == 1


def test_unknown_property_in_policy_fails_naming_the_key(hubspot, warehouse):
    seed(hubspot)
    policy = HubSpotPolicy.model_validate(
        {"contact": {"columns": {"email": "email", "role": "cadence_role"}}})
    with pytest.raises(MappingError, match=r"connectors\.hubspot\.contact\.columns\.role"):
        make_source(hubspot, warehouse, policy).read(ENTITIES["contacts"])


def test_reset_watermark_reloads_everything(hubspot, warehouse):
    seed(hubspot)
    make_source(hubspot, warehouse).read(ENTITIES["contacts"])
    reset_watermark(warehouse, "hubspot", "contacts", None)
    hubspot.requests.clear()
    contacts = make_source(hubspot, warehouse, run="r2").read(ENTITIES["contacts"])
    assert len(contacts) == 5
    assert not [r for r in hubspot.requests if r[1].endswith("/search")]


def test_registered_source_reads_through_the_airflow_connection(hubspot, duckdb_url,
                                                                monkeypatch, tmp_path, policy):
    """What the nightly extract does with policy ``sources.entities.accounts: hubspot``."""
    from cadence.contract.warehouse import Warehouse
    from cadence.sources import SourceContext, build_source

    seed(hubspot)
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT",
                       json.dumps({"conn_type": "http", "host": hubspot.url, "password": TOKEN}))
    loaded_at = datetime(2026, 11, 23, 1, tzinfo=UTC)
    context = SourceContext(tmp_path, Warehouse(duckdb_url), policy, "nightly-run", loaded_at)
    source = build_source("hubspot", context)
    assert len(source.read(ENTITIES["accounts"])) == 5
    assert source.quarantine.run_id == "nightly-run"  # the run's identity, not the clock's
    assert TOKEN not in repr(airflow_credentials("hubspot_default"))
    source.warehouse.engine.dispose()


def test_standard_properties_fill_timezone_country_arr_and_role(hubspot, warehouse):
    """A new portal with only HubSpot's own properties: zones, ISO countries, ARR without a
    renewal deal and roles from job titles, instead of the default zone and no role."""
    seed(hubspot)
    hubspot.put("companies", "c1", 1_700_000_000_001, name="Company 1", country="Germany",
                timezone="america_slash_new_york", hubspot_owner_id="o1",
                lifecyclestage="customer", hs_lifecyclestage_customer_date="2025-03-01")
    hubspot.put("companies", "c2", 1_700_000_000_002, name="Company 2",
                country="United States", hubspot_owner_id="o1", lifecyclestage="customer",
                hs_lifecyclestage_customer_date="2025-03-01")
    hubspot.put("companies", "c6", 1_700_000_000_006, name="No deal", country="fr",
                annualrevenue="250000", lifecyclestage="customer",
                hs_lifecyclestage_customer_date="2025-03-01")
    titles = {"p1": "Chief Financial Officer", "p2": "IT Manager",
              "p3": "Customer Success Manager", "p4": "Analyst", "p5": None}
    for n, (contact_id, title) in enumerate(titles.items(), start=1):
        hubspot.put("contacts", contact_id, 1_700_000_000_000 + n, companies=[f"c{n}"],
                    email=f"person{n}@example.com", jobtitle=title,
                    hs_timezone="europe_slash_berlin" if n == 1 else None)
    source = make_source(hubspot, warehouse)

    accounts = source.read(ENTITIES["accounts"]).set_index("account_id")
    contacts = source.read(ENTITIES["contacts"]).set_index("contact_id")

    assert accounts.loc["c1", ["country", "timezone"]].tolist() == ["DE", "America/New_York"]
    # No timezone property: the country's main zone.
    assert accounts.loc["c2", ["country", "timezone"]].tolist() == ["US", "America/New_York"]
    assert accounts.loc["c6", ["country", "timezone", "arr"]].tolist() == [
        "FR", "Europe/Paris", "250000"]
    assert accounts.loc["c1", "csm_id"] == "o1"  # the company owner is its CSM
    assert contacts["role"].fillna("").to_dict() == {
        "p1": "executive", "p2": "admin", "p3": "champion", "p4": "user", "p5": ""}
    assert contacts.loc["p1", "timezone"] == "Europe/Berlin"


def test_custom_properties_override_the_standard_ones(hubspot, warehouse):
    seed(hubspot)
    fake_properties = {"companies": {"cadence_timezone", "cadence_arr"},
                       "contacts": {"cadence_role"}}
    for object_type, names in fake_properties.items():
        hubspot.properties[object_type] |= names
    hubspot.put("companies", "c1", 1_700_000_000_001, name="Company 1", country="DE",
                timezone="Europe/Berlin", cadence_timezone="Europe/Lisbon",
                annualrevenue="9000000", lifecyclestage="customer",
                hs_lifecyclestage_customer_date="2025-03-01")
    hubspot.put("contacts", "p1", 1_700_000_000_001, companies=["c1"], email="a@example.com",
                jobtitle="CEO", cadence_role="billing")
    hubspot.put("contacts", "p2", 1_700_000_000_002, companies=["c2"], email="b@example.com",
                jobtitle="CEO")  # no custom role: the title decides
    defaults = HubSpotPolicy()
    policy = HubSpotPolicy(
        page_size=2,
        company=defaults.company.model_copy(update={"columns": {
            **defaults.company.columns, "timezone": "cadence_timezone"}}),
        contact=defaults.contact.model_copy(update={"columns": {
            **defaults.contact.columns, "role": "cadence_role"}}))
    source = make_source(hubspot, warehouse, policy)

    accounts = source.read(ENTITIES["accounts"]).set_index("account_id")
    contacts = source.read(ENTITIES["contacts"]).set_index("contact_id")

    assert accounts.loc["c1", "timezone"] == "Europe/Lisbon"
    assert accounts.loc["c1", "arr"] == "12000"  # the renewal deal's amount, not revenue
    assert contacts.loc["p1", "role"] == "billing" and contacts.loc["p2", "role"] == "executive"


def test_a_role_rule_naming_no_contract_role_fails_naming_the_key(hubspot, warehouse):
    seed(hubspot)
    policy = HubSpotPolicy.model_validate(
        {"contact": {"columns": {"email": "email"}, "defaults": {"role": "jobtitle"},
                     "rules": {"role": [{"match": "ceo", "value": "boss"}]}}})
    with pytest.raises(MappingError, match=r"connectors\.hubspot\.contact\.rules\.role\.0"):
        make_source(hubspot, warehouse, policy).read(ENTITIES["contacts"])
    with pytest.raises(ValueError, match="not a regular expression"):
        HubSpotPolicy.model_validate(
            {"contact": {"rules": {"role": [{"match": "(ceo", "value": "executive"}]}}})
