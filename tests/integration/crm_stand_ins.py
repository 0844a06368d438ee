"""Fixtures around the local stand-in HubSpot (:mod:`cadence.devtools.hubspot_stand_in`), shared
by the connector, CRM task, contract and end-to-end tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from cadence.devtools.hubspot_stand_in import (  # noqa: F401 - the tests import them from here
    TOKEN,
    FakeHubSpot,
    JsonHandler,
    serve,
)


@pytest.fixture
def hubspot():
    """A running stand-in HubSpot and its base URL."""
    fake = FakeHubSpot()
    server = serve(fake)
    yield fake
    server.shutdown()
    server.server_close()


NIGHTLY_START = datetime(2026, 11, 23, 1, tzinfo=UTC)


def nightly_runs(monkeypatch, hubspot_url: str, policy, warehouse, **connectors):
    """Make ``run(run_type, now)``: a nightly Run of the day from ``NIGHTLY_START`` whose
    policy sets the given ``connectors`` sections and whose HubSpot connection is the
    stand-in at ``hubspot_url``; live only while ``now`` is within a day of its window."""
    from cadence.orchestration.runs import Run

    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps(
        {"conn_type": "http", "host": hubspot_url, "password": TOKEN}))
    configured = policy.model_copy(update={"connectors": policy.connectors.model_copy(
        update=connectors)})

    def run(run_type: str, now: datetime) -> Run:
        made = Run("r", run_type, NIGHTLY_START, NIGHTLY_START + timedelta(days=1),
                   NIGHTLY_START, lambda: now, live_within=timedelta(days=1))
        made.__dict__.update(policy=configured, warehouse=warehouse)  # cached properties
        return made

    return run
