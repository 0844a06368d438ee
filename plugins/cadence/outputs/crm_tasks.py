"""CSM tasks pushed to the CRM (DESIGN §9.6): each ``csm_tasks`` row of a plan date becomes a
HubSpot task or a Salesforce Task, owned by the task's owner (CSM, manager, or the CRM
user policy names for a pooled queue), linked to account and contact, due at the call's
start (placed in the owner's hours), with the talking points in its body. A task the plan
moved is updated; one it cancelled is closed.

Pushing is idempotent: ``crm_task_links`` (crm, task_id, crm_task_id, pushed_at; grain
crm × task_id) remembers what was created, so a rerun updates (PATCH) instead of
duplicating. The link is written right after each create, so a crash loses none.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Protocol

import pandas as pd

from cadence.connectors.http import crm_client
from cadence.connectors.policy import ConnectorsPolicy, CrmTasksPolicy
from cadence.contract.warehouse import Warehouse

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


def _known(value) -> bool:
    return value is not None and not (not isinstance(value, str) and pd.isna(value)) \
        and value != ""


def _subject(row) -> str:
    who = row.contact_name if _known(getattr(row, "contact_name", None)) else row.contact_id
    account = row.account_name if _known(getattr(row, "account_name", None)) \
        else row.account_id
    subject = f"{str(row.task_type).replace('_', ' ').capitalize()}: {who} ({account})"
    return ("Cancelled: " + subject) if _cancelled(row) else subject


def _cancelled(row) -> bool:
    return str(row.status).lower() == "cancelled"


def _closed(row) -> bool:
    return str(row.status).lower() in DONE or _cancelled(row)


def _body(row) -> str:
    text = "" if not _known(row.context) else str(row.context)
    if _cancelled(row):
        text = "Cancelled by the plan: the touch is no longer planned.\n\n" + text
    return text


def _level(priority, policy: CrmTasksPolicy) -> str:
    value = -1 if pd.isna(priority) else int(priority)
    if value >= policy.high_priority_min:
        return "HIGH"
    return "MEDIUM" if value >= policy.low_priority_below else "LOW"


def _due(row) -> pd.Timestamp:
    # The call's start (placed in the owner's hours); the owner's day at 09:00 without one.
    start = getattr(row, "starts_at", None)
    if _known(start) and not pd.isna(start):
        return pd.Timestamp(start).tz_convert("UTC")
    zone = getattr(row, "task_zone", None) if _known(getattr(row, "task_zone", None)) else "UTC"
    return (pd.Timestamp(row.due_date) + pd.Timedelta(hours=9)).tz_localize(zone).tz_convert(
        "UTC")


def _crm_owner(row, owners: dict[str, str | None]) -> str | None:
    # A person owns the task in the CRM under their own id; a queue under the CRM user
    # policy names for it (or nobody: the queue's name is in the subject's body).
    if str(getattr(row, "owner_type", "csm")) == "queue":
        return owners.get(str(row.csm_id))
    return None if pd.isna(row.csm_id) else str(row.csm_id)


def hubspot_task_properties(row, policy: CrmTasksPolicy,
                            owners: dict[str, str | None] | None = None) -> dict[str, str]:
    """HubSpot task properties of one ``csm_tasks`` row (every value a string): due at the
    call's start, the talking points in the body, closed when done or cancelled."""
    properties = {
        "hs_timestamp": str(_due(row).value // 1_000_000),
        "hs_task_subject": _subject(row),
        "hs_task_body": _body(row),
        "hs_task_status": "COMPLETED" if _closed(row) else "NOT_STARTED",
        "hs_task_priority": _level(row.priority, policy),
        "hs_task_type": "CALL" if _is_call(row) else "TODO",
    }
    owner = _crm_owner(row, owners or {})
    if owner:
        properties["hubspot_owner_id"] = owner
    return properties


def _is_call(row) -> bool:
    return "call" in str(row.task_type).lower() or str(row.task_type) in (
        "renewal_discussion", "renewal_escalation", "risk_outreach", "expansion_conversation")


def hubspot_task_create(row, policy: CrmTasksPolicy,
                        owners: dict[str, str | None] | None = None) -> dict:
    """A SimplePublicObjectInputForCreate: properties plus associations to the company
    and (when known) the contact."""
    associations = [{"to": {"id": str(row.account_id)}, "types": [
        {"associationCategory": "HUBSPOT_DEFINED",
         "associationTypeId": policy.hubspot_company_association}]}]
    if not pd.isna(row.contact_id):
        associations.append({"to": {"id": str(row.contact_id)}, "types": [
            {"associationCategory": "HUBSPOT_DEFINED",
             "associationTypeId": policy.hubspot_contact_association}]})
    return {"properties": hubspot_task_properties(row, policy, owners),
            "associations": associations}


def salesforce_task(row, policy: CrmTasksPolicy,
                    owners: dict[str, str | None] | None = None) -> dict:
    """A Salesforce Task sObject of one ``csm_tasks`` row: ActivityDate is the owner's
    day, the reminder the call's start."""
    body = {
        "Subject": _subject(row),
        "ActivityDate": pd.Timestamp(row.due_date).date().isoformat(),
        "Description": _body(row),
        "Status": "Completed" if _closed(row) else "Not Started",
        "Priority": {"HIGH": "High", "MEDIUM": "Normal", "LOW": "Low"}[
            _level(row.priority, policy)],
        "WhatId": str(row.account_id),
    }
    if _known(getattr(row, "starts_at", None)) and not _closed(row):
        body["IsReminderSet"] = True
        body["ReminderDateTime"] = _due(row).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    owner = _crm_owner(row, owners or {})
    if owner:
        body["OwnerId"] = owner
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
    queue_owners: dict[str, str | None] | None = None,
) -> dict[str, int]:
    """Create or update in ``crm`` (hubspot or salesforce) every CSM task planned on
    ``as_of`` and close the ones this plan cancelled (``csm_task_versions``); counts of
    ``created``, ``updated`` and ``closed``. ``client`` defaults to the CRM's Airflow
    connection; ``queue_owners`` maps a pooled queue to the CRM user owning its tasks."""
    if crm not in ("hubspot", "salesforce"):
        raise ValueError(f"crm must be hubspot or salesforce, not {crm!r}")
    client = client or crm_client(policy, crm)
    tasks = warehouse.read_table("csm_tasks", {"plan_date": as_of}) \
        if warehouse.table_exists("csm_tasks") else pd.DataFrame()
    links = _links(warehouse, crm)
    counts = {"created": 0, "updated": 0, "closed": 0}
    owners = queue_owners or {}
    for row in tasks.sort_values("task_id").itertuples() if len(tasks) else []:
        if crm == "hubspot":
            create, update = hubspot_task_create(row, policy.crm_tasks, owners), {
                "properties": hubspot_task_properties(row, policy.crm_tasks, owners)}
        else:
            create = update = salesforce_task(row, policy.crm_tasks, owners)
        if row.task_id in links:
            client.update_task(links[row.task_id], update)
            counts["updated"] += 1
        else:
            crm_task_id = client.create_task(create)
            _record_link(warehouse, crm, row.task_id, crm_task_id, datetime.now(UTC))
            counts["created"] += 1
    for row in _cancelled_tasks(warehouse, as_of):
        if row.task_id not in links:
            continue  # never reached the CRM: nothing to close
        body = {"properties": hubspot_task_properties(row, policy.crm_tasks, owners)} \
            if crm == "hubspot" else salesforce_task(row, policy.crm_tasks, owners)
        client.update_task(links[row.task_id], body)
        counts["closed"] += 1
    return counts


def _cancelled_tasks(warehouse: Warehouse, as_of: date):
    from cadence.outputs.csm_task_files import VERSIONS

    if not warehouse.table_exists(VERSIONS):
        return []
    rows = warehouse.read_frame(warehouse.render("csm_tasks/cancelled_tasks.sql"),
                                {"plan_date": as_of})
    return list(rows.assign(status="cancelled", starts_at=None).itertuples())
