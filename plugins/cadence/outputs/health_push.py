"""Health in the marketing tool: score, band, tier, stage and signals pushed to HubSpot as
company properties, and the account's band, tier and stage as contact properties, so
campaigns run in HubSpot can respect them (policy ``connectors.health_push``).

Incremental and idempotent: ``crm_property_pushes`` (grain crm × object_type × object_id)
keeps the properties last pushed of every object; a run pushes only objects whose values
differ, through the batch update API (100 objects a request), and records each batch in
the same transaction that forgets the old record, right after HubSpot accepted it. A rerun
of the same day pushes nothing; a crash loses at most a batch's record, and pushing the
same values again changes nothing in HubSpot.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Protocol

import pandas as pd
import sqlalchemy as sa

from cadence.connectors.field_mapping import MappingError
from cadence.connectors.http import crm_client
from cadence.connectors.policy import ConnectorsPolicy, HealthPushPolicy
from cadence.contract.warehouse import Warehouse

TABLE = "crm_property_pushes"
OBJECTS = {"companies": "company_properties", "contacts": "contact_properties"}


class BatchClient(Protocol):
    """What the push needs from a HubSpot client."""

    def property_names(self, object_type: str) -> list[str]:
        """Every property the portal defines for an object type."""
        ...

    def batch_update(self, object_type: str, inputs: list[dict]) -> list[dict]:
        """Set the properties of up to 100 objects."""
        ...


def health_properties(health: pd.DataFrame, segments: pd.DataFrame, contacts: pd.DataFrame,
                      policy: HealthPushPolicy) -> pd.DataFrame:
    """The properties each company and contact should carry: one row per object_type
    (companies, contacts) × object_id with ``properties`` (HubSpot property -> text).
    Score is a whole number, signals are joined with ``;`` (a multiple-checkbox property;
    empty clears it). Only accounts scored that day are pushed, with their contacts."""
    by_type = {kind: group.groupby("account_id")["segment_key"].apply(sorted).to_dict()
               for kind, group in segments.groupby("segment_type")}
    values: dict[str, dict[str, str]] = {}
    for row in health.itertuples(index=False):
        values[row.account_id] = {
            "score": "" if pd.isna(row.score) else str(int(round(float(row.score)))),
            "band": "" if pd.isna(row.band) else str(row.band),
            "tier": ";".join(by_type.get("tier", {}).get(row.account_id, [])),
            "stage": ";".join(by_type.get("stage", {}).get(row.account_id, [])),
            "signals": ";".join(by_type.get("signal", {}).get(row.account_id, [])),
        }
    rows = [{"object_type": "companies", "object_id": account_id,
             "properties": {name: fields[field]
                            for field, name in policy.company_properties.items()}}
            for account_id, fields in values.items()]
    if policy.contact_properties:
        rows += [{"object_type": "contacts", "object_id": contact.contact_id,
                  "properties": {name: values[contact.account_id][field]
                                 for field, name in policy.contact_properties.items()}}
                 for contact in contacts.itertuples(index=False)
                 if contact.account_id in values]
    return pd.DataFrame(rows, columns=["object_type", "object_id", "properties"])


def changed(desired: pd.DataFrame, pushed: dict[str, str]) -> pd.DataFrame:
    """The rows of one object type whose properties differ from what was last pushed
    (``pushed``: object_id -> properties JSON)."""
    text = desired["properties"].map(lambda p: json.dumps(p, sort_keys=True))
    return desired.assign(text=text)[
        [pushed.get(i) != t for i, t in zip(desired["object_id"], text, strict=True)]]


def _check_properties(client: BatchClient, policy: HealthPushPolicy) -> None:
    for object_type, key in OBJECTS.items():
        wanted = getattr(policy, key)
        if not wanted:
            continue
        known = set(client.property_names(object_type))
        for field, name in wanted.items():
            if name not in known:
                raise MappingError(f"connectors.health_push.{key}.{field}: HubSpot has no"
                                   f" {object_type} property {name!r}; create it first")


def _last_pushed(warehouse: Warehouse, object_type: str) -> dict[str, str]:
    if not warehouse.table_exists(TABLE):
        return {}
    frame = warehouse.read_frame(warehouse.render("crm_push/last_pushed.sql"),
                                 {"crm": "hubspot", "object_type": object_type})
    return dict(zip(frame["object_id"], frame["properties"], strict=True))


def _record(warehouse: Warehouse, object_type: str, batch: pd.DataFrame, as_of: date,
            now: datetime) -> None:
    rows = [{"crm": "hubspot", "object_type": object_type, "object_id": object_id,
             "properties": text, "as_of_date": as_of, "pushed_at": now}
            for object_id, text in zip(batch["object_id"], batch["text"], strict=True)]
    with warehouse.engine.begin() as conn:
        conn.execute(sa.text(warehouse.render("crm_push/forget_push.sql")), rows)
        conn.execute(sa.text(warehouse.render("crm_push/record_push.sql")), rows)


def push_health_properties(warehouse: Warehouse, policy: ConnectorsPolicy, as_of: date,
                           now: datetime, client: BatchClient | None = None
                           ) -> dict[str, int]:
    """Push the health properties of ``as_of`` that changed since the last push; counts
    of companies and contacts pushed and left unchanged."""
    push = policy.health_push
    if not warehouse.table_exists("account_health"):
        return {"companies": 0, "contacts": 0, "unchanged": 0}
    from cadence.models.segments import segments_at

    health = warehouse.read_frame(warehouse.render("crm_push/account_health.sql"),
                                  {"as_of": as_of})
    contacts = warehouse.read_frame(warehouse.render("crm_push/contacts.sql"), {}) \
        if warehouse.table_exists("stg_contacts") else pd.DataFrame(
            columns=["contact_id", "account_id"])
    desired = health_properties(health, segments_at(warehouse, as_of), contacts, push)
    if not warehouse.table_exists(TABLE):
        warehouse.write_frame(TABLE, pd.DataFrame(columns=[
            "crm", "object_type", "object_id", "properties", "as_of_date", "pushed_at"]))
    client = client or crm_client(policy, "hubspot")
    _check_properties(client, push)
    counts = {"companies": 0, "contacts": 0, "unchanged": 0}
    for object_type in OBJECTS:
        rows = desired[desired["object_type"] == object_type]
        todo = changed(rows, _last_pushed(warehouse, object_type))
        counts["unchanged"] += len(rows) - len(todo)
        for start in range(0, len(todo), push.batch_size):
            batch = todo.iloc[start:start + push.batch_size]
            client.batch_update(object_type, [
                {"id": str(i), "properties": p}
                for i, p in zip(batch["object_id"], batch["properties"], strict=True)])
            _record(warehouse, object_type, batch, as_of, now)
            counts[object_type] += len(batch)
    return counts
