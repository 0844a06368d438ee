"""The provider interface and the HTTP client every HTTP provider shares.

A provider takes a :class:`Batch` of rendered messages and returns a :class:`BatchResult`
with one outcome per message: ``accepted`` (the provider took it), ``failed`` (a clear
refusal, with the provider's reason; never retried) or ``unknown`` (the request went out
and no answer came back; reconciled later, never resent blindly).

Retries happen only while the provider has not accepted the request: connection errors,
429 and 5xx, with exponential backoff and jitter, honouring ``Retry-After``, bounded in
attempts and in total time. Tokens, emails and names never appear in logs or errors.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from cadence.providers.policy import RetryPolicy

log = logging.getLogger(__name__)

ACCEPTED, FAILED, UNKNOWN = "accepted", "failed", "unknown"


@dataclass(frozen=True)
class Message:
    """One rendered touch, ready for a provider."""

    touch_id: str
    contact_id: str
    email: str | None
    channel: str
    message_type: str
    category: str | None
    template_id: str
    data: dict[str, Any]  # personalization: payload plus names, company, CSM
    send_at: int | None = None  # scheduled time (unix seconds) for providers that can wait
    phone: str | None = None  # E.164, for SMS


@dataclass(frozen=True)
class Batch:
    """Messages handed to one provider together under one idempotency key."""

    batch_id: str
    provider: str
    idempotency_key: str
    send_date: date  # the day the batch is for (outbox folder)
    messages: tuple[Message, ...]


@dataclass(frozen=True)
class MessageOutcome:
    """What became of one message."""

    touch_id: str
    status: str  # accepted, failed, unknown
    provider_message_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class BatchResult:
    """The outcome of one batch: per message, plus a short summary safe to store."""

    outcomes: tuple[MessageOutcome, ...]
    summary: str

    @property
    def status(self) -> str:
        """``unknown`` if any message is unknown, else ``accepted`` if any was, else failed."""
        statuses = {o.status for o in self.outcomes}
        if UNKNOWN in statuses:
            return UNKNOWN
        return ACCEPTED if ACCEPTED in statuses else FAILED

    @classmethod
    def uniform(cls, batch: Batch, status: str, summary: str,
                message_id: Callable[[Message], str | None] = lambda m: None) -> BatchResult:
        """Every message of ``batch`` with the same status (one request, one answer)."""
        reason = None if status == ACCEPTED else summary
        return cls(tuple(MessageOutcome(m.touch_id, status, message_id(m), reason)
                         for m in batch.messages), summary)

    @classmethod
    def each(cls, batch: Batch, request: Callable[[Message], Any],
             send: Callable[[Message, Any], MessageOutcome]) -> BatchResult:
        """One request per message of ``batch``: ``request`` builds it (a
        :class:`ProviderError` fails only that message, nothing is sent for it) and
        ``send`` posts it and returns its outcome; the summary is the distinct reasons."""
        outcomes = []
        for message in batch.messages:
            try:
                built = request(message)
            except ProviderError as exc:
                outcomes.append(MessageOutcome(message.touch_id, FAILED, None, str(exc)))
                continue
            outcomes.append(send(message, built))
        summary = "; ".join(sorted({o.reason or o.status for o in outcomes}))
        return cls(tuple(outcomes), summary[:500])


class Provider(Protocol):
    """What dispatch needs from a provider."""

    name: str
    honours_idempotency_key: bool  # may an ambiguous request be sent again with its key?
    max_batch_size: int

    def batch_key(self, message: Message) -> tuple:
        """Messages with different keys never share a batch (e.g. template, category)."""
        ...

    def send_batch(self, batch: Batch) -> BatchResult:
        """Hand the batch over; never raises for a provider's answer."""
        ...

    def reconcile(self, batch: Batch, known: dict[str, str]) -> BatchResult | None:
        """Decide a batch whose outcome was lost (crash or timeout). ``known`` maps touch ids
        to provider message ids seen in engagement events. None: still undecided."""
        ...


class ProviderError(RuntimeError):
    """A provider is misconfigured (missing connection, bad message for its API)."""


# -- HTTP ------------------------------------------------------------------------------
class _Retryable(Exception):
    """The provider did not accept the request and asked (or may be asked) again."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class HttpAnswer:
    """The final answer of an HTTP call after retries."""

    status: str  # accepted, failed, unknown
    code: int | None
    reason: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    attempts: int = 1


def connection_base_url(conn: Any) -> str:
    """``scheme://host[:port]`` of an Airflow connection (``host`` may carry the scheme)."""
    host = (conn.host or "").rstrip("/")
    if "://" not in host:
        host = f"{conn.schema or 'https'}://{host}"
    return f"{host}:{conn.port}" if conn.port else host


def get_connection(conn_id: str) -> Any:
    """The Airflow connection ``conn_id`` (``AIRFLOW_CONN_<ID>`` or the metadata DB)."""
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except Exception as exc:  # noqa: BLE001 - Airflow raises its own not-found types
        raise ProviderError(f"Airflow connection {conn_id!r} is not defined") from exc


def connection_with_secret(conn_id: str, secret: str) -> Any:
    """The Airflow connection ``conn_id``, which must hold ``secret`` (API key, token,
    signing secret) as its password; the error names the connection, never the value."""
    conn = get_connection(conn_id)
    if not conn.password:
        raise ProviderError(f"connection {conn_id!r} has no {secret} (password)")
    return conn


class HttpClient:
    """A ``requests.Session`` with a rate limit and bounded retries before acceptance."""

    def __init__(self, base_url: str, headers: dict[str, str], retry: RetryPolicy,
                 requests_per_second: float):
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers.update(headers)
        self.retry = retry
        self._interval = 1.0 / requests_per_second
        self._next_slot = 0.0
        self._lock = threading.Lock()

    def _wait_for_slot(self) -> None:
        with self._lock:
            now = time.monotonic()
            delay = self._next_slot - now
            self._next_slot = max(now, self._next_slot) + self._interval
        if delay > 0:
            time.sleep(delay)

    def _wait(self, state: RetryCallState) -> float:
        backoff = wait_random_exponential(multiplier=self.retry.initial_backoff_seconds,
                                          max=self.retry.max_backoff_seconds)(state)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            # The provider's own wait wins over our backoff; the total bound still holds.
            return min(exc.retry_after, self.retry.max_total_seconds)
        return backoff

    def request(self, method: str, path: str, *, json: Any = None, data: bytes | None = None,
                params: dict | None = None, headers: dict[str, str] | None = None,
                retry_read_timeout: bool = False) -> HttpAnswer:
        """Send with retries; a read timeout is ``unknown`` unless ``retry_read_timeout``
        (the provider honours an idempotency key, so sending again is safe)."""
        url = self.base_url + path
        timeout = (self.retry.connect_timeout_seconds, self.retry.read_timeout_seconds)
        retryable: tuple[type[Exception], ...] = (_Retryable,)
        if retry_read_timeout:
            retryable += (requests.ReadTimeout,)
        retrying = Retrying(
            stop=stop_after_attempt(self.retry.max_attempts)
            | stop_after_delay(self.retry.max_total_seconds),
            wait=self._wait,
            retry=retry_if_exception_type(retryable),
            reraise=True,
        )
        attempts = 0
        try:
            for attempt in retrying:
                with attempt:
                    attempts += 1
                    self._wait_for_slot()
                    try:
                        response = self.session.request(method, url, json=json, data=data,
                                                        params=params, headers=headers,
                                                        timeout=timeout)
                    except requests.ConnectionError as exc:  # includes ConnectTimeout
                        raise _Retryable(f"connection error: {type(exc).__name__}") from None
                    if response.status_code == 429 or response.status_code >= 500:
                        raise _Retryable(f"HTTP {response.status_code}",
                                         _retry_after(response.headers.get("Retry-After")))
                    return _answer(response, attempts)
        except _Retryable as exc:
            log.warning("gave up after %d attempts: %s", attempts, exc.reason)
            return HttpAnswer(FAILED, None, f"not accepted after {attempts} attempts: "
                              f"{exc.reason}", attempts=attempts)
        except requests.ReadTimeout:
            return HttpAnswer(UNKNOWN, None, "read timeout after the request was sent",
                              attempts=attempts)
        raise AssertionError("unreachable: tenacity either returns or raises")


def _retry_after(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None  # an HTTP date; fall back to our own backoff


def _answer(response: requests.Response, attempts: int) -> HttpAnswer:
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    if 200 <= response.status_code < 300:
        return HttpAnswer(ACCEPTED, response.status_code, f"HTTP {response.status_code}",
                          dict(response.headers), body, attempts)
    return HttpAnswer(FAILED, response.status_code,
                      f"HTTP {response.status_code}: {_error_text(body)}",
                      dict(response.headers), body, attempts)


def _error_text(body: Any) -> str:
    # Both SendGrid ({errors: [{message}]}) and Intercom ({errors: [{code, message}]}) use
    # an "errors" list; the messages describe fields, not recipients.
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        parts = [str(e.get("message") or e.get("code")) for e in body["errors"]
                 if isinstance(e, dict)]
        return "; ".join(parts)[:300] or "rejected"
    return "rejected"
