"""Health in the marketing tool: score, band, tier, stage and signals pushed to HubSpot
company and contact properties, only what changed, only from a live run."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from cadence.connectors.field_mapping import MappingError
from cadence.connectors.http import Credentials
from cadence.connectors.hubspot import HubSpotClient
from cadence.connectors.policy import ConnectorsPolicy, HealthPushPolicy
from cadence.outputs.health_push import push_health_properties
from tests.integration.crm_stand_ins import (
    NIGHTLY_START,
    TOKEN,
    FakeHubSpot,
    nightly_runs,
    serve,
)
from tests.integration.test_hubspot_connector import FAST

AS_OF = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
PROPERTIES = {"companies": {"cadence_health_score", "cadence_health_band", "cadence_tier",
                            "cadence_stage", "cadence_signals"},
              "contacts": {"cadence_health_band", "cadence_tier", "cadence_stage"}}
BATCH = "/batch/update"


@pytest.fixture
def portal():
    fake = FakeHubSpot(custom_properties=PROPERTIES)
    for n in (1, 2, 3):
        fake.put("companies", f"c{n}", 1_700_000_000_000, name=f"Company {n}")
        fake.put("contacts", f"p{n}", 1_700_000_000_000, companies=[f"c{n}"],
                 email=f"p{n}@example.com")
    server = serve(fake)
    yield fake
    server.shutdown()
    server.server_close()


def seed(warehouse, bands=("green", "red", "yellow"), day=AS_OF) -> None:
    warehouse.write_frame("account_health", pd.DataFrame({
        "account_id": ["c1", "c2", "c3"], "as_of_date": [day] * 3,
        "score": [81.4, 22.0, 55.5], "band": list(bands)}), replace_where={"as_of_date": day})
    segments = [("c1", "tier", "enterprise"), ("c1", "stage", "mature"),
                ("c1", "signal", "promoter"), ("c1", "signal", "expansion_ready"),
                ("c2", "tier", "smb"), ("c2", "stage", "renewal"), ("c2", "signal", "at_risk"),
                ("c3", "tier", "mid_market"), ("c3", "stage", "adoption")]
    membership = pd.DataFrame(
        [{"account_id": a, "segment_type": t, "segment_key": k,
          "valid_from": pd.Timestamp("2026-01-01"), "is_current": True}
         for a, t, k in segments])
    membership["valid_to"] = pd.Series(pd.NaT, index=membership.index, dtype="datetime64[s]")
    warehouse.write_frame("segment_membership", membership, replace_all=True)
    warehouse.write_frame("stg_contacts", pd.DataFrame({
        "contact_id": ["p1", "p2", "p3", "p9"], "account_id": ["c1", "c2", "c3", "c9"]}),
        replace_all=True)


def client(fake) -> HubSpotClient:
    return HubSpotClient(Credentials(fake.url, None, TOKEN), FAST)


def pushes(fake) -> list[tuple[str, dict]]:
    return [(path.split("/")[4], body) for method, path, body in fake.requests
            if path.endswith(BATCH)]


def test_first_push_sets_company_and_contact_properties_in_batches(portal, warehouse):
    seed(warehouse)
    policy = ConnectorsPolicy(health_push=HealthPushPolicy(crm="hubspot", batch_size=2))
    counts = push_health_properties(warehouse, policy, AS_OF, NOW, client(portal))

    assert counts == {"companies": 3, "contacts": 3, "unchanged": 0}
    c1 = portal.objects["companies"]["c1"]["properties"]
    assert (c1["cadence_health_score"], c1["cadence_health_band"], c1["cadence_tier"],
            c1["cadence_stage"], c1["cadence_signals"]) == (
        "81", "green", "enterprise", "mature", "expansion_ready;promoter")
    assert portal.objects["companies"]["c3"]["properties"]["cadence_signals"] == ""
    p2 = portal.objects["contacts"]["p2"]["properties"]
    assert (p2["cadence_health_band"], p2["cadence_tier"], p2["cadence_stage"]) == (
        "red", "smb", "renewal")
    assert "cadence_health_score" not in p2
    # Two per request: companies 2 + 1, contacts 2 + 1; p9's account was not scored.
    assert [(kind, len(body["inputs"])) for kind, body in pushes(portal)] == [
        ("companies", 2), ("companies", 1), ("contacts", 2), ("contacts", 1)]
    stored = warehouse.read_table("crm_property_pushes").set_index("object_id")
    assert json.loads(stored.loc["c2", "properties"])["cadence_health_band"] == "red"


def test_a_rerun_pushes_nothing_and_a_change_pushes_only_what_changed(portal, any_warehouse):
    warehouse = any_warehouse
    seed(warehouse)
    policy = ConnectorsPolicy(health_push=HealthPushPolicy(crm="hubspot"))
    push_health_properties(warehouse, policy, AS_OF, NOW, client(portal))
    portal.requests.clear()

    again = push_health_properties(warehouse, policy, AS_OF, NOW, client(portal))
    assert again == {"companies": 0, "contacts": 0, "unchanged": 6} and not pushes(portal)

    next_day = AS_OF + timedelta(days=1)
    seed(warehouse, bands=("green", "yellow", "yellow"), day=next_day)
    changed = push_health_properties(warehouse, policy, next_day, NOW, client(portal))
    assert changed == {"companies": 1, "contacts": 1, "unchanged": 4}
    assert [[i["id"] for i in body["inputs"]] for _, body in pushes(portal)] == [["c2"], ["p2"]]
    assert len(warehouse.read_table("crm_property_pushes")) == 6


def test_a_property_missing_in_the_portal_fails_naming_the_key_and_pushes_nothing(warehouse):
    fake = FakeHubSpot(custom_properties={"companies": {"cadence_health_score"}})
    server = serve(fake)
    try:
        seed(warehouse)
        policy = ConnectorsPolicy(health_push=HealthPushPolicy(crm="hubspot"))
        with pytest.raises(MappingError, match=r"health_push\.company_properties\.band"):
            push_health_properties(warehouse, policy, AS_OF, NOW, client(fake))
        assert not pushes(fake)
    finally:
        server.shutdown()
        server.server_close()


def test_only_a_live_run_pushes(portal, warehouse, tmp_path, monkeypatch, policy):
    """What the nightly task does: a backfill (or an old run) leaves HubSpot alone."""
    from cadence.orchestration import nightly

    seed(warehouse)
    run = nightly_runs(monkeypatch, portal.url, policy, warehouse,
                       health_push=HealthPushPolicy(crm="hubspot"))
    start = NIGHTLY_START
    backfill = nightly.push_health_properties(run("backfill", start + timedelta(hours=2)))
    old = nightly.push_health_properties(run("scheduled", start + timedelta(days=5)))
    assert backfill["skipped"] == old["skipped"] == "not a live run" and not pushes(portal)
    live = nightly.push_health_properties(run("scheduled", start + timedelta(hours=2)))
    assert live == {"crm": "hubspot", "companies": 3, "contacts": 3, "unchanged": 0}
