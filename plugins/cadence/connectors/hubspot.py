"""HubSpot CRM v3 connector: companies + renewal deals -> accounts, contacts, owners -> csms.

The first load lists every object (``GET /crm/v3/objects/{type}`` paged with ``after``);
later loads search what changed (``POST .../search`` on the last-modified property, GTE
the watermark in epoch milliseconds), re-anchoring the watermark at the search API's
10,000-result limit. Archived objects and contacts merged into another are removed.
The private-app token comes from the Airflow connection ``hubspot_default``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import pandas as pd

from cadence.connectors.field_mapping import (
    CrmRecord,
    MalformedRecord,
    check_mapping,
    join_renewals,
    map_records,
    parse_time,
)
from cadence.connectors.http import (
    ConnectorError,
    Credentials,
    airflow_credentials,
    check,
    retrying_session,
)
from cadence.connectors.policy import HttpPolicy, HubSpotPolicy, ObjectMapping
from cadence.connectors.records import Batch, CrmSource, sync_object
from cadence.contract.entities import ENTITIES
from cadence.contract.warehouse import Warehouse
from cadence.sources.base import SourceContext

SOURCE = "hubspot"
MERGED_IDS = "hs_merged_object_ids"
PRIMARY_COMPANY = "associatedcompanyid"

# Quarantine entities whose rejects count against each cadence entity.
REJECTED_AS = {
    "accounts": ("hubspot.companies", "hubspot.deals"),
    "contacts": ("hubspot.contacts",),
    "csms": ("hubspot.owners",),
}


class HubSpotClient:
    """The few HubSpot CRM v3 calls cadence makes, with retries and bearer auth."""

    def __init__(self, credentials: Credentials, http: HttpPolicy, page_size: int = 100,
                 search_limit: int = 10_000) -> None:
        self.base_url = credentials.host or "https://api.hubapi.com"
        self.timeout = http.timeout_seconds
        self.page_size = page_size
        self.search_limit = search_limit
        self.session = retrying_session(http)
        self.writer = retrying_session(http, creates=True)
        for session in (self.session, self.writer):
            session.headers["Authorization"] = f"Bearer {credentials.secret}"

    def _call(self, method: str, path: str, what: str, *, creates: bool = False, **kwargs):
        session = self.writer if creates else self.session
        response = session.request(method, self.base_url + path, timeout=self.timeout, **kwargs)
        return check(response, what).json()

    def _pages(self, path: str, params: dict, what: str) -> Iterator[dict]:
        after = None
        while True:
            page = self._call("GET", path, what, params={**params, **({"after": after} if after
                                                                        else {})})
            yield from page.get("results", [])
            after = (page.get("paging") or {}).get("next", {}).get("after")
            if not after:
                return

    def list_objects(self, object_type: str, properties: list[str],
                     associations: tuple[str, ...] = (), archived: bool = False) -> list[dict]:
        """Every (or every archived) object of a type with the given properties."""
        params = {"limit": self.page_size, "properties": ",".join(properties),
                  "archived": str(archived).lower()}
        if associations:
            params["associations"] = ",".join(associations)
        return list(self._pages(f"/crm/v3/objects/{object_type}", params,
                                f"HubSpot list {object_type}"))

    def get_object(self, object_type: str, object_id: str, properties: list[str],
                   associations: tuple[str, ...]) -> dict:
        """One object with its associations (the search API does not return them)."""
        params = {"properties": ",".join(properties), "associations": ",".join(associations)}
        return self._call("GET", f"/crm/v3/objects/{object_type}/{object_id}",
                          f"HubSpot get {object_type}", params=params)

    def search_changed(self, object_type: str, modified_property: str, since_ms: int,
                       properties: list[str]) -> list[dict]:
        """Objects modified at or after ``since_ms``, oldest first. A query stops at the
        search limit, so the next query starts from the newest time seen so far."""
        results: list[dict] = []
        anchor = since_ms
        while True:
            fetched, newest, after = 0, anchor, "0"
            while True:
                body = search_body(modified_property, anchor, properties, after, self.page_size)
                page = self._call("POST", f"/crm/v3/objects/{object_type}/search",
                                  f"HubSpot search {object_type}", json=body)
                rows = page.get("results", [])
                results.extend(rows)
                fetched += len(rows)
                for row in rows:
                    newest = max(newest, _modified_ms(row, modified_property))
                after = (page.get("paging") or {}).get("next", {}).get("after")
                if not after or fetched + self.page_size > self.search_limit:
                    break
            if not after:
                return results
            if newest <= anchor:
                raise ConnectorError(
                    f"HubSpot search {object_type}: more than {self.search_limit} objects"
                    f" modified at {anchor} ms; cannot page past the search limit"
                )
            anchor = newest

    def property_names(self, object_type: str) -> list[str]:
        """Names of every property the portal defines for an object type."""
        page = self._call("GET", f"/crm/v3/properties/{object_type}",
                          f"HubSpot properties {object_type}")
        return [p["name"] for p in page.get("results", [])]

    def owners(self, archived: bool = False) -> list[dict]:
        """Every (or every archived) owner: the CSMs."""
        return list(self._pages("/crm/v3/owners", {"limit": self.page_size,
                                                   "archived": str(archived).lower()},
                                "HubSpot owners"))

    def create_task(self, body: dict) -> str:
        """Create a task; its HubSpot id."""
        return str(self._call("POST", "/crm/v3/objects/tasks", "HubSpot create task",
                              creates=True, json=body)["id"])

    def create_deal(self, body: dict) -> str:
        """Create a deal; its HubSpot id (never retried once sent: no duplicates)."""
        return str(self._call("POST", "/crm/v3/objects/deals", "HubSpot create deal",
                              creates=True, json=body)["id"])

    def batch_update(self, object_type: str, inputs: list[dict]) -> list[dict]:
        """Set properties of up to 100 objects (``POST .../batch/update``); the updated
        objects. Setting the same values again changes nothing, so it is retried."""
        page = self._call("POST", f"/crm/v3/objects/{object_type}/batch/update",
                          f"HubSpot batch update {object_type}", json={"inputs": inputs})
        return page.get("results", [])

    def update_task(self, task_id: str, body: dict) -> None:
        """Update a task's properties."""
        self._call("PATCH", f"/crm/v3/objects/tasks/{task_id}", "HubSpot update task",
                   json=body)


def search_body(modified_property: str, since_ms: int, properties: list[str], after: str,
                limit: int) -> dict:
    """A PublicObjectSearchRequest for objects modified at or after ``since_ms``."""
    return {
        "filterGroups": [{"filters": [
            {"propertyName": modified_property, "operator": "GTE", "value": str(since_ms)}
        ]}],
        "sorts": [modified_property],
        "properties": properties,
        "limit": limit,
        "after": after,
    }


def epoch_ms(stamp: pd.Timestamp) -> str:
    """A watermark as HubSpot filters take it: epoch milliseconds in a string."""
    return str(stamp.value // 1_000_000)


def _modified_ms(raw: dict, modified_property: str) -> int:
    # An unparseable time counts as 0 here; the record itself is quarantined on parsing.
    try:
        return int(epoch_ms(parse_time((raw.get("properties") or {}).get(modified_property),
                                       modified_property)))
    except MalformedRecord:
        return 0


def _first(ids: list[str] | None) -> str | None:
    return ids[0] if ids else None


class HubSpotSource(CrmSource):
    """A :class:`cadence.sources.Source` serving accounts, contacts and csms from HubSpot."""

    name = SOURCE
    id_field = "id"
    rejected_as = REJECTED_AS

    def __init__(self, warehouse: Warehouse, policy: HubSpotPolicy, client: HubSpotClient,
                 run_id: str, loaded_at: datetime,
                 reject_threshold: Callable[[str], float] = lambda _entity: 0.05) -> None:
        super().__init__(warehouse, policy, client, run_id, loaded_at, reject_threshold)
        self._synced: dict[str, dict[str, CrmRecord]] = {}

    @classmethod
    def from_context(cls, context: SourceContext) -> HubSpotSource:
        """The source as the extract of one run builds it: the run's warehouse, policy, id
        and load time; the token from the Airflow connection."""
        whole = context.policy
        policy = whole.connectors
        client = HubSpotClient(airflow_credentials(policy.hubspot.conn_id), policy.http,
                               policy.hubspot.page_size, policy.hubspot.search_limit)
        return cls(context.warehouse, policy.hubspot, client, context.run_id,
                   context.loaded_at, whole.quality.threshold)

    # -- objects ------------------------------------------------------------------------
    def _properties(self, object_type: str, mapping: ObjectMapping, extra: list[str],
                    policy_key: str) -> list[str]:
        check_mapping(mapping, self.client.property_names(object_type), ENTITIES[
            "contacts" if object_type == "contacts" else "accounts"], policy_key)
        modified = self.policy.modified_property[object_type]
        return sorted({*mapping.properties(), modified, *extra})

    def _sync(self, object_type: str, mapping: ObjectMapping, policy_key: str,
              extra: list[str], associations: tuple[str, ...] = ()) -> dict[str, CrmRecord]:
        if object_type in self._synced:
            return self._synced[object_type]
        properties = self._properties(object_type, mapping, extra, policy_key)
        modified = self.policy.modified_property[object_type]

        def fetch(since: pd.Timestamp | None) -> Batch:
            archived = {r["id"] for r in self.client.list_objects(
                object_type, ["hs_object_id"], archived=True) if r.get("id")}
            if since is None:
                records = self.client.list_objects(object_type, properties, associations)
                return Batch(records, archived | _merged(records), full=True)
            records = self.client.search_changed(object_type, modified, int(epoch_ms(since)),
                                                 properties)
            if associations:
                # Search results carry no associations: read them for the changed few.
                records = [self.client.get_object(object_type, r["id"], properties,
                                                  associations) if r.get("id") else r
                           for r in records]
            return Batch(records, archived | _merged(records))

        self._synced[object_type] = sync_object(
            self.warehouse, SOURCE, object_type, fetch, lambda raw: parse_object(raw, modified),
            epoch_ms, self.quarantine, self.loaded_at)
        return self._synced[object_type]

    # -- entities -----------------------------------------------------------------------
    def _accounts(self) -> pd.DataFrame:
        accounts = ENTITIES["accounts"]
        companies = self._sync("companies", self.policy.company, "connectors.hubspot.company",
                               [])
        deals = self._sync("deals", self.policy.deal, "connectors.hubspot.deal", [],
                           ("companies",))
        rows, rejected = map_records(companies.values(), self.policy.company, accounts,
                                     lambda r: {"account_id": r.record_id})
        self._reject("companies", rejected)
        renewals, rejected = map_records(
            deals.values(), self.policy.deal, accounts,
            lambda r: {"account_id": _first(r.associations.get("companies"))})
        self._reject("deals", rejected)
        return join_renewals(rows, renewals[renewals["account_id"].notna()])

    def _contacts(self) -> pd.DataFrame:
        records = self._sync("contacts", self.policy.contact, "connectors.hubspot.contact",
                             [MERGED_IDS, PRIMARY_COMPANY], ("companies",))
        rows, rejected = map_records(
            records.values(), self.policy.contact, ENTITIES["contacts"],
            lambda r: {"contact_id": r.record_id,
                       "account_id": _first(r.associations.get("companies"))
                       or r.properties.get(PRIMARY_COMPANY)})
        self._reject("contacts", rejected)
        return rows

    def _csms(self) -> pd.DataFrame:
        def fetch(_since: pd.Timestamp | None) -> Batch:
            return Batch(self.client.owners(), full=True)

        owners = sync_object(self.warehouse, SOURCE, "owners", fetch, parse_owner, epoch_ms,
                             self.quarantine, self.loaded_at)
        rows = [
            {"csm_id": o.record_id,
             "name": " ".join(p for p in (o.properties.get("firstName"),
                                          o.properties.get("lastName")) if p) or None,
             "email": o.properties.get("email"),
             "manager_id": self._manager(o)}
            for o in owners.values()
        ]
        return pd.DataFrame(rows, columns=ENTITIES["csms"].column_names, dtype=object)


    def _manager(self, owner: CrmRecord) -> str | None:
        # policy owner_managers first, else the manager of the owner's primary team; an
        # owner is never their own manager.
        manager = self.policy.owner_managers.get(owner.record_id)
        if manager is None:
            teams = owner.properties.get("teams") or []
            primary = next((t for t in teams if t.get("primary")), None)
            manager = self.policy.team_managers.get(str(primary["id"])) if primary else None
        return manager if manager != owner.record_id else None


def _merged(records: list[dict]) -> set[str]:
    # A merged contact lives on in the survivor, which lists the ids it absorbed.
    ids: set[str] = set()
    for raw in records:
        value = (raw.get("properties") or {}).get(MERGED_IDS)
        if value:
            ids.update(part.strip() for part in str(value).split(";") if part.strip())
    return ids


def parse_object(raw: dict, modified_property: str) -> CrmRecord:
    """A HubSpot object as a :class:`CrmRecord`; :class:`MalformedRecord` when the id is
    missing or the last-modified time does not parse."""
    record_id = str(raw.get("id") or "").strip()
    if not record_id:
        raise MalformedRecord("id is missing")
    properties = dict(raw.get("properties") or {})
    modified = properties.get(modified_property) or raw.get("updatedAt")
    return CrmRecord(
        record_id=record_id,
        modified_at=parse_time(modified, modified_property),
        properties=properties,
        associations={
            name: [str(a["id"]) for a in (assoc.get("results") or []) if a.get("id")]
            for name, assoc in (raw.get("associations") or {}).items()
        },
    )


def parse_owner(raw: dict) -> CrmRecord:
    """A HubSpot owner as a :class:`CrmRecord` (name and email kept as properties)."""
    record_id = str(raw.get("id") or "").strip()
    if not record_id:
        raise MalformedRecord("id is missing")
    return CrmRecord(
        record_id=record_id,
        modified_at=parse_time(raw.get("updatedAt"), "updatedAt"),
        properties={k: raw.get(k) for k in ("firstName", "lastName", "email", "teams")},
    )
