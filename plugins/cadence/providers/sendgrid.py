"""The ``sendgrid`` provider: v3 ``POST /v3/mail/send`` with a dynamic template.

One request per batch: one template, one category (and so one unsubscribe group), up to
1000 personalizations. The touch id travels in ``personalizations[].custom_args`` (the
spec types top-level ``custom_args`` as a string), comes back in event-webhook events, and
is how a batch with a lost answer is reconciled. SendGrid has no idempotency key, so an
ambiguous request is never sent again. Consent sync reads the suppression lists.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cadence.providers.base import (
    ACCEPTED,
    Batch,
    BatchResult,
    HttpClient,
    Message,
    ProviderError,
    connection_base_url,
    connection_with_secret,
)
from cadence.providers.policy import RetryPolicy, SendGridPolicy

# suppression list -> (reason, scope) in consent_suppressions
SUPPRESSION_LISTS = {
    "unsubscribes": ("unsubscribe", "all"),
    "bounces": ("bounce", "email"),
    "spam_reports": ("spam_report", "email"),
}
PAGE_SIZE = 500


class SendGridProvider:
    """SendGrid mail send and suppression lists over one HTTP client."""

    name = "sendgrid"
    honours_idempotency_key = False

    def __init__(self, client: HttpClient, policy: SendGridPolicy):
        self.client = client
        self.policy = policy
        self.max_batch_size = policy.batch_size

    @classmethod
    def from_connection(cls, policy: SendGridPolicy, retry: RetryPolicy) -> SendGridProvider:
        """Build from the Airflow connection ``policy.conn_id`` (password = API key)."""
        conn = connection_with_secret(policy.conn_id, "API key")
        client = HttpClient(connection_base_url(conn),
                            {"Authorization": f"Bearer {conn.password}"},
                            retry, policy.requests_per_second)
        return cls(client, policy)

    def batch_key(self, message: Message) -> tuple:
        """A request carries one template and one category (one unsubscribe group)."""
        return (message.template_id, message.category or "")

    def request_body(self, batch: Batch) -> dict[str, Any]:
        """The /v3/mail/send body of a batch (validated against the official schema)."""
        first = batch.messages[0]
        personalizations = []
        for message in batch.messages:
            if not message.email:
                raise ProviderError(f"touch {message.touch_id}: contact has no email")
            personalization = {
                "to": [{"email": message.email}],
                "dynamic_template_data": message.data,
                "custom_args": {"touch_id": message.touch_id, "batch_id": batch.batch_id},
            }
            if message.send_at is not None:
                # Handed over up to the lookahead early; SendGrid holds it until then.
                personalization["send_at"] = message.send_at
            personalizations.append(personalization)
        body: dict[str, Any] = {
            "personalizations": personalizations,
            "from": {"email": self.policy.from_email, "name": self.policy.from_name},
            "template_id": first.template_id,
            "categories": sorted({c for c in ("cadence", first.category) if c}),
        }
        group = self.policy.asm_groups.get(first.category or "")
        if group is not None and first.message_type != "transactional":
            body["asm"] = {"group_id": int(group)}
        return body

    def send_batch(self, batch: Batch) -> BatchResult:
        """POST the batch; 202 with ``X-Message-Id`` is acceptance of every message."""
        answer = self.client.request("POST", "/v3/mail/send", json=self.request_body(batch))
        message_id = answer.headers.get("X-Message-Id")
        summary = f"{answer.reason} after {answer.attempts} attempt(s)"
        return BatchResult.uniform(batch, answer.status, summary,
                                   lambda m: message_id if answer.status == ACCEPTED else None)

    def reconcile(self, batch: Batch, known: dict[str, str]) -> BatchResult | None:
        """Accepted when every touch showed up in engagement events; otherwise undecided."""
        if all(m.touch_id in known for m in batch.messages):
            return BatchResult.uniform(batch, ACCEPTED, "seen in engagement events",
                                       lambda m: known[m.touch_id])
        return None

    def suppressions(self, since: datetime | None) -> list[dict[str, Any]]:
        """Global unsubscribes, bounces and spam reports created since ``since``: rows of
        email, reason, scope, created_at (UTC)."""
        rows: list[dict[str, Any]] = []
        for list_name, (reason, scope) in SUPPRESSION_LISTS.items():
            offset = 0
            while True:
                params = {"limit": PAGE_SIZE, "offset": offset}
                if since is not None:
                    params["start_time"] = int(since.timestamp())
                answer = self.client.request("GET", f"/v3/suppression/{list_name}",
                                             params=params)
                if answer.status != ACCEPTED or not isinstance(answer.body, list):
                    raise ProviderError(f"SendGrid {list_name}: {answer.reason}")
                for item in answer.body:
                    rows.append({"email": item["email"], "reason": reason, "scope": scope,
                                 "created_at": datetime.fromtimestamp(int(item["created"]),
                                                                      UTC)})
                if len(answer.body) < PAGE_SIZE:
                    break
                offset += PAGE_SIZE
        return rows
