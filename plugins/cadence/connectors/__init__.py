"""CRM and usage connectors: HubSpot, Salesforce and product usage.

Each connector is a :class:`cadence.sources.Source` (``read(entity)``) chosen per entity in
policy ``sources`` (registered in :mod:`cadence.sources.registry`); its own settings live
in policy ``connectors``.
"""
