"""Local stand-ins for SendGrid, Intercom, Twilio and a webhook receiver on 127.0.0.1.

Used by the HTTP tests and the dispatch benchmark. Each server answers from a script,
one step per request (accept, a status code with headers and body, or hang past the
client's timeout), then accepts; it records every request it received so tests can count
what reached the provider. The webhook receiver keeps only the first request per
``Idempotency-Key``, as a real idempotent receiver does. The Twilio stand-in reads the
form-encoded body, checks HTTP basic auth against the account SID in the path and answers
201 with a Message resource (or Twilio's 401 error shape).
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlparse


@dataclass
class Step:
    """One scripted answer: ``accept``, ``status`` (code/headers/body) or ``hang``."""

    action: str = "accept"
    code: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    seconds: float = 0.0


def accept() -> Step:
    """Answer as the real provider does on success."""
    return Step("accept")


def status(code: int, body: Any = None, **headers: str) -> Step:
    """Answer with ``code`` (e.g. 429 with ``Retry_After="0"``, 500, 400)."""
    return Step("status", code, {k.replace("_", "-"): v for k, v in headers.items()}, body)


def hang(seconds: float) -> Step:
    """Receive the request, then say nothing for ``seconds`` (a client read timeout)."""
    return Step("hang", seconds=seconds)


@dataclass
class Received:
    """A request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


class StandIn:
    """A scripted provider server; ``kind`` is sendgrid, intercom, twilio or webhook."""

    def __init__(self, kind: str):
        self.kind = kind
        self.script: list[Step] = []
        self.received: list[Received] = []
        self.accepted: list[Received] = []  # requests the provider acted on
        self.suppressions: dict[str, list[dict[str, Any]]] = {}
        self._seen_keys: set[str] = set()
        self.twilio_token = "test-secret-token"
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def connection_env(self, password: str = "test-secret-token",
                       login: str | None = None) -> str:
        """The ``AIRFLOW_CONN_<ID>`` JSON pointing at this server (Twilio: login is the
        account SID, :data:`TWILIO_SID` unless given)."""
        if self.kind == "twilio":
            login = login or TWILIO_SID
        return json.dumps({"conn_type": "http", "host": self.url, "login": login,
                           "password": password})

    def start(self) -> StandIn:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def _next_step(self) -> Step:
        with self._lock:
            return self.script.pop(0) if self.script else accept()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                return

            def _reply(self, code: int, body: Any = None, headers: dict | None = None):
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(code)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                form = "x-www-form-urlencoded" in (self.headers.get("Content-Type") or "")
                body = (dict(parse_qsl(raw.decode(), keep_blank_values=True)) if form
                        else json.loads(raw) if raw else None)
                request = Received(self.command, self.path, dict(self.headers), body)
                with stand_in._lock:
                    stand_in.received.append(request)
                if stand_in.kind == "twilio" and not stand_in._authorised(request):
                    self._reply(401, {"code": 20003, "message": "Authenticate",
                                      "more_info": "https://www.twilio.com/docs/errors/20003",
                                      "status": 401})
                    return
                step = stand_in._next_step()
                if step.action == "hang":
                    time.sleep(step.seconds)
                    # The provider did act on the request; only the answer is lost.
                    stand_in._accept(request)
                    self.close_connection = True
                    return
                if step.action == "status":
                    self._reply(step.code, step.body, step.headers)
                    return
                code, payload, headers = stand_in._accept(request)
                self._reply(code, payload, headers)

            do_GET = _handle
            do_POST = _handle

        return Handler

    def _authorised(self, request: Received) -> bool:
        # Basic auth of the account SID in the path and the connection's auth token.
        parts = urlparse(request.path).path.split("/")
        sid = parts[3] if len(parts) > 3 else ""
        expected = base64.b64encode(f"{sid}:{self.twilio_token}".encode()).decode()
        return request.headers.get("Authorization") == f"Basic {expected}"

    def _accept(self, request: Received) -> tuple[int, Any, dict[str, str]]:
        path = urlparse(request.path)
        if self.kind == "sendgrid" and path.path.startswith("/v3/suppression/"):
            return 200, self._suppression_page(path.path.rsplit("/", 1)[-1], path.query), {}
        with self._lock:
            if self.kind == "webhook":
                key = request.headers.get("Idempotency-Key", "")
                if key in self._seen_keys:
                    return 200, {"status": "duplicate"}, {}
                self._seen_keys.add(key)
            self.accepted.append(request)
        if self.kind == "sendgrid":
            return 202, None, {"X-Message-Id": uuid.uuid4().hex[:22]}
        if self.kind == "twilio":
            return 201, twilio_message(request.body, path.path.split("/")[3]), {}
        if self.kind == "intercom":
            return 200, {"type": "user_message", "id": str(len(self.accepted)),
                         "created_at": int(time.time()), "body": request.body.get("body", ""),
                         "message_type": "inapp" if request.body.get("message_type") ==
                         "in_app" else "email"}, {}
        return 200, {"status": "accepted"}, {}

    def _suppression_page(self, list_name: str, query: str) -> list[dict[str, Any]]:
        args = {k: v[0] for k, v in parse_qs(query).items()}
        start = int(args.get("start_time", 0))
        offset, limit = int(args.get("offset", 0)), int(args.get("limit", 500))
        rows = [r for r in self.suppressions.get(list_name, []) if r["created"] >= start]
        return rows[offset:offset + limit]


TWILIO_SID = "AC" + "0" * 31 + "1"


def twilio_message(form: dict[str, str], account_sid: str) -> dict[str, Any]:
    """The Message resource Twilio answers a create with (queued, one segment)."""
    sid = "SM" + uuid.uuid4().hex
    stamp = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    return {
        "account_sid": account_sid, "api_version": "2010-04-01", "body": form.get("Body"),
        "date_created": stamp, "date_sent": None, "date_updated": stamp,
        "direction": "outbound-api", "error_code": None, "error_message": None,
        "from": form.get("From"), "messaging_service_sid": form.get("MessagingServiceSid"),
        "num_media": "0", "num_segments": "1", "price": None, "price_unit": "USD",
        "sid": sid, "status": "queued", "subresource_uris": {
            "media": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}/Media.json"},
        "to": form.get("To"),
        "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
    }
