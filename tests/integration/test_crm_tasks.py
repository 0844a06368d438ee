"""CSM tasks pushed to HubSpot and Salesforce: created once, updated on rerun."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from cadence.connectors.http import Credentials
from cadence.connectors.hubspot import HubSpotClient
from cadence.connectors.policy import ConnectorsPolicy
from cadence.outputs.crm_tasks import push_csm_tasks
from tests.integration.crm_stand_ins import TOKEN, hubspot  # noqa: F401 - the stand-in fixture
from tests.integration.test_hubspot_connector import FAST as HUBSPOT_HTTP
from tests.integration.test_salesforce_connector import (  # noqa: F401 - the stand-in
    make_client,
    salesforce,
)

AS_OF = date(2026, 11, 20)


def plan_tasks(warehouse, status: str = "open") -> None:
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

    assert first == {"created": 2, "updated": 0, "closed": 0}
    assert second == {"created": 0, "updated": 2, "closed": 0}
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
        "created": 2, "updated": 0, "closed": 0}
    assert len(hubspot.objects["tasks"]) == 2


# -- what the CRM task carries, and a replan: one task moved, one cancelled -------------

DAY1, DAY2 = date(2026, 12, 1), date(2026, 12, 2)


def planned(day, *rows):
    from tests.integration.test_csm_task_feed import frame, task

    tasks = frame(*(task(k, start) for k, start in rows)).assign(plan_date=day)
    tasks["talking_points"] = "usage down 32% in 30 days: ask what changed"
    tasks["context"] = ("Why now: check in call\nTalking points:\n"
                        "- usage down 32% in 30 days: ask what changed")
    return tasks


def publish(warehouse, policy, day, tasks, out_dir):
    from datetime import UTC, datetime

    from cadence.outputs.csm_task_files import write_task_files
    warehouse.write_frame("csm_tasks", tasks, replace_where={"plan_date": day})
    write_task_files(warehouse, tasks, policy.csm_tasks, out_dir, day,
                     datetime.combine(day, datetime.min.time(), tzinfo=UTC))


def test_hubspot_task_is_moved_on_reschedule_and_closed_on_cancel(hubspot, warehouse,  # noqa: F811
                                                                   policy, tmp_path):
    client = HubSpotClient(Credentials(hubspot.url, None, TOKEN), HUBSPOT_HTTP)
    connectors = ConnectorsPolicy()
    publish(warehouse, policy, DAY1, planned(DAY1, ("k1", "2026-12-02 10:00"),
                                             ("k2", "2026-12-03 14:00")), tmp_path)
    assert push_csm_tasks(warehouse, connectors, DAY1, "hubspot", client) == {
        "created": 2, "updated": 0, "closed": 0}
    first = min(hubspot.objects["tasks"].values(),
                key=lambda t: int(t["properties"]["hs_timestamp"]))
    assert first["properties"]["hs_task_subject"] == "Check in call: Ana Silva (Acme GmbH)"
    assert "usage down 32% in 30 days" in first["properties"]["hs_task_body"]
    assert [a["to"]["id"] for a in first["associations"]] == ["a1", "c1"]
    # due at the call's start: 10:00 in Berlin is 09:00 UTC
    assert int(first["properties"]["hs_timestamp"]) == int(
        pd.Timestamp("2026-12-02 09:00", tz="UTC").value // 1_000_000)

    publish(warehouse, policy, DAY2, planned(DAY2, ("k1", "2026-12-02 15:00")), tmp_path)
    assert push_csm_tasks(warehouse, connectors, DAY2, "hubspot", client) == {
        "created": 0, "updated": 1, "closed": 1}
    tasks = list(hubspot.objects["tasks"].values())
    assert len(tasks) == 2  # nothing duplicated
    moved = next(t for t in tasks if not t["properties"]["hs_task_subject"].startswith("Can"))
    cancelled = next(t for t in tasks if t["properties"]["hs_task_subject"].startswith("Can"))
    assert int(moved["properties"]["hs_timestamp"]) == int(
        pd.Timestamp("2026-12-02 14:00", tz="UTC").value // 1_000_000)
    assert moved["properties"]["hs_task_status"] == "NOT_STARTED"
    assert cancelled["properties"]["hs_task_status"] == "COMPLETED"
    assert cancelled["properties"]["hs_task_subject"] == (
        "Cancelled: Check in call: Ana Silva (Acme GmbH)")


def test_salesforce_task_carries_contact_due_day_and_is_closed_on_cancel(  # noqa: F811
        salesforce, warehouse, policy, tmp_path):  # noqa: F811
    client = make_client(salesforce)
    connectors = ConnectorsPolicy()
    publish(warehouse, policy, DAY1, planned(DAY1, ("k1", "2026-12-02 23:30"),
                                             ("k2", "2026-12-03 14:00")), tmp_path)
    push_csm_tasks(warehouse, connectors, DAY1, "salesforce", client)
    late = next(t for t in salesforce.records["Task"].values()
                if t["ReminderDateTime"].startswith("2026-12-02T22:30"))
    # 23:30 in the owner's Berlin is still 2 December there, though 22:30 UTC
    assert (late["WhoId"], late["ActivityDate"], late["Status"]) == (
        "c1", "2026-12-02", "Not Started")
    assert "usage down 32%" in late["Description"]
    publish(warehouse, policy, DAY2, planned(DAY2, ("k1", "2026-12-02 23:30")), tmp_path)
    assert push_csm_tasks(warehouse, connectors, DAY2, "salesforce", client)["closed"] == 1
    statuses = sorted((t["Status"], t["Subject"][:9]) for t in
                      salesforce.records["Task"].values())
    assert statuses == [("Completed", "Cancelled"), ("Not Started", "Check in ")]
