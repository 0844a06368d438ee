"""The HTTP session every connector uses: bounded retries with exponential backoff.

Reads retry on 429, 5xx and connection errors and honour ``Retry-After``. Writes that
create something (a CRM task) retry only when the server surely did nothing (429, or the
connection failed before sending), so a 5xx after the request arrived never duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from cadence.connectors.policy import ConnectorsPolicy, HttpPolicy

RETRY_STATUSES = (429, 500, 502, 503, 504)


class ConnectorError(RuntimeError):
    """A CRM or usage source answered with an error that retrying cannot fix."""


class ApiLimitExceeded(ConnectorError):
    """The CRM's API quota is used up; the run stops and the watermark stays where it was."""


@dataclass(frozen=True)
class Credentials:
    """Where a connector connects and with what; ``secret`` is never logged."""

    host: str
    login: str | None
    secret: str | None

    def __repr__(self) -> str:  # keeps the secret out of tracebacks and logs
        return f"Credentials(host={self.host!r}, login={self.login!r}, secret=***)"


def airflow_credentials(conn_id: str) -> Credentials:
    """Credentials of the Airflow connection ``conn_id`` (``AIRFLOW_CONN_<ID>`` works too)."""
    from airflow.sdk import BaseHook  # Airflow only where a connection is actually read

    conn = BaseHook.get_connection(conn_id)
    host = conn.host or ""
    if host and "://" not in host:
        host = f"https://{host}"
    return Credentials(host.rstrip("/"), conn.login, conn.password)


def crm_client(policy: ConnectorsPolicy, crm: str):
    """The HubSpotClient or SalesforceClient of ``crm`` (``hubspot`` or ``salesforce``),
    from that CRM's Airflow connection: the one client every CRM write uses."""
    if crm == "hubspot":
        from cadence.connectors.hubspot import HubSpotClient

        return HubSpotClient(airflow_credentials(policy.hubspot.conn_id), policy.http)
    from cadence.connectors.salesforce import SalesforceClient

    return SalesforceClient(airflow_credentials(policy.salesforce.conn_id), policy.http,
                            policy.salesforce.api_version)


def retrying_session(policy: HttpPolicy, *, creates: bool = False) -> requests.Session:
    """A session that retries as described in the module docstring (``creates`` for
    non-idempotent POSTs)."""
    retry = Retry(
        total=policy.retries,
        connect=policy.retries,
        read=0 if creates else policy.retries,
        status=policy.retries,
        other=0,
        backoff_factor=policy.backoff_seconds,
        backoff_max=policy.max_backoff_seconds,
        status_forcelist=(429,) if creates else RETRY_STATUSES,
        allowed_methods=None,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def check(response: requests.Response, what: str) -> requests.Response:
    """Raise :class:`ConnectorError` naming the call and status when the response failed
    (the body is cut short: it may echo record data)."""
    if response.status_code >= 400:
        raise ConnectorError(f"{what}: HTTP {response.status_code}: {response.text[:300]}")
    return response
