"""Policy section ``handoff``: providers per channel, batch sizes, rate limits, retries,
staleness, SendGrid sender and unsubscribe groups, engagement thresholds."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from cadence.policy_section import Section
from cadence.policy_types import Category, Provider


class RetryPolicy(Section):
    """How HTTP calls are retried before a provider accepted them (bounded both ways)."""

    max_attempts: int = Field(5, ge=1, le=20)
    initial_backoff_seconds: float = Field(1.0, gt=0)
    max_backoff_seconds: float = Field(30.0, gt=0)
    max_total_seconds: float = Field(120.0, gt=0)
    connect_timeout_seconds: float = Field(5.0, gt=0)
    read_timeout_seconds: float = Field(30.0, gt=0)


class OutboxPolicy(Section):
    """The embedded provider: JSON-lines files under ``CADENCE_OUT_DIR/outbox``."""

    batch_size: int = Field(1000, ge=1)


class SendGridPolicy(Section):
    """SendGrid v3 mail send; the API key is the password of the Airflow connection."""

    conn_id: str = "cadence_sendgrid"
    from_email: str = "success@example.com"
    from_name: str = "Customer Success"
    batch_size: int = Field(1000, ge=1, le=1000)  # the API takes <= 1000 personalizations
    requests_per_second: float = Field(10.0, gt=0)
    # Unsubscribe group (asm.group_id) per message category; transactional mail has none.
    asm_groups: dict[Category, int] = Field(default_factory=dict)


class IntercomPolicy(Section):
    """Intercom in-app messages; the access token is the Airflow connection's password."""

    conn_id: str = "cadence_intercom"
    admin_id: int = 1
    api_version: str = "2.14"
    requests_per_second: float = Field(5.0, gt=0)


class WebhookPolicy(Section):
    """A signed JSON POST to any endpoint; the HMAC secret is the connection's password."""

    conn_id: str = "cadence_webhook"
    endpoint: str = "/cadence/touches"
    batch_size: int = Field(100, ge=1)
    requests_per_second: float = Field(10.0, gt=0)


class TwilioPolicy(Section):
    """Twilio Programmable Messaging (SMS). Account SID and auth token are the login and
    password of the Airflow connection, else ``TWILIO_ACCOUNT_SID``/``TWILIO_AUTH_TOKEN``."""

    conn_id: str = "cadence_twilio"
    # The sender: a Messaging Service (pools numbers, handles opt-outs) or one number.
    messaging_service_sid: str | None = Field(None, pattern=r"^MG[0-9a-fA-F]{32}$")
    from_number: str | None = Field(None, pattern=r"^\+[1-9]\d{6,14}$")
    # Twilio posts delivery status here; the touch id is added as a query parameter.
    status_callback: str | None = None
    # Message text per template_id ({first_name}, {company}, ... from the payload); a
    # payload ``body`` wins. 1,600 characters at most (Twilio's limit).
    bodies: dict[str, str] = Field(default_factory=dict)
    requests_per_second: float = Field(1.0, gt=0)  # a long-code number sends about 1/s

    @model_validator(mode="after")
    def _one_sender(self) -> TwilioPolicy:
        # Neither is fine until SMS goes through Twilio: the provider refuses to start then.
        if self.messaging_service_sid is not None and self.from_number is not None:
            raise ValueError("from_number: set messaging_service_sid or from_number, not both")
        return self


class EngagementPolicy(Section):
    """Engagement ingestion and the falling-engagement flag."""

    events_folder: str = "engagement"  # SendGrid event-webhook files, under CADENCE_SOURCE_DIR
    # Intercom content data exports (*.csv, *.csv.gz), under CADENCE_SOURCE_DIR
    intercom_stats_folder: str = "intercom_stats"
    # A contact whose last N sent emails got no open is flagged for a lighter cadence.
    sends_without_open_for_flag: int = Field(5, ge=1)
    metrics_weeks: int = Field(4, ge=1)  # weeks recomputed on every run


class HandoffPolicy(Section):
    """Policy section ``handoff``: which provider serves which channel, and their limits."""

    # Only channels a provider sends; call and meeting become CSM tasks.
    channel_providers: dict[Literal["email", "in_app", "sms"], Provider] = Field(
        default_factory=lambda: {"email": "outbox", "in_app": "outbox", "sms": "outbox"}
    )
    staleness_hours: float = Field(6.0, gt=0)  # never send a touch older than this
    lookahead_hours: float = Field(1.0, gt=0)  # the dispatch window after the run's hour
    retry: RetryPolicy = RetryPolicy()
    outbox: OutboxPolicy = OutboxPolicy()
    sendgrid: SendGridPolicy = SendGridPolicy()
    intercom: IntercomPolicy = IntercomPolicy()
    webhook: WebhookPolicy = WebhookPolicy()
    twilio: TwilioPolicy = TwilioPolicy()
    engagement: EngagementPolicy = EngagementPolicy()
