"""CRM and usage connectors: HubSpot, Salesforce and product usage, registered as sources.

Each connector is a :class:`cadence.sources.Source` (``read(entity)``) chosen per entity in
policy ``sources``; its own settings live in policy ``connectors``. Factories import the
connector only when the policy asks for it.
"""

from __future__ import annotations

from cadence.sources.base import Source, SourceContext, register_source


def _hubspot(context: SourceContext) -> Source:
    from cadence.connectors.hubspot import HubSpotSource

    return HubSpotSource.from_context(context)


def _salesforce(context: SourceContext) -> Source:
    from cadence.connectors.salesforce import SalesforceSource

    return SalesforceSource.from_context(context)


def _usage(context: SourceContext) -> Source:
    from cadence.connectors.usage import UsageSource

    return UsageSource.from_context(context)


register_source("hubspot", _hubspot)
register_source("salesforce", _salesforce)
register_source("usage", _usage)
