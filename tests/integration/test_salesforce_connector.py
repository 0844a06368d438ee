"""The Salesforce connector against a local stand-in answering in Salesforce's REST shapes
(totalSize, done, nextRecordsUrl, records[] with attributes)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest

from cadence.connectors.http import ApiLimitExceeded, Credentials
from cadence.connectors.policy import HttpPolicy, SalesforcePolicy
from cadence.connectors.salesforce import SalesforceClient, SalesforceSource
from cadence.connectors.watermarks import get_watermark
from cadence.contract.entities import ENTITIES
from tests.integration.crm_stand_ins import JsonHandler, serve

API = "/services/data/v61.0"
FIELDS = {
    "Account": ["Id", "Name", "Industry", "BillingCountry", "BillingCountryCode", "OwnerId",
                "CreatedDate", "Type", "AnnualRevenue", "NumberOfEmployees",
                "LastModifiedDate", "SystemModstamp", "IsDeleted"],
    "Opportunity": ["Id", "AccountId", "CloseDate", "Amount", "StageName", "Type",
                    "SystemModstamp", "IsDeleted"],
    "Contact": ["Id", "AccountId", "Email", "FirstName", "LastName", "Phone", "Title",
                "LastModifiedDate", "SystemModstamp", "IsDeleted"],
    "User": ["Id", "Name", "Email", "TimeZoneSidKey", "ManagerId", "IsActive",
             "SystemModstamp"],
}
SOQL = re.compile(r"SELECT (?P<fields>.+) FROM (?P<obj>\w+)"
                  r"(?: WHERE SystemModstamp >= (?P<since>\S+) ORDER BY SystemModstamp)?$")


class FakeSalesforce:
    """In-memory org: records per sObject, tokens, injected faults, created Tasks."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, dict]] = {o: {} for o in [*FIELDS, "Task"]}
        self.valid_tokens = {"token-1"}
        self.issued = 0
        self.faults: list[tuple[str, int, object]] = []  # path prefix, status, body
        self.cursors: dict[str, list[dict]] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self.page_size = 2

    def put(self, sobject: str, record_id: str, stamp: str, deleted: bool = False, **fields):
        self.records[sobject][record_id] = {"Id": record_id, "SystemModstamp": stamp,
                                            "IsDeleted": deleted, **fields}

    def page(self, rows: list[dict]) -> dict:
        head, rest = rows[:self.page_size], rows[self.page_size:]
        out = {"totalSize": len(rows), "done": not rest, "records": head}
        if rest:
            cursor = f"01gD0000002HU6KIAW-{len(self.cursors) + 1}"
            self.cursors[cursor] = rest
            out["nextRecordsUrl"] = f"{API}/query/{cursor}"
        return out


def _handler(fake: FakeSalesforce):
    class Handler(JsonHandler):
        def _handle(self, method):
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            fake.requests.append((method, url.path, dict(parse_qs(url.query))))
            for i, (prefix, status, body) in enumerate(fake.faults):
                if url.path.startswith(prefix):
                    fake.faults.pop(i)
                    return self._send(status, body)
            if url.path == "/services/oauth2/token":
                form = parse_qs(raw)
                if form.get("client_secret") != ["s3cret"]:
                    return self._send(400, {"error": "invalid_client"})
                fake.issued += 1
                token = f"token-{fake.issued}"
                fake.valid_tokens.add(token)
                return self._send(200, {"access_token": token, "instance_url":
                                        f"http://127.0.0.1:{self.server.server_address[1]}",
                                        "token_type": "Bearer"})
            if self.headers.get("Authorization", "").removeprefix("Bearer ") \
                    not in fake.valid_tokens:
                return self._send(401, [{"message": "Session expired or invalid",
                                         "errorCode": "INVALID_SESSION_ID"}])
            parts = url.path.removeprefix(API + "/").split("/")
            if parts[0] == "sobjects" and parts[-1] == "describe":
                return self._send(200, {"name": parts[1],
                                        "fields": [{"name": f} for f in FIELDS[parts[1]]]})
            if parts[0] in ("query", "queryAll") and len(parts) == 2:
                return self._send(200, fake.page(fake.cursors.pop(parts[1])))
            if parts[0] in ("query", "queryAll"):
                return self._query(parts[0] == "queryAll", parse_qs(url.query)["q"][0])
            if parts[:2] == ["sobjects", "Task"] and method == "POST":
                task_id = f"00T{len(fake.records['Task']) + 1:012d}"
                fake.records["Task"][task_id] = json.loads(raw)
                return self._send(201, {"id": task_id, "success": True, "errors": []})
            if parts[:2] == ["sobjects", "Opportunity"] and method == "POST":
                opportunity_id = f"006X{len(fake.records['Opportunity']) + 1:011d}"
                fake.records["Opportunity"][opportunity_id] = json.loads(raw)
                return self._send(201, {"id": opportunity_id, "success": True, "errors": []})
            if parts[:2] == ["sobjects", "Task"] and method == "PATCH":
                fake.records["Task"][parts[2]].update(json.loads(raw))
                return self._send(204)
            return self._send(404, [{"errorCode": "NOT_FOUND", "message": url.path}])

        def _query(self, include_deleted, soql):
            match = SOQL.match(soql)
            fields = [f.strip() for f in match["fields"].split(",")]
            unknown = [f for f in fields if f not in FIELDS[match["obj"]]]
            if unknown:
                return self._send(400, [{"errorCode": "INVALID_FIELD", "message": unknown[0]}])
            rows = sorted(fake.records[match["obj"]].values(),
                          key=lambda r: (r["SystemModstamp"], r["Id"]))
            if match["since"]:
                since = pd.Timestamp(match["since"])
                rows = [r for r in rows if pd.Timestamp(r["SystemModstamp"]) >= since]
            if not include_deleted:
                rows = [r for r in rows if not r.get("IsDeleted")]
            shaped = [{"attributes": {"type": match["obj"],
                                      "url": f"{API}/sobjects/{match['obj']}/{r['Id']}"},
                       **{f: r.get(f) for f in fields}} for r in rows]
            return self._send(200, fake.page(shaped))

    return Handler


@pytest.fixture
def salesforce():
    """A running stand-in Salesforce org."""
    fake = FakeSalesforce()
    server = serve(fake, _handler)
    yield fake
    server.shutdown()
    server.server_close()


FAST = HttpPolicy(retries=3, backoff_seconds=0, max_backoff_seconds=0, timeout_seconds=5)


def make_client(fake) -> SalesforceClient:
    return SalesforceClient(Credentials(fake.url, "client-id", "s3cret"), FAST, "v61.0")


def make_source(fake, warehouse, run="r1", when="2026-11-20T02:00:00+00:00", threshold=0.05):
    return SalesforceSource(warehouse, SalesforcePolicy(), make_client(fake), run,
                            datetime.fromisoformat(when), lambda _entity: threshold)


def seed(fake: FakeSalesforce) -> None:
    fake.put("User", "005A", "2026-01-01T00:00:00.000+0000", Name="Ada Lovelace",
             Email="ada@example.com", TimeZoneSidKey="Europe/Berlin", IsActive=True)
    fake.put("User", "005B", "2026-01-01T00:00:00.000+0000", Name="Gone", Email="g@x.com",
             IsActive=False)
    for n in range(1, 6):
        stamp = f"2026-11-0{n}T10:00:00.000+0000"
        fake.put("Account", f"001{n}", stamp, Name=f"Acme {n}", Industry="Software",
                 BillingCountry="France", OwnerId="005A", CreatedDate="2025-02-01T09:00:00Z",
                 Type="Customer - Direct", LastModifiedDate=stamp)
        fake.put("Opportunity", f"006{n}", stamp, AccountId=f"001{n}", CloseDate="2027-01-31",
                 Amount=50000.0, StageName="Negotiation/Review", Type="Renewal")
        fake.put("Contact", f"003{n}", stamp, AccountId=f"001{n}",
                 Email=f"c{n}@example.com", FirstName="Sam", LastName=None,
                 LastModifiedDate=stamp)
    fake.put("Opportunity", "0069", "2026-11-01T10:00:00.000+0000", AccountId="0011",
             CloseDate="2026-12-01", Amount=1.0, StageName="Prospecting", Type="New Business")


def test_full_load_follows_next_records_url_and_maps_the_contract(salesforce, warehouse):
    seed(salesforce)
    source = make_source(salesforce, warehouse)
    accounts = source.read(ENTITIES["accounts"]).set_index("account_id")
    contacts = source.read(ENTITIES["contacts"])
    csms = source.read(ENTITIES["csms"])

    assert len(accounts) == 5 and len(contacts) == 5
    acme = accounts.loc["0011"]
    assert (acme["arr"], acme["renewal_date"], acme["renewal_status"], acme["status"],
            acme["contract_start"], acme["csm_id"]) == (
        "50000.0", "2027-01-31", "committed", "active", "2025-02-01", "005A")
    assert csms["csm_id"].tolist() == ["005A"]
    follow_ups = [r for r in salesforce.requests if r[1].startswith(f"{API}/query/")]
    assert len(follow_ups) >= 2 * 3  # five records at two per page, for three objects
    assert get_watermark(warehouse, "salesforce", "Account") == "2026-11-05T10:00:00+00:00"


def test_incremental_load_uses_query_all_and_removes_deleted(salesforce, warehouse):
    seed(salesforce)
    make_source(salesforce, warehouse).read(ENTITIES["contacts"])
    salesforce.requests.clear()
    salesforce.put("Contact", "0032", "2026-11-10T08:00:00.000+0000", AccountId="0012",
                   Email="moved@example.com", LastModifiedDate="2026-11-10T08:00:00Z")
    salesforce.put("Contact", "0034", "2026-11-10T09:00:00.000+0000", deleted=True)

    contacts = make_source(salesforce, warehouse, run="r2").read(ENTITIES["contacts"])

    assert sorted(contacts["contact_id"]) == ["0031", "0032", "0033", "0035"]
    assert contacts.set_index("contact_id").loc["0032", "email"] == "moved@example.com"
    queries = [r for r in salesforce.requests if r[1] == f"{API}/queryAll"]
    assert queries and "SystemModstamp >= 2026-11-05T10:00:00Z" in queries[0][2]["q"][0]


def test_expired_token_is_refreshed_once(salesforce, warehouse):
    seed(salesforce)
    client = make_client(salesforce)
    client.authenticate()
    salesforce.valid_tokens.clear()  # the session expires
    names = client.field_names("Account")
    assert "Name" in names
    assert salesforce.issued == 2


def test_request_limit_exceeded_stops_without_moving_the_watermark(salesforce, warehouse):
    seed(salesforce)
    make_source(salesforce, warehouse).read(ENTITIES["contacts"])
    salesforce.faults = [(f"{API}/queryAll", 403, [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])]
    with pytest.raises(ApiLimitExceeded, match="limit exceeded"):
        make_source(salesforce, warehouse, run="r2").read(ENTITIES["contacts"])
    assert get_watermark(warehouse, "salesforce", "Contact") == "2026-11-05T10:00:00+00:00"


def test_server_errors_are_retried(salesforce, warehouse):
    seed(salesforce)
    salesforce.faults = [(f"{API}/query", 503, None), (f"{API}/query", 500, None)]
    assert len(make_source(salesforce, warehouse).read(ENTITIES["contacts"])) == 5


def test_malformed_record_is_quarantined_with_source_and_id(salesforce, warehouse):
    seed(salesforce)
    salesforce.put("Contact", "0039", "not a timestamp", AccountId="0011",
                   Email="x@example.com")
    contacts = make_source(salesforce, warehouse, threshold=0.2).read(ENTITIES["contacts"])
    assert "0039" not in set(contacts["contact_id"]) and len(contacts) == 5
    row = warehouse.read_table("quarantine").iloc[0]
    assert row["entity"] == "salesforce.Contact" and "SystemModstamp" in row["rule"]
    assert json.loads(row["row"])["Id"] == "0039"


def test_standard_fields_fill_country_zone_arr_and_role(salesforce, warehouse):
    """BillingCountry (a name) becomes an ISO code and the account's zone, AnnualRevenue the
    ARR of an account without a renewal opportunity, Contact Title the role."""
    seed(salesforce)
    stamp = "2026-11-06T10:00:00.000+0000"
    salesforce.put("Account", "0016", stamp, Name="No renewal", BillingCountry="Germany",
                   AnnualRevenue=75000.0, OwnerId="005A", CreatedDate="2025-02-01T09:00:00Z",
                   Type="Customer - Direct", LastModifiedDate=stamp)
    for n, title in enumerate(["VP Engineering", "Accounts Payable Clerk", "Engineer"], 1):
        salesforce.records["Contact"][f"003{n}"]["Title"] = title
    source = make_source(salesforce, warehouse)

    accounts = source.read(ENTITIES["accounts"]).set_index("account_id")
    contacts = source.read(ENTITIES["contacts"]).set_index("contact_id")

    assert accounts.loc["0011", ["country", "timezone", "arr", "csm_id"]].tolist() == [
        "FR", "Europe/Paris", "50000.0", "005A"]  # the opportunity's amount wins
    assert accounts.loc["0016", ["country", "timezone", "arr"]].tolist() == [
        "DE", "Europe/Berlin", "75000.0"]
    assert contacts["role"].fillna("").to_dict() == {
        "0031": "executive", "0032": "billing", "0033": "user", "0034": "", "0035": ""}
