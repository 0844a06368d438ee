"""Policy section ``handoff``: providers per channel, batch sizes, rate limits, retries,
staleness, SendGrid sender and unsubscribe groups, engagement thresholds."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from cadence.contract.policy_section import Section
from cadence.contract.policy_types import Provider
from cadence.providers.policy import (
    IntercomPolicy,
    OutboxPolicy,
    RetryPolicy,
    SendGridPolicy,
    TwilioPolicy,
    WebhookPolicy,
)


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
