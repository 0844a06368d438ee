"""CSM tasks pushed to the CRM (DESIGN §9.6): each ``csm_tasks`` row of a plan date becomes a
HubSpot task or a Salesforce Task, owned by the CSM and linked to account and contact.

Pushing is idempotent: ``crm_task_links`` (crm, task_id, crm_task_id, pushed_at; grain
crm × task_id) remembers what was created, so a rerun updates (PATCH) instead of
duplicating. The link is written right after each create, so a crash loses none.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Protocol

import pandas as pd

from cadence.connectors.policy import ConnectorsPolicy, CrmTasksPolicy
from cadence.warehouse import Warehouse

LINKS = "crm_task_links"
DONE = {"done", "completed", "closed"}


class TaskClient(Protocol):
    """What a CRM client offers for tasks."""

    def create_task(self, body: dict) -> str:
        """Create a task; its CRM id."""
        ...

    def update_task(self, task_id: str, body: dict) -> None:
        """Update an existing task."""
        ...


def _subject(row) -> str:
    return f"{str(row.task_type).replace('_', ' ').capitalize()} ({row.account_id})"


def _level(priority, policy: CrmTasksPolicy) -> str:
    value = -1 if pd.isna(priority) else int(priority)
    if value >= policy.high_priority_min:
        return "HIGH"
    return "MEDIUM" if value >= policy.low_priority_below else "LOW"


def hubspot_task_properties(row, policy: CrmTasksPolicy) -> dict[str, str]:
    """HubSpot task properties of one ``csm_tasks`` row (every value a string)."""
    due = pd.Timestamp(row.due_date).tz_localize("UTC")
    properties = {
        "hs_timestamp": str(due.value // 1_000_000),
        "hs_task_subject": _subject(row),
        "hs_task_body": "" if pd.isna(row.context) else str(row.context),
        "hs_task_status": "COMPLETED" if str(row.status).lower() in DONE else "NOT_STARTED",
        "hs_task_priority": _level(row.priority, policy),
        "hs_task_type": "CALL" if "call" in str(row.task_type).lower() else "TODO",
    }
    if not pd.isna(row.csm_id):
        properties["hubspot_owner_id"] = str(row.csm_id)
    return properties


def hubspot_task_create(row, policy: CrmTasksPolicy) -> dict:
    """A SimplePublicObjectInputForCreate: properties plus associations to the company
    and (when known) the contact."""
    associations = [{"to": {"id": str(row.account_id)}, "types": [
        {"associationCategory": "HUBSPOT_DEFINED",
         "associationTypeId": policy.hubspot_company_association}]}]
    if not pd.isna(row.contact_id):
        associations.append({"to": {"id": str(row.contact_id)}, "types": [
            {"associationCategory": "HUBSPOT_DEFINED",
             "associationTypeId": policy.hubspot_contact_association}]})
    return {"properties": hubspot_task_properties(row, policy), "associations": associations}


def salesforce_task(row, policy: CrmTasksPolicy) -> dict:
    """A Salesforce Task sObject of one ``csm_tasks`` row."""
    body = {
        "Subject": _subject(row),
        "ActivityDate": pd.Timestamp(row.due_date).date().isoformat(),
        "Description": "" if pd.isna(row.context) else str(row.context),
        "Status": "Completed" if str(row.status).lower() in DONE else "Not Started",
        "Priority": {"HIGH": "High", "MEDIUM": "Normal", "LOW": "Low"}[
            _level(row.priority, policy)],
        "WhatId": str(row.account_id),
    }
    if not pd.isna(row.csm_id):
        body["OwnerId"] = str(row.csm_id)
    if not pd.isna(row.contact_id):
        body["WhoId"] = str(row.contact_id)
    return body


def _links(warehouse: Warehouse, crm: str) -> dict[str, str]:
    if not warehouse.table_exists(LINKS):
        return {}
    frame = warehouse.read_table(LINKS, {"crm": crm})
    return dict(zip(frame["task_id"], frame["crm_task_id"], strict=True))


def _record_link(warehouse: Warehouse, crm: str, task_id: str, crm_task_id: str,
                 pushed_at: datetime) -> None:
    frame = pd.DataFrame({"crm": [crm], "task_id": [task_id], "crm_task_id": [crm_task_id],
                          "pushed_at": pd.Series([pd.Timestamp(pushed_at)],
                                                 dtype="datetime64[us, UTC]")})
    warehouse.write_frame(LINKS, frame, replace_where={"crm": crm, "task_id": task_id})


def push_csm_tasks(
    warehouse: Warehouse,
    policy: ConnectorsPolicy,
    as_of: date,
    crm: str,
    client: TaskClient | None = None,
) -> dict[str, int]:
    """Create or update in ``crm`` (hubspot or salesforce) every CSM task planned on
    ``as_of``; counts of ``created`` and ``updated``. ``client`` defaults to the CRM's
    Airflow connection."""
    if crm not in ("hubspot", "salesforce"):
        raise ValueError(f"crm must be hubspot or salesforce, not {crm!r}")
    client = client or _client(policy, crm)
    tasks = warehouse.read_table("csm_tasks", {"plan_date": as_of}) \
        if warehouse.table_exists("csm_tasks") else pd.DataFrame()
    links = _links(warehouse, crm)
    counts = {"created": 0, "updated": 0}
    for row in tasks.sort_values("task_id").itertuples() if len(tasks) else []:
        if crm == "hubspot":
            create, update = hubspot_task_create(row, policy.crm_tasks), {
                "properties": hubspot_task_properties(row, policy.crm_tasks)}
        else:
            create = update = salesforce_task(row, policy.crm_tasks)
        if row.task_id in links:
            client.update_task(links[row.task_id], update)
            counts["updated"] += 1
        else:
            crm_task_id = client.create_task(create)
            _record_link(warehouse, crm, row.task_id, crm_task_id, datetime.now(UTC))
            counts["created"] += 1
    return counts


def _client(policy: ConnectorsPolicy, crm: str) -> TaskClient:
    from cadence.connectors.http import airflow_credentials

    if crm == "hubspot":
        from cadence.connectors.hubspot import HubSpotClient

        return HubSpotClient(airflow_credentials(policy.hubspot.conn_id), policy.http)
    from cadence.connectors.salesforce import SalesforceClient

    return SalesforceClient(airflow_credentials(policy.salesforce.conn_id), policy.http,
                            policy.salesforce.api_version)
