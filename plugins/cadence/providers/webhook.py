"""The ``webhook`` provider: a signed JSON POST of the whole batch to any endpoint.

The body is signed with HMAC-SHA256 (``X-Cadence-Signature: sha256=<hex>``) using the
connection's password as secret, and carries the batch's ``Idempotency-Key``: the receiver
drops a key it has seen, so an ambiguous request is safely sent again with the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from cadence.providers.base import (
    ACCEPTED,
    Batch,
    BatchResult,
    HttpClient,
    Message,
    connection_base_url,
    connection_with_secret,
)
from cadence.providers.policy import RetryPolicy, WebhookPolicy


def signature(secret: str, body: bytes) -> str:
    """The ``X-Cadence-Signature`` header value of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookProvider:
    """Signed, idempotent JSON POSTs."""

    name = "webhook"
    honours_idempotency_key = True

    def __init__(self, client: HttpClient, policy: WebhookPolicy, secret: str):
        self.client = client
        self.policy = policy
        self._secret = secret
        self.max_batch_size = policy.batch_size

    @classmethod
    def from_connection(cls, policy: WebhookPolicy, retry: RetryPolicy) -> WebhookProvider:
        """Build from the Airflow connection ``policy.conn_id`` (password = HMAC secret)."""
        conn = connection_with_secret(policy.conn_id, "signing secret")
        client = HttpClient(connection_base_url(conn), {"Content-Type": "application/json"},
                            retry, policy.requests_per_second)
        return cls(client, policy, conn.password)

    def batch_key(self, message: Message) -> tuple:
        """One request may carry any mix of messages."""
        return ()

    def request_body(self, batch: Batch) -> dict[str, Any]:
        """The JSON document posted for a batch."""
        return {
            "batch_id": batch.batch_id,
            "messages": [{"touch_id": m.touch_id, "contact_id": m.contact_id,
                          "email": m.email, "channel": m.channel,
                          "message_type": m.message_type, "category": m.category,
                          "template_id": m.template_id, "send_at": m.send_at,
                          "data": m.data}
                         for m in batch.messages],
        }

    def send_batch(self, batch: Batch) -> BatchResult:
        """POST with signature and idempotency key; read timeouts are retried."""
        body = json.dumps(self.request_body(batch), sort_keys=True, default=str).encode()
        headers = {"X-Cadence-Signature": signature(self._secret, body),
                   "Idempotency-Key": batch.idempotency_key}
        answer = self.client.request("POST", self.policy.endpoint, data=body, headers=headers,
                                     retry_read_timeout=True)
        summary = f"{answer.reason} after {answer.attempts} attempt(s)"
        return BatchResult.uniform(batch, answer.status, summary,
                                   lambda m: f"{batch.idempotency_key}/{m.touch_id}"
                                   if answer.status == ACCEPTED else None)

    def reconcile(self, batch: Batch, known: dict[str, str]) -> BatchResult | None:
        """Send again under the same key: the receiver keeps only the first."""
        return self.send_batch(batch)
