"""Our HubSpot request bodies, and the stand-in's responses our parser reads, checked against
HubSpot's official OpenAPI documents in ../shared/contracts (or CADENCE_CONTRACTS_DIR)."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from jsonschema import Draft7Validator

from cadence.connectors.hubspot import search_body
from cadence.connectors.policy import CrmTasksPolicy
from cadence.contract.entities import ENTITIES
from cadence.outputs.crm_tasks import hubspot_task_create, hubspot_task_properties
from tests.integration.crm_stand_ins import hubspot  # noqa: F401 - the stand-in fixture
from tests.integration.test_hubspot_connector import make_source, seed

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = Path(os.environ.get("CADENCE_CONTRACTS_DIR") or ROOT.parent / "shared" / "contracts")
LIST = "/paths/~1crm~1v3~1objects~1{objectType}/get/responses/200/content/application~1json/schema"
SEARCH_REQUEST = ("/paths/~1crm~1v3~1objects~1{objectType}~1search/post/requestBody/content/"
                  "application~1json/schema")
SEARCH_RESPONSE = ("/paths/~1crm~1v3~1objects~1{objectType}~1search/post/responses/200/"
                   "content/application~1json/schema")
OWNERS = "/paths/~1crm~1v3~1owners/get/responses/200/content/application~1json/schema"
TASK_CREATE = "/paths/~1crm~1v3~1objects~1tasks/post/requestBody/content/application~1json/schema"


def validator(name: str, pointer: str) -> Draft7Validator:
    path = CONTRACTS / "hubspot" / name
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"contract {path} missing")
        pytest.skip(f"contract {path} missing")
    doc = json.loads(path.read_text())
    return Draft7Validator({**doc, "$ref": "#" + pointer})


def without_null_properties(body: dict) -> dict:
    """Real HubSpot responses carry null for empty properties although the schema types
    them string; drop those before validating, as the contracts README advises."""
    body = json.loads(json.dumps(body))
    for result in body.get("results", []):
        props = result.get("properties") or {}
        result["properties"] = {k: v for k, v in props.items() if v is not None}
    return body


def errors(validator: Draft7Validator, body: dict) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]


def test_search_request_body_matches_the_contract():
    body = search_body("hs_lastmodifieddate", 1_700_000_000_000, ["name", "domain"], "0", 100)
    assert errors(validator("crm_objects.json", SEARCH_REQUEST), body) == []


def test_task_bodies_match_the_contract():
    row = pd.Series({"task_id": "k1", "csm_id": "o1", "account_id": "c1", "contact_id": "p1",
                     "due_date": date(2026, 11, 24), "task_type": "renewal_call",
                     "context": "Renewal in 60 days", "priority": 80, "status": "open"})
    row = next(pd.DataFrame([row]).itertuples())
    create = hubspot_task_create(row, CrmTasksPolicy())
    assert errors(validator("tasks.json", TASK_CREATE), create) == []
    update = {"properties": hubspot_task_properties(row, CrmTasksPolicy())}
    assert errors(validator("tasks.json", "/components/schemas/SimplePublicObjectInput"),
                  update) == []


def test_stand_in_responses_and_our_requests_match_the_contract(hubspot, warehouse):  # noqa: F811
    seed(hubspot)
    make_source(hubspot, warehouse).read(ENTITIES["contacts"])
    hubspot.put("contacts", "p1", 1_700_000_100_000, email="new@example.com")
    source = make_source(hubspot, warehouse, run="r2")
    source.read(ENTITIES["contacts"])
    source.read(ENTITIES["csms"])

    checks = {"list": validator("crm_objects.json", LIST),
              "search": validator("crm_objects.json", SEARCH_RESPONSE),
              "owners": validator("crm_owners_v3.json", OWNERS),
              "search_request": validator("crm_objects.json", SEARCH_REQUEST)}
    seen = set()
    for path, body in hubspot.responses:
        kind = ("search" if path.endswith("/search") else "owners" if "owners" in path
                else "list" if path.count("/") == 4 and "/objects/" in path else None)
        if kind:
            seen.add(kind)
            assert errors(checks[kind], without_null_properties(body)) == [], path
    for _method, path, body in hubspot.requests:
        if path.endswith("/search"):
            seen.add("search_request")
            assert errors(checks["search_request"], body) == []
    assert seen == set(checks)


def test_health_property_batches_and_answers_match_the_object_schemas(hubspot, warehouse):  # noqa: F811
    """The batch update envelope (``inputs[]`` of {id, properties}) is not in the extract;
    each input's properties are checked as the official SimplePublicObjectInput and each
    object HubSpot answers with as SimplePublicObject."""
    from datetime import UTC, datetime

    from cadence.connectors.http import Credentials
    from cadence.connectors.hubspot import HubSpotClient
    from cadence.connectors.policy import ConnectorsPolicy, HealthPushPolicy
    from cadence.outputs.health_push import push_health_properties
    from tests.integration.crm_stand_ins import TOKEN
    from tests.integration.test_health_push import PROPERTIES
    from tests.integration.test_health_push import seed as seed_health
    from tests.integration.test_hubspot_connector import FAST

    for object_type, names in PROPERTIES.items():
        hubspot.properties[object_type] |= names
    for n in (1, 2, 3):
        hubspot.put("companies", f"c{n}", 1_700_000_000_000, name=f"Company {n}")
        hubspot.put("contacts", f"p{n}", 1_700_000_000_000, companies=[f"c{n}"])
    seed_health(warehouse)
    push_health_properties(warehouse, ConnectorsPolicy(health_push=HealthPushPolicy(
        crm="hubspot")), date(2026, 11, 23), datetime(2026, 11, 23, 2, tzinfo=UTC),
        HubSpotClient(Credentials(hubspot.url, None, TOKEN), FAST))

    update = validator("tasks.json", "/components/schemas/SimplePublicObjectInput")
    answer = validator("crm_objects.json", "/components/schemas/SimplePublicObject")
    sent = [body for _m, path, body in hubspot.requests if path.endswith("/batch/update")]
    answered = [body for path, body in hubspot.responses if path.endswith("/batch/update")]
    assert len(sent) == len(answered) == 2
    for body in sent:
        for item in body["inputs"]:
            assert isinstance(item["id"], str)
            assert errors(update, {"properties": item["properties"]}) == []
    for body in answered:
        assert body["status"] == "COMPLETE"
        for result in body["results"]:
            assert errors(answer, result) == []


def test_expansion_deal_body_matches_the_official_create_input():
    from cadence.connectors.policy import ExpansionDealsPolicy
    from cadence.outputs.expansion_deals import hubspot_deal

    row = pd.Series({"account_id": "c1", "account_name": "Acme", "csm_id": "o1",
                     "arr": 60000.0, "seats_purchased": 50, "seats_used_7d": 46,
                     "active_users_30d": 40.0, "active_users_prior_30d": 30.0})
    body = hubspot_deal(next(pd.DataFrame([row]).itertuples(index=False)),
                        ExpansionDealsPolicy(), date(2026, 11, 23))
    create = validator("tasks.json", "/components/schemas/SimplePublicObjectInputForCreate")
    assert errors(create, body) == []
    assert all(isinstance(v, str) for v in body["properties"].values())
