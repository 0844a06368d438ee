"""The ``intercom`` provider: ``POST /messages``, one request per message.

In-app messages go to the contact as an Intercom user whose ``external_id`` style id is
our contact id. Email messages need a subject; the official schema does not tie that to
``message_type``, so it is checked here. Intercom honours no idempotency key.
"""

from __future__ import annotations

from typing import Any

from cadence.providers.base import (
    ACCEPTED,
    Batch,
    BatchResult,
    HttpClient,
    Message,
    MessageOutcome,
    ProviderError,
    connection_base_url,
    connection_with_secret,
)
from cadence.providers.policy import IntercomPolicy, RetryPolicy


class IntercomProvider:
    """Intercom admin-initiated messages."""

    name = "intercom"
    honours_idempotency_key = False
    max_batch_size = 1  # one request per message: a batch is one message

    def __init__(self, client: HttpClient, policy: IntercomPolicy):
        self.client = client
        self.policy = policy

    @classmethod
    def from_connection(cls, policy: IntercomPolicy, retry: RetryPolicy) -> IntercomProvider:
        """Build from the Airflow connection ``policy.conn_id`` (password = access token)."""
        conn = connection_with_secret(policy.conn_id, "access token")
        headers = {"Authorization": f"Bearer {conn.password}",
                   "Intercom-Version": policy.api_version, "Accept": "application/json"}
        client = HttpClient(connection_base_url(conn), headers, retry,
                            policy.requests_per_second)
        return cls(client, policy)

    def batch_key(self, message: Message) -> tuple:
        """Every message is its own request."""
        return (message.touch_id,)

    def request_body(self, message: Message) -> dict[str, Any]:
        """The /messages body of one message (validated against the official schema)."""
        message_type = "email" if message.channel == "email" else "in_app"
        body: dict[str, Any] = {
            "message_type": message_type,
            "body": str(message.data.get("body") or message.template_id),
            "from": {"type": "admin", "id": int(self.policy.admin_id)},
            "to": {"type": "user", "id": message.contact_id},
        }
        if message_type == "email":
            subject = message.data.get("subject")
            if not subject:
                raise ProviderError(f"touch {message.touch_id}: an Intercom email needs a "
                                    "subject in its payload")
            body["subject"] = str(subject)
            body["template"] = "plain"
        return body

    def send_batch(self, batch: Batch) -> BatchResult:
        """POST each message; the response's ``id`` is the provider message id."""
        return BatchResult.each(batch, self.request_body, self._post)

    def _post(self, message: Message, body: dict[str, Any]) -> MessageOutcome:
        answer = self.client.request("POST", "/messages", json=body)
        message_id = None
        if answer.status == ACCEPTED and isinstance(answer.body, dict):
            message_id = str(answer.body.get("id"))
        return MessageOutcome(message.touch_id, answer.status, message_id,
                              None if answer.status == ACCEPTED else answer.reason)

    def reconcile(self, batch: Batch, known: dict[str, str]) -> BatchResult | None:
        """Accepted when engagement events mention the touch; otherwise undecided."""
        if all(m.touch_id in known for m in batch.messages):
            return BatchResult.uniform(batch, ACCEPTED, "seen in engagement events",
                                       lambda m: known[m.touch_id])
        return None
