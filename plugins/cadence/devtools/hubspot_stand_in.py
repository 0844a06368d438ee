"""A local stand-in HubSpot (CRM v3) on 127.0.0.1 serving HubSpot's real response shapes:
objects listed and searched with ``after`` paging, owners, property descriptions, objects
created (tasks, deals), updated and batch-updated; it records every request and can inject
faults. The connector, CRM task, contract and end-to-end tests use it, and ``make demo``
runs the nightly's CRM writes against it (never a real portal)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

TOKEN = "pat-na1-test-token"
MODIFIED = {"companies": "hs_lastmodifieddate", "deals": "hs_lastmodifieddate",
            "contacts": "lastmodifieddate"}
PROPERTIES = {
    "companies": {"name", "industry", "country", "hubspot_owner_id", "lifecyclestage",
                  "hs_lifecyclestage_customer_date", "hs_lastmodifieddate", "hs_object_id",
                  "timezone", "annualrevenue", "numberofemployees"},
    "deals": {"closedate", "amount", "dealstage", "pipeline", "hs_lastmodifieddate",
              "hs_object_id"},
    "contacts": {"email", "firstname", "lastname", "hs_language", "phone", "lastmodifieddate",
                 "hs_merged_object_ids", "associatedcompanyid", "hs_object_id", "hs_timezone",
                 "jobtitle"},
    "tasks": {"hs_timestamp", "hs_task_subject", "hs_task_body", "hs_task_status",
              "hs_task_priority", "hubspot_owner_id", "hs_task_type"},
}


class FakeHubSpot:
    """In-memory HubSpot: objects, archived objects, owners, tasks, and injected faults."""

    def __init__(self, search_limit: int = 10_000,
                 custom_properties: dict[str, set[str]] | None = None) -> None:
        # The portal's properties per object type: HubSpot's own plus any custom ones an
        # admin created (a policy mapping may name them).
        self.properties = {t: PROPERTIES[t] | (custom_properties or {}).get(t, set())
                           for t in PROPERTIES}
        self.objects: dict[str, dict[str, dict]] = {t: {} for t in PROPERTIES}
        self.archived: dict[str, set[str]] = {t: set() for t in PROPERTIES}
        self.owners: list[dict] = []
        self.faults: list[tuple[str, str, int, dict]] = []  # method, path prefix, status, headers
        self.requests: list[tuple[str, str, dict | None]] = []
        self.responses: list[tuple[str, dict]] = []  # (path, body) of every 2xx JSON answer
        self.search_limit = search_limit
        self.next_id = 1000

    def put(self, object_type: str, object_id: str, modified_ms: int, companies=(), **props):
        stamp = datetime.fromtimestamp(modified_ms / 1000, UTC).isoformat().replace("+00:00", "Z")
        self.objects[object_type][object_id] = {
            "id": object_id, "createdAt": "2025-01-01T00:00:00Z", "updatedAt": stamp,
            "archived": False, "companies": list(companies),
            "properties": {**props, MODIFIED.get(object_type, "hs_lastmodifieddate"):
                           str(modified_ms), "hs_object_id": object_id},
        }

    def shape(self, obj: dict, wanted: list[str], associations: list[str]) -> dict:
        known = self.properties[self.type_of(obj)]
        props = {p: obj["properties"].get(p) for p in wanted if p in known}
        out = {k: obj[k] for k in ("id", "createdAt", "updatedAt", "archived")}
        out["properties"] = props
        if "companies" in associations and obj["companies"]:
            out["associations"] = {"companies": {"results": [
                {"id": c, "type": "contact_to_company"} for c in obj["companies"]]}}
        return out

    def type_of(self, obj: dict) -> str:
        return next(t for t, objs in self.objects.items() if obj["id"] in objs)


class JsonHandler(BaseHTTPRequestHandler):
    """What every CRM stand-in's handler shares: quiet logs, JSON answers, and GET, POST
    and PATCH routed to the subclass's ``_handle(method)``."""

    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, status: int, body=None, headers: dict | None = None):
        payload = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):  # noqa: N802 - http.server's naming
        self._handle("GET")

    def do_POST(self):  # noqa: N802
        self._handle("POST")

    def do_PATCH(self):  # noqa: N802
        self._handle("PATCH")


def _handler(fake: FakeHubSpot):
    class Handler(JsonHandler):
        def _send(self, status: int, body: dict | None = None, headers: dict | None = None):
            super()._send(status, body, headers)
            if body is not None and status < 300:
                fake.responses.append((urlparse(self.path).path, body))

        def _handle(self, method: str):
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            fake.requests.append((method, url.path, body))
            for i, (m, prefix, status, headers) in enumerate(fake.faults):
                if m == method and url.path.startswith(prefix):
                    fake.faults.pop(i)
                    return self._send(status, {"status": "error", "message": "injected",
                                               "category": "RATE_LIMITS"}, headers)
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self._send(401, {"status": "error", "message": "bad token",
                                        "category": "INVALID_AUTHENTICATION"})
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            parts = url.path.strip("/").split("/")
            return self._route(method, parts, query, body)

        def _route(self, method, parts, query, body):
            if parts[:3] == ["crm", "v3", "properties"]:
                return self._send(200, {"results": [{"name": n} for n in
                                                    sorted(fake.properties[parts[3]])]})
            if parts[:3] == ["crm", "v3", "owners"]:
                return self._page(fake.owners, query)
            object_type = parts[3]
            objects = fake.objects[object_type]
            if method == "POST" and len(parts) == 5 and parts[4] == "search":
                return self._search(object_type, body)
            if method == "POST" and parts[4:] == ["batch", "update"]:
                return self._batch_update(object_type, body)
            if method == "POST" and len(parts) == 4:
                fake.next_id += 1
                task_id = str(fake.next_id)
                objects[task_id] = {"id": task_id, "properties": body["properties"],
                                    "associations": body["associations"]}
                return self._send(201, {"id": task_id, "properties": body["properties"],
                                        "createdAt": "2026-11-23T00:00:00Z",
                                        "updatedAt": "2026-11-23T00:00:00Z",
                                        "archived": False})
            if method == "PATCH":
                objects[parts[4]]["properties"].update(body["properties"])
                return self._send(200, {"id": parts[4], "properties": body["properties"],
                                        "createdAt": "2026-11-23T00:00:00Z",
                                        "updatedAt": "2026-11-23T00:00:00Z",
                                        "archived": False})
            wanted = query.get("properties", "").split(",")
            associations = query.get("associations", "").split(",")
            if len(parts) == 5:
                return self._send(200, fake.shape(objects[parts[4]], wanted, associations))
            archived = query.get("archived") == "true"
            rows = [fake.shape(o, wanted, associations) for i, o in sorted(objects.items())
                    if (i in fake.archived[object_type]) == archived]
            return self._page(rows, query)

        def _page(self, rows, query):
            start = int(query.get("after") or 0)
            limit = int(query.get("limit") or 100)
            page = {"results": rows[start:start + limit]}
            if start + limit < len(rows):
                page["paging"] = {"next": {"after": str(start + limit),
                                           "link": f"?after={start + limit}"}}
            return self._send(200, page)

        def _batch_update(self, object_type, body):
            # HubSpot refuses the whole batch when a property or an object is unknown.
            objects = fake.objects[object_type]
            for item in body["inputs"]:
                unknown = set(item["properties"]) - fake.properties[object_type]
                if unknown or item["id"] not in objects:
                    return self._send(400, {"status": "error", "category": "VALIDATION_ERROR",
                                            "message": f"invalid: {sorted(unknown) or 'id'}"})
            stamp = "2026-11-23T02:00:00Z"
            results = []
            for item in body["inputs"]:
                objects[item["id"]]["properties"].update(item["properties"])
                results.append({"id": item["id"], "properties": item["properties"],
                                "createdAt": "2025-01-01T00:00:00Z", "updatedAt": stamp,
                                "archived": False})
            return self._send(200, {"status": "COMPLETE", "results": results,
                                    "startedAt": stamp, "completedAt": stamp})

        def _search(self, object_type, body):
            start, limit = int(body["after"]), body["limit"]
            if start + limit > fake.search_limit:
                return self._send(400, {"status": "error", "message": "search limit",
                                        "category": "VALIDATION_ERROR"})
            flt = body["filterGroups"][0]["filters"][0]
            prop, since = flt["propertyName"], int(flt["value"])
            live = [o for i, o in fake.objects[object_type].items()
                    if i not in fake.archived[object_type]
                    and int(o["properties"][prop]) >= since]
            live.sort(key=lambda o: (int(o["properties"][prop]), o["id"]))
            rows = [fake.shape(o, body["properties"], []) for o in live]
            page = {"total": len(rows), "results": rows[start:start + limit]}
            if start + limit < len(rows):
                page["paging"] = {"next": {"after": str(start + limit)}}
            return self._send(200, page)

    return Handler


def serve(fake, handler=_handler) -> ThreadingHTTPServer:
    """Serve ``fake`` through ``handler(fake)`` on a free 127.0.0.1 port (set as
    ``fake.url``); shut the returned server down when done."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(fake))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    return server


# Job titles a CRM would hold for the sample's roles (the role rules read them back).
SAMPLE_TITLES = {"executive": "VP Operations", "champion": "Customer Success Manager",
                 "admin": "IT Administrator", "billing": "Accounts Payable Specialist",
                 "user": "Analyst"}
SAMPLE_STATUSES = {"active": "customer", "trial": "opportunity", "churned": "other"}


def hubspot_zone(zone: object) -> str | None:
    """An IANA zone as HubSpot's timezone properties spell it (america_slash_new_york)."""
    return zone.lower().replace("/", "_slash_") if isinstance(zone, str) and zone else None


def hubspot_from_sample(source_dir, custom_properties: dict[str, set[str]] | None = None,
                        modified_ms: int = 1_700_000_000_000) -> FakeHubSpot:
    """A stand-in portal holding the sample's accounts as companies, contacts and CSMs as
    owners with HubSpot's standard properties only (timezone unless it is the country's
    main zone, country, annualrevenue, numberofemployees, owner; contact hs_timezone and
    jobtitle), plus the custom properties named (empty)."""
    import pandas as pd

    from cadence.connectors.field_mapping import country_zones

    read = {name: pd.read_csv(f"{source_dir}/{name}.csv", dtype=str, keep_default_na=False)
            .replace({"": None}) for name in ("accounts", "contacts", "csms")}
    fake = FakeHubSpot(custom_properties=custom_properties)
    stamp = datetime.fromtimestamp(modified_ms / 1000, UTC).isoformat().replace("+00:00", "Z")
    for csm in read["csms"].dropna(subset=["csm_id"]).itertuples(index=False):
        first, _, last = (csm.name or "").partition(" ")
        fake.owners.append({"id": csm.csm_id, "firstName": first or None,
                            "lastName": last or None, "email": csm.email, "type": "PERSON",
                            "archived": False, "createdAt": stamp, "updatedAt": stamp})
    main_zones = country_zones()
    for row in read["accounts"].dropna(subset=["account_id"]).itertuples(index=False):
        # Portals often leave the company timezone empty: here wherever it is the
        # country's main zone, which the connector then derives from the country.
        zone = None if row.timezone == main_zones.get(row.country) else row.timezone
        fake.put("companies", row.account_id, modified_ms, name=row.name,
                 industry=row.industry, country=row.country, timezone=hubspot_zone(zone),
                 annualrevenue=row.arr,
                 numberofemployees=row.seats_purchased, hubspot_owner_id=row.csm_id,
                 lifecyclestage=SAMPLE_STATUSES.get(row.status),
                 hs_lifecyclestage_customer_date=row.contract_start)
    for row in read["contacts"].dropna(subset=["contact_id"]).itertuples(index=False):
        fake.put("contacts", row.contact_id, modified_ms,
                 companies=[row.account_id] if row.account_id else [], email=row.email,
                 firstname=row.first_name, lastname=row.last_name, phone=row.phone,
                 hs_language=row.locale, hs_timezone=hubspot_zone(row.timezone),
                 jobtitle=SAMPLE_TITLES.get(row.role))
    return fake
