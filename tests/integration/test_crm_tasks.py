"""CSM tasks pushed to HubSpot and Salesforce: created once, updated on rerun."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from cadence.connectors.crm_tasks import push_csm_tasks
from cadence.connectors.http import Credentials
from cadence.connectors.hubspot import HubSpotClient
from cadence.connectors.policy import ConnectorsPolicy
from cadence.touches import ensure_planning_tables
from tests.integration.crm_stand_ins import TOKEN, hubspot  # noqa: F401 - the stand-in fixture
from tests.integration.test_hubspot_connector import FAST as HUBSPOT_HTTP
from tests.integration.test_salesforce_connector import (  # noqa: F401 - the stand-in
    make_client,
    salesforce,
)

AS_OF = date(2026, 11, 20)


def plan_tasks(warehouse, status: str = "open") -> None:
    ensure_planning_tables(warehouse)
    tasks = pd.DataFrame({
        "task_id": ["k1", "k2"], "plan_date": [AS_OF, AS_OF], "touch_id": ["t1", "t2"],
        "csm_id": ["o1", "o1"], "account_id": ["c1", "c2"], "contact_id": ["p1", None],
        "due_date": [date(2026, 11, 24), date(2026, 11, 25)],
        "task_type": ["renewal_call", "qbr"], "context": ["Renewal in 60 days", "Q4 review"],
        "priority": [80, 40], "status": [status, status],
    })
    warehouse.write_frame("csm_tasks", tasks, replace_where={"plan_date": AS_OF})


def test_hubspot_tasks_are_created_once_and_updated_on_rerun(hubspot, warehouse):  # noqa: F811
    plan_tasks(warehouse)
    client = HubSpotClient(Credentials(hubspot.url, None, TOKEN), HUBSPOT_HTTP)
    policy = ConnectorsPolicy()

    first = push_csm_tasks(warehouse, policy, AS_OF, "hubspot", client)
    plan_tasks(warehouse, status="done")
    second = push_csm_tasks(warehouse, policy, AS_OF, "hubspot", client)

    assert first == {"created": 2, "updated": 0} and second == {"created": 0, "updated": 2}
    tasks = hubspot.objects["tasks"]
    assert len(tasks) == 2
    renewal = next(t for t in tasks.values() if t["properties"]["hs_task_type"] == "CALL")
    assert renewal["properties"]["hubspot_owner_id"] == "o1"
    assert renewal["properties"]["hs_task_priority"] == "HIGH"
    assert renewal["properties"]["hs_task_status"] == "COMPLETED"
    assert [(a["to"]["id"], a["types"][0]["associationTypeId"])
            for a in renewal["associations"]] == [("c1", 192), ("p1", 204)]
    assert warehouse.count("crm_task_links") == 2


def test_salesforce_tasks_are_created_once_and_updated_on_rerun(salesforce,  # noqa: F811
                                                                warehouse):
    plan_tasks(warehouse)
    policy = ConnectorsPolicy()
    client = make_client(salesforce)

    assert push_csm_tasks(warehouse, policy, AS_OF, "salesforce", client)["created"] == 2
    assert push_csm_tasks(warehouse, policy, AS_OF, "salesforce", client)["updated"] == 2

    tasks = salesforce.records["Task"]
    assert len(tasks) == 2
    qbr = next(t for t in tasks.values() if t["WhatId"] == "c2")
    assert (qbr["OwnerId"], qbr["ActivityDate"], qbr["Priority"], qbr["Status"]) == (
        "o1", "2026-11-25", "Low", "Not Started")
    assert "WhoId" not in qbr


def test_a_failed_create_leaves_no_link_and_the_rerun_creates_it(hubspot, warehouse):  # noqa: F811
    plan_tasks(warehouse)
    client = HubSpotClient(Credentials(hubspot.url, None, TOKEN), HUBSPOT_HTTP)
    hubspot.faults = [("POST", "/crm/v3/objects/tasks", 400, {})]
    with pytest.raises(Exception, match="400"):
        push_csm_tasks(warehouse, ConnectorsPolicy(), AS_OF, "hubspot", client)
    assert push_csm_tasks(warehouse, ConnectorsPolicy(), AS_OF, "hubspot", client) == {
        "created": 2, "updated": 0}
    assert len(hubspot.objects["tasks"]) == 2
