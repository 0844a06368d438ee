"""Providers the hourly handoff sends through: ``outbox``, ``sendgrid``, ``intercom``,
``webhook``, ``twilio`` (SMS). Each is one module implementing
:class:`cadence.providers.base.Provider`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, get_args

from cadence.contract.policy_types import Provider as ProviderName
from cadence.providers.base import Provider

if TYPE_CHECKING:
    from cadence.handoff.policy import HandoffPolicy

PROVIDERS: tuple[str, ...] = get_args(ProviderName)


def build_provider(name: str, policy: HandoffPolicy, out_dir: Path) -> Provider:
    """The provider called ``name``, configured from the ``handoff`` policy section."""
    if name == "outbox":
        from cadence.providers.outbox import OutboxProvider

        return OutboxProvider(out_dir, policy.outbox.batch_size)
    if name == "sendgrid":
        from cadence.providers.sendgrid import SendGridProvider

        return SendGridProvider.from_connection(policy.sendgrid, policy.retry)
    if name == "intercom":
        from cadence.providers.intercom import IntercomProvider

        return IntercomProvider.from_connection(policy.intercom, policy.retry)
    if name == "twilio":
        from cadence.providers.twilio import TwilioProvider

        return TwilioProvider.from_connection(policy.twilio, policy.retry)
    if name == "webhook":
        from cadence.providers.webhook import WebhookProvider

        return WebhookProvider.from_connection(policy.webhook, policy.retry)
    raise ValueError(f"unknown provider {name!r}; known: {list(PROVIDERS)}")
