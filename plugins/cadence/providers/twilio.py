"""The ``twilio`` provider: SMS through Twilio's Messages API (2010-04-01).

``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded ``To``, ``From`` or
``MessagingServiceSid``, ``Body`` and ``StatusCallback``, HTTP basic auth (account SID and
auth token), one request per message. Twilio honours no idempotency key for message
creation, so a request whose answer was lost (read timeout, crash) is ``unknown`` and is
never sent again: only a status callback (an engagement event naming the touch) proves it
was accepted. Twilio's error messages quote the phone number, so only the error code is
kept.
"""

from __future__ import annotations

import base64
import os
import re
from typing import Any
from urllib.parse import urlencode

from cadence.providers.base import (
    ACCEPTED,
    FAILED,
    Batch,
    BatchResult,
    HttpClient,
    Message,
    MessageOutcome,
    ProviderError,
    connection_base_url,
    get_connection,
)
from cadence.providers.policy import RetryPolicy, TwilioPolicy

API = "https://api.twilio.com"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MAX_BODY = 1600  # characters Twilio accepts in one message
_SEPARATORS = re.compile(r"[\s().\-/]")


def e164(phone: object) -> str | None:
    """A phone number in E.164 (``+447700900001``) with blanks, dots, dashes and
    parentheses removed (``00`` as the international prefix becomes ``+``); None when it
    is not one."""
    if not isinstance(phone, str):
        return None
    digits = _SEPARATORS.sub("", phone.strip())
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    return digits if E164.match(digits) else None


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return ""


class TwilioProvider:
    """Twilio Programmable Messaging."""

    name = "twilio"
    honours_idempotency_key = False
    max_batch_size = 1  # one request per message: a batch is one message

    def __init__(self, client: HttpClient, policy: TwilioPolicy, account_sid: str):
        if policy.messaging_service_sid is None and policy.from_number is None:
            raise ProviderError("handoff.twilio: set messaging_service_sid or from_number,"
                                " the sender of every SMS")
        self.client = client
        self.policy = policy
        self.path = f"/2010-04-01/Accounts/{account_sid}/Messages.json"

    @classmethod
    def from_connection(cls, policy: TwilioPolicy, retry: RetryPolicy) -> TwilioProvider:
        """Build from the Airflow connection ``policy.conn_id`` (login = account SID,
        password = auth token), else from ``TWILIO_ACCOUNT_SID`` and ``TWILIO_AUTH_TOKEN``
        against api.twilio.com. Neither value is ever logged."""
        try:
            conn = get_connection(policy.conn_id)
            base, sid, token = connection_base_url(conn), conn.login, conn.password
        except ProviderError:
            base = API
            sid, token = os.environ.get("TWILIO_ACCOUNT_SID"), os.environ.get(
                "TWILIO_AUTH_TOKEN")
        if not sid or not token:
            raise ProviderError(f"Twilio credentials missing: connection {policy.conn_id!r}"
                                " (login = account SID, password = auth token) or"
                                " TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
        basic = base64.b64encode(f"{sid}:{token}".encode()).decode()
        client = HttpClient(base, {"Authorization": f"Basic {basic}",
                                   "Accept": "application/json"},
                            retry, policy.requests_per_second)
        return cls(client, policy, sid)

    def batch_key(self, message: Message) -> tuple:
        """Every message is its own request."""
        return (message.touch_id,)

    def request_form(self, message: Message) -> dict[str, str]:
        """The form fields of one message (validated against Twilio's official schema)."""
        to = e164(message.phone)
        if to is None:
            raise ProviderError(f"touch {message.touch_id}: contact has no E.164 phone number")
        template = self.policy.bodies.get(message.template_id)
        text = message.data.get("body") or (
            template.format_map(_Missing(message.data)) if template else None)
        if not text:
            raise ProviderError(f"touch {message.touch_id}: no SMS text for template"
                                f" {message.template_id!r} (handoff.twilio.bodies or a"
                                " payload body)")
        if len(str(text)) > MAX_BODY:
            raise ProviderError(f"touch {message.touch_id}: SMS text of {len(str(text))}"
                                f" characters, Twilio takes at most {MAX_BODY}")
        form = {"To": to, "Body": str(text)}
        if self.policy.messaging_service_sid:
            form["MessagingServiceSid"] = self.policy.messaging_service_sid
        else:
            form["From"] = str(self.policy.from_number)
        if self.policy.status_callback:
            join = "&" if "?" in self.policy.status_callback else "?"
            form["StatusCallback"] = (f"{self.policy.status_callback}{join}"
                                      f"{urlencode({'touch_id': message.touch_id})}")
        return form

    def send_batch(self, batch: Batch) -> BatchResult:
        """POST each message; the answer's ``sid`` (``SM...``) is the provider message id."""
        return BatchResult.each(batch, self.request_form, self._post)

    def _post(self, message: Message, form: dict[str, str]) -> MessageOutcome:
        answer = self.client.request(
            "POST", self.path, data=urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        sid = answer.body.get("sid") if isinstance(answer.body, dict) else None
        reason = None
        if answer.status == FAILED and answer.code is not None:
            reason = _twilio_error(answer.code, answer.body)
        elif answer.status != ACCEPTED:
            reason = answer.reason
        return MessageOutcome(message.touch_id, answer.status,
                              str(sid) if sid and answer.status == ACCEPTED else None, reason)

    def reconcile(self, batch: Batch, known: dict[str, str]) -> BatchResult | None:
        """Accepted when a status callback (engagement event) names the touch; otherwise
        undecided: never sent again."""
        if all(m.touch_id in known for m in batch.messages):
            return BatchResult.uniform(batch, ACCEPTED, "seen in engagement events",
                                       lambda m: known[m.touch_id])
        return None


def _twilio_error(code: int, body: Any) -> str:
    # Twilio's {code, message, more_info, status}: the message may quote the number, so
    # only the numeric code (documented at more_info) is kept.
    twilio_code = body.get("code") if isinstance(body, dict) else None
    return f"HTTP {code}: Twilio error {twilio_code or 'without a code'}"
