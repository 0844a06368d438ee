"""Expansion in the CRM: an expansion-ready account becomes a HubSpot deal or a Salesforce
opportunity with the evidence, once per cooldown, only from a live run."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from cadence.connectors.http import Credentials
from cadence.connectors.hubspot import HubSpotClient
from cadence.connectors.policy import ConnectorsPolicy, ExpansionDealsPolicy
from cadence.outputs.expansion_deals import open_expansion_deals
from tests.integration.crm_stand_ins import (  # noqa: F401 - the fixture
    TOKEN,
    hubspot,
    nightly_runs,
)
from tests.integration.test_hubspot_connector import FAST
from tests.integration.test_salesforce_connector import (  # noqa: F401 - the stand-in
    make_client,
    salesforce,
)

AS_OF = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 2, 45, tzinfo=UTC)
DEALS = "/crm/v3/objects/deals"


def seed(warehouse, as_of: date = AS_OF) -> None:
    """c1 uses 46 of its 50 seats and grew from 30 to 40 daily users; c2 is ready by
    engagement without seat figures; c3 is not expansion-ready."""
    warehouse.write_frame("stg_accounts", pd.DataFrame({
        "account_id": ["c1", "c2", "c3"], "name": ["Acme", "Globex", "Initech"],
        "csm_id": ["o1", None, "o1"], "arr": [60000.0, 12000.0, 8000.0],
        "seats_purchased": [50, None, 20]}), replace_all=True)
    membership = pd.DataFrame({
        "account_id": ["c1", "c2", "c3"], "segment_type": ["signal", "signal", "tier"],
        "segment_key": ["expansion_ready", "expansion_ready", "smb"],
        "valid_from": pd.to_datetime(["2026-11-01"] * 3), "is_current": True})
    membership["valid_to"] = pd.Series(pd.NaT, index=membership.index, dtype="datetime64[s]")
    warehouse.write_frame("segment_membership", membership, replace_all=True)
    days = [as_of - timedelta(days=n) for n in range(60)]
    warehouse.write_frame("stg_usage_daily", pd.DataFrame({
        "account_id": "c1", "usage_date": pd.to_datetime(days),
        "active_users": [40 if n < 30 else 30 for n in range(60)],
        "seats_used": [46 if n < 7 else 35 for n in range(60)],
        "feature": pd.Series([None] * 60, dtype=object)}), replace_all=True)


def policy(crm: str) -> ConnectorsPolicy:
    return ConnectorsPolicy(expansion_deals=ExpansionDealsPolicy(crm=crm))


def deal_requests(fake) -> list[dict]:
    return [body for method, path, body in fake.requests if method == "POST" and path == DEALS]


def test_hubspot_deal_carries_the_evidence_once_per_cooldown(hubspot, any_warehouse):  # noqa: F811
    warehouse = any_warehouse
    seed(warehouse)
    client = HubSpotClient(Credentials(hubspot.url, None, TOKEN), FAST)

    first = open_expansion_deals(warehouse, policy("hubspot"), AS_OF, NOW, "hubspot", client)

    assert first == {"opened": 2, "in_cooldown": 0}
    acme, globex = deal_requests(hubspot)
    props = acme["properties"]
    assert props["dealname"] == "Expansion: Acme" and props["hubspot_owner_id"] == "o1"
    assert (props["pipeline"], props["dealstage"], props["dealtype"]) == (
        "default", "appointmentscheduled", "existingbusiness")
    assert props["description"] == (
        "Expansion ready (cadence signal expansion_ready): 46 of 50 seats used in the last"
        " 7 days (92%); 40.0 active users a day over 30 days, +33% on the 30 days before;"
        " ARR 60,000")
    assert props["closedate"] == str(int(datetime(2027, 1, 22, tzinfo=UTC).timestamp()
                                         * 1000))
    assert acme["associations"][0]["to"] == {"id": "c1"}
    assert "hubspot_owner_id" not in globex["properties"]  # no CSM: sales picks it up
    assert globex["properties"]["description"].endswith("ARR 12,000")

    # The same day again, and a month on while still ready: inside the 90-day cooldown.
    assert open_expansion_deals(warehouse, policy("hubspot"), AS_OF, NOW, "hubspot",
                                client) == {"opened": 0, "in_cooldown": 2}
    later = AS_OF + timedelta(days=30)
    seed(warehouse, later)
    assert open_expansion_deals(warehouse, policy("hubspot"), later, NOW, "hubspot",
                                client)["opened"] == 0
    after = AS_OF + timedelta(days=90)
    seed(warehouse, after)
    assert open_expansion_deals(warehouse, policy("hubspot"), after, NOW, "hubspot",
                                client)["opened"] == 2
    assert len(deal_requests(hubspot)) == 4
    recorded = warehouse.read_table("crm_expansion_deals")
    assert len(recorded) == 4 and recorded["crm_deal_id"].notna().all()


def test_a_failed_create_records_nothing_and_the_rerun_opens_it(hubspot, warehouse):  # noqa: F811
    seed(warehouse)
    client = HubSpotClient(Credentials(hubspot.url, None, TOKEN), FAST)
    hubspot.faults = [("POST", DEALS, 400, {})]
    with pytest.raises(Exception, match="400"):
        open_expansion_deals(warehouse, policy("hubspot"), AS_OF, NOW, "hubspot", client)
    assert warehouse.count("crm_expansion_deals") == 0
    assert open_expansion_deals(warehouse, policy("hubspot"), AS_OF, NOW, "hubspot",
                                client)["opened"] == 2


def test_salesforce_opportunity_on_the_account_owned_by_its_csm(salesforce, warehouse):  # noqa: F811
    seed(warehouse)
    counts = open_expansion_deals(warehouse, policy("salesforce"), AS_OF, NOW, "salesforce",
                                  make_client(salesforce))
    assert counts == {"opened": 2, "in_cooldown": 0}
    created = {o["AccountId"]: o for i, o in salesforce.records["Opportunity"].items()
               if i.startswith("006X")}
    acme = created["c1"]
    assert (acme["Name"], acme["OwnerId"], acme["StageName"], acme["CloseDate"],
            acme["Type"]) == ("Expansion: Acme", "o1", "Prospecting", "2027-01-22",
                              "Existing Customer - Upgrade")
    assert "46 of 50 seats used" in acme["Description"]
    assert "OwnerId" not in created["c2"]


def test_only_a_live_run_opens_deals(hubspot, warehouse, monkeypatch, policy):  # noqa: F811
    from cadence.orchestration import nightly

    seed(warehouse)
    run = nightly_runs(monkeypatch, hubspot.url, policy, warehouse,
                       expansion_deals=ExpansionDealsPolicy(crm="hubspot"))
    assert nightly.open_expansion_deals(run("backfill", NOW))["skipped"] == "not a live run"
    assert nightly.open_expansion_deals(
        run("scheduled", NOW + timedelta(days=9)))["skipped"] == "not a live run"
    assert not deal_requests(hubspot)
    assert nightly.open_expansion_deals(run("scheduled", NOW)) == {
        "crm": "hubspot", "opened": 2, "in_cooldown": 0}
