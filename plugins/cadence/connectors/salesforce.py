"""Salesforce REST connector: Account + renewal Opportunity -> accounts, Contact, User -> csms.

SOQL through ``GET /services/data/vXX.X/query?q=`` paged with ``nextRecordsUrl``; the
first load reads everything, later loads use ``queryAll`` on ``SystemModstamp`` so deleted
records come back with ``IsDeleted`` and are removed. OAuth 2.0 client credentials from the
Airflow connection ``salesforce_default`` (login = client id, password = client secret),
refreshed once on 401. ``REQUEST_LIMIT_EXCEEDED`` stops the run without retrying.
"""

from __future__ import annotations

from collections.abc import Iterator

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
    ApiLimitExceeded,
    Credentials,
    airflow_credentials,
    check,
    retrying_session,
)
from cadence.connectors.policy import HttpPolicy, ObjectMapping
from cadence.connectors.records import Batch, CrmSource, sync_object
from cadence.contract.entities import ENTITIES
from cadence.sources.base import SourceContext

SOURCE = "salesforce"
MODIFIED = "SystemModstamp"
# Objects without IsDeleted cannot be read incrementally with queryAll: always read whole.
WITHOUT_DELETES = ("User",)

# Quarantine entities whose rejects count against each cadence entity.
REJECTED_AS = {
    "accounts": ("salesforce.Account", "salesforce.Opportunity"),
    "contacts": ("salesforce.Contact",),
    "csms": ("salesforce.User",),
}


class SalesforceClient:
    """The Salesforce REST calls cadence makes, with an OAuth token refreshed once on 401."""

    def __init__(self, credentials: Credentials, http: HttpPolicy, api_version: str) -> None:
        self.credentials = credentials
        self.timeout = http.timeout_seconds
        self.api = f"/services/data/{api_version}"
        self.session = retrying_session(http)
        self.writer = retrying_session(http, creates=True)
        self.instance_url: str | None = None

    def authenticate(self) -> None:
        """Get a fresh access token (client-credentials flow)."""
        response = self.session.post(
            f"{self.credentials.host}/services/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": self.credentials.login,
                  "client_secret": self.credentials.secret},
            timeout=self.timeout,
        )
        token = check(response, "Salesforce token").json()
        self.instance_url = token.get("instance_url") or self.credentials.host
        for session in (self.session, self.writer):
            session.headers["Authorization"] = f"Bearer {token['access_token']}"

    def request(self, method: str, path: str, what: str, *, creates: bool = False,
                **kwargs) -> dict | None:
        """One API call (path relative to the instance); JSON body or None when empty."""
        if self.instance_url is None:
            self.authenticate()
        session = self.writer if creates else self.session
        response = session.request(method, self.instance_url + path, timeout=self.timeout,
                                   **kwargs)
        if response.status_code == 401:
            self.authenticate()
            response = session.request(method, self.instance_url + path,
                                       timeout=self.timeout, **kwargs)
        if response.status_code >= 400 and "REQUEST_LIMIT_EXCEEDED" in response.text:
            raise ApiLimitExceeded(
                f"{what}: Salesforce API request limit exceeded"
                f" ({response.headers.get('Sforce-Limit-Info', 'no limit info')});"
                " the load resumes from its watermark next run"
            )
        check(response, what)
        return response.json() if response.content else None

    def query(self, soql: str, include_deleted: bool = False) -> Iterator[dict]:
        """Every record of a SOQL query, following ``nextRecordsUrl``."""
        endpoint = "queryAll" if include_deleted else "query"
        page = self.request("GET", f"{self.api}/{endpoint}", "Salesforce query",
                            params={"q": soql})
        while True:
            yield from page.get("records", [])
            if page.get("done", True) or not page.get("nextRecordsUrl"):
                return
            page = self.request("GET", page["nextRecordsUrl"], "Salesforce query")

    def field_names(self, sobject: str) -> list[str]:
        """Names of every field of an sObject (the describe call)."""
        described = self.request("GET", f"{self.api}/sobjects/{sobject}/describe",
                                 f"Salesforce describe {sobject}")
        return [f["name"] for f in described.get("fields", [])]

    def create_task(self, body: dict) -> str:
        """Create a Task; its Salesforce id."""
        created = self.request("POST", f"{self.api}/sobjects/Task", "Salesforce create Task",
                               creates=True, json=body)
        return str(created["id"])

    def create_opportunity(self, body: dict) -> str:
        """Create an Opportunity; its Salesforce id."""
        created = self.request("POST", f"{self.api}/sobjects/Opportunity",
                               "Salesforce create Opportunity", creates=True, json=body)
        return str(created["id"])

    def update_task(self, task_id: str, body: dict) -> None:
        """Update a Task."""
        self.request("PATCH", f"{self.api}/sobjects/Task/{task_id}", "Salesforce update Task",
                     json=body)


def soql_time(stamp: pd.Timestamp) -> str:
    """A SOQL datetime literal (UTC, whole seconds: a re-read second is harmless)."""
    return stamp.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_sobject(raw: dict) -> CrmRecord:
    """A Salesforce record as a :class:`CrmRecord`; :class:`MalformedRecord` when ``Id`` is
    missing or ``SystemModstamp`` does not parse."""
    record_id = str(raw.get("Id") or "").strip()
    if not record_id:
        raise MalformedRecord("Id is missing")
    return CrmRecord(
        record_id=record_id,
        modified_at=parse_time(raw.get(MODIFIED), MODIFIED),
        properties={k: v for k, v in raw.items() if k != "attributes"},
    )


class SalesforceSource(CrmSource):
    """A :class:`cadence.sources.Source` serving accounts, contacts and csms from Salesforce."""

    name = SOURCE
    id_field = "Id"
    rejected_as = REJECTED_AS

    @classmethod
    def from_context(cls, context: SourceContext) -> SalesforceSource:
        """The source as the extract of one run builds it (see
        :meth:`HubSpotSource.from_context`)."""
        whole = context.policy
        policy = whole.connectors
        client = SalesforceClient(airflow_credentials(policy.salesforce.conn_id), policy.http,
                                  policy.salesforce.api_version)
        return cls(context.warehouse, policy.salesforce, client, context.run_id,
                   context.loaded_at, whole.quality.threshold)

    def _sync(self, sobject: str, mapping: ObjectMapping, entity: str, policy_key: str,
              extra: tuple[str, ...] = ()) -> dict[str, CrmRecord]:
        check_mapping(mapping, self.client.field_names(sobject), ENTITIES[entity], policy_key)
        fields = sorted({"Id", MODIFIED, *mapping.properties(), *extra})
        select = f"SELECT {', '.join(fields)} FROM {sobject}"

        def fetch(since: pd.Timestamp | None) -> Batch:
            if since is None or sobject in WITHOUT_DELETES:
                return Batch(list(self.client.query(select)), full=True)
            soql = (f"SELECT {', '.join([*fields, 'IsDeleted'])} FROM {sobject}"
                    f" WHERE {MODIFIED} >= {soql_time(since)} ORDER BY {MODIFIED}")
            records, deleted = [], set()
            for raw in self.client.query(soql, include_deleted=True):
                if raw.get("IsDeleted") and raw.get("Id"):
                    deleted.add(raw["Id"])
                else:
                    records.append(raw)
            return Batch(records, deleted)

        return sync_object(self.warehouse, SOURCE, sobject, fetch, parse_sobject,
                           lambda stamp: stamp.isoformat(), self.quarantine, self.loaded_at)

    def _accounts(self) -> pd.DataFrame:
        accounts = ENTITIES["accounts"]
        records = self._sync("Account", self.policy.account, "accounts",
                             "connectors.salesforce.account")
        opportunities = self._sync("Opportunity", self.policy.opportunity, "accounts",
                                   "connectors.salesforce.opportunity", ("AccountId",))
        rows, rejected = map_records(records.values(), self.policy.account, accounts,
                                     lambda r: {"account_id": r.record_id})
        self._reject("Account", rejected)
        renewals, rejected = map_records(opportunities.values(), self.policy.opportunity,
                                         accounts,
                                         lambda r: {"account_id": r.properties.get("AccountId")})
        self._reject("Opportunity", rejected)
        return join_renewals(rows, renewals[renewals["account_id"].notna()])

    def _contacts(self) -> pd.DataFrame:
        records = self._sync("Contact", self.policy.contact, "contacts",
                             "connectors.salesforce.contact")
        rows, rejected = map_records(records.values(), self.policy.contact,
                                     ENTITIES["contacts"], lambda r: {"contact_id": r.record_id})
        self._reject("Contact", rejected)
        return rows

    def _csms(self) -> pd.DataFrame:
        records = self._sync("User", self.policy.user, "csms", "connectors.salesforce.user")
        rows, rejected = map_records(records.values(), self.policy.user, ENTITIES["csms"],
                                     lambda r: {"csm_id": r.record_id})
        self._reject("User", rejected)
        return rows
