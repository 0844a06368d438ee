"""Every source the policy can name, registered here and only here: the files source and
the CRM and usage connectors. A factory imports its connector only when a policy uses it;
:func:`register_source` adds one more (a plugin, a test) under a new name."""

from __future__ import annotations

from collections.abc import Callable

from cadence.sources.base import Source, SourceContext, SourceError

# A factory builds a source for one extract from the run's context.
SourceFactory = Callable[[SourceContext], Source]


def _files(context: SourceContext) -> Source:
    from cadence.sources.files import FilesSource

    return FilesSource(context.source_dir, context.policy.sources)


def _hubspot(context: SourceContext) -> Source:
    from cadence.connectors.hubspot import HubSpotSource

    return HubSpotSource.from_context(context)


def _salesforce(context: SourceContext) -> Source:
    from cadence.connectors.salesforce import SalesforceSource

    return SalesforceSource.from_context(context)


def _usage(context: SourceContext) -> Source:
    from cadence.connectors.usage import UsageSource

    return UsageSource.from_context(context)


_REGISTRY: dict[str, SourceFactory] = {
    "files": _files,
    "hubspot": _hubspot,
    "salesforce": _salesforce,
    "usage": _usage,
}


def register_source(name: str, factory: SourceFactory) -> None:
    """Make a source available to the policy under ``name`` (re-registering replaces it)."""
    _REGISTRY[name] = factory


def registered_sources() -> list[str]:
    """Names of every registered source."""
    return sorted(_REGISTRY)


def build_source(name: str, context: SourceContext) -> Source:
    """A ready source registered as ``name`` for the run described by ``context``."""
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise SourceError(
            f"unknown source {name!r} in policy sources (registered: {registered_sources()})"
        ) from None
    return factory(context)
