"""Providers against local stand-in servers: retries only before acceptance, clear
refusals fail with the provider's reason, lost answers are unknown, never resent blindly."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import date

import pytest

from cadence.devtools.stand_ins import TWILIO_SID, StandIn, accept, hang, status
from cadence.providers.base import Batch, HttpClient, Message, ProviderError
from cadence.providers.intercom import IntercomProvider
from cadence.providers.outbox import OutboxProvider
from cadence.providers.policy import (
    IntercomPolicy,
    RetryPolicy,
    SendGridPolicy,
    TwilioPolicy,
    WebhookPolicy,
)
from cadence.providers.sendgrid import SendGridProvider
from cadence.providers.twilio import TwilioProvider
from cadence.providers.webhook import WebhookProvider

RETRY = RetryPolicy(max_attempts=4, initial_backoff_seconds=0.01, max_backoff_seconds=0.05,
                    max_total_seconds=5, connect_timeout_seconds=1, read_timeout_seconds=0.3)


def _message(i: int, channel: str = "email", **data) -> Message:
    return Message(f"t{i}", f"c{i}", f"c{i}@example.com", channel, "educational",
                   "educational", "d-tips", {"first_name": f"F{i}", **data})


def _batch(provider: str, count: int = 2, channel: str = "email", **data) -> Batch:
    messages = tuple(_message(i, channel, **data) for i in range(count))
    return Batch(f"b-{provider}", provider, f"key-{provider}", date(2026, 11, 23), messages)


@pytest.fixture
def server(request):
    stand_in = StandIn(request.param).start()
    yield stand_in
    stand_in.stop()


def _sendgrid(server, rps: float = 1000) -> SendGridProvider:
    client = HttpClient(server.url, {"Authorization": "Bearer k"}, RETRY, rps)
    return SendGridProvider(client, SendGridPolicy(asm_groups={"educational": 7}))


def test_outbox_writes_atomically_and_rewrites_identically(tmp_path):
    provider = OutboxProvider(tmp_path)
    batch = _batch("outbox", 3)
    first = provider.send_batch(batch)
    content = provider.path(batch).read_text()
    second = provider.send_batch(batch)
    assert first.status == second.status == "accepted"
    assert provider.path(batch).read_text() == content and len(content.splitlines()) == 3
    assert [p.name for p in provider.path(batch).parent.iterdir()] == ["b-outbox.jsonl"]
    assert provider.reconcile(batch, {}).status == "accepted"


@pytest.mark.parametrize("server", ["sendgrid"], indirect=True)
def test_sendgrid_retries_throttling_and_server_errors_then_accepts(server):
    server.script = [status(429, Retry_After="0"), status(500), status(503)]
    result = _sendgrid(server).send_batch(_batch("sendgrid", 2))
    assert result.status == "accepted" and len(server.received) == 4
    assert len(server.accepted) == 1
    message_ids = {o.provider_message_id for o in result.outcomes}
    assert len(message_ids) == 1 and None not in message_ids  # X-Message-Id of the request
    body = server.accepted[0].body
    assert [p["custom_args"]["touch_id"] for p in body["personalizations"]] == ["t0", "t1"]
    assert body["asm"] == {"group_id": 7}


@pytest.mark.parametrize("server", ["sendgrid"], indirect=True)
def test_sendgrid_honours_retry_after(server):
    server.script = [status(429, Retry_After="0.3")]
    started = time.monotonic()
    assert _sendgrid(server).send_batch(_batch("sendgrid")).status == "accepted"
    assert time.monotonic() - started >= 0.25


@pytest.mark.parametrize("server", ["sendgrid"], indirect=True)
def test_sendgrid_clear_refusal_is_a_dead_letter_never_retried(server):
    server.script = [status(400, {"errors": [{"message": "The template_id is invalid",
                                              "field": "template_id"}]})]
    result = _sendgrid(server).send_batch(_batch("sendgrid"))
    assert result.status == "failed" and len(server.received) == 1
    assert all("template_id is invalid" in o.reason for o in result.outcomes)


@pytest.mark.parametrize("server", ["sendgrid"], indirect=True)
def test_sendgrid_gives_up_after_bounded_attempts(server):
    server.script = [status(503)] * 10
    result = _sendgrid(server).send_batch(_batch("sendgrid"))
    assert result.status == "failed" and len(server.received) == RETRY.max_attempts
    assert "not accepted after 4 attempts" in result.summary


@pytest.mark.parametrize("server", ["sendgrid"], indirect=True)
def test_sendgrid_read_timeout_is_unknown_and_not_resent(server):
    server.script = [hang(1.0)]
    result = _sendgrid(server).send_batch(_batch("sendgrid"))
    assert result.status == "unknown" and len(server.received) == 1
    time.sleep(0.8)  # the stand-in still acts on the request after the client gave up
    assert len(server.accepted) == 1


@pytest.mark.parametrize("server", ["sendgrid"], indirect=True)
def test_rate_limit_spaces_requests(server):
    provider = _sendgrid(server, rps=20)
    started = time.monotonic()
    for _ in range(5):
        provider.send_batch(_batch("sendgrid", 1))
    assert time.monotonic() - started >= 0.19


@pytest.mark.parametrize("server", ["webhook"], indirect=True)
def test_webhook_resends_a_lost_answer_under_the_same_key_and_signs(server):
    client = HttpClient(server.url, {"Content-Type": "application/json"}, RETRY, 1000)
    provider = WebhookProvider(client, WebhookPolicy(), "shh-secret")
    server.script = [hang(0.5), accept()]
    result = provider.send_batch(_batch("webhook"))
    assert result.status == "accepted" and len(server.received) == 2
    assert len(server.accepted) == 1
    keys = {r.headers["Idempotency-Key"] for r in server.received}
    assert keys == {"key-webhook"}
    request = server.received[-1]
    raw = json.dumps(request.body, sort_keys=True).encode()
    expected = "sha256=" + hmac.new(b"shh-secret", raw, hashlib.sha256).hexdigest()
    assert request.headers["X-Cadence-Signature"] == expected


@pytest.mark.parametrize("server", ["intercom"], indirect=True)
def test_intercom_sends_one_request_per_message_and_checks_email_subjects(server):
    client = HttpClient(server.url, {"Intercom-Version": "2.14"}, RETRY, 1000)
    provider = IntercomProvider(client, IntercomPolicy(admin_id=99))
    in_app = provider.send_batch(_batch("intercom", 1, channel="in_app"))
    assert in_app.status == "accepted" and in_app.outcomes[0].provider_message_id == "1"
    assert server.received[0].body["from"] == {"type": "admin", "id": 99}
    no_subject = provider.send_batch(_batch("intercom", 1, channel="email"))
    assert no_subject.status == "failed" and "subject" in no_subject.outcomes[0].reason
    assert len(server.received) == 1


def test_unreachable_provider_fails_after_bounded_attempts_without_leaking_token():
    client = HttpClient("http://127.0.0.1:9", {"Authorization": "Bearer sekret-token"},
                        RETRY, 1000)
    result = SendGridProvider(client, SendGridPolicy()).send_batch(_batch("sendgrid"))
    assert result.status == "failed" and "connection error" in result.summary
    assert "sekret" not in result.summary and "@" not in result.summary


@pytest.mark.parametrize("server", ["sendgrid"], indirect=True)
def test_provider_reads_host_and_key_from_the_airflow_connection(server, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_CADENCE_SENDGRID", server.connection_env("SG.key-123"))
    provider = SendGridProvider.from_connection(SendGridPolicy(), RETRY)
    assert provider.send_batch(_batch("sendgrid")).status == "accepted"
    assert server.received[0].headers["Authorization"] == "Bearer SG.key-123"


def test_dispatch_bench_batches_1000_per_request_and_stops_itself():
    from cadence.devtools.dispatch_bench import dispatch_bench

    figures = dispatch_bench(2500)
    assert figures["requests"] == 3 and figures["accepted"] == 2500
    assert figures["messages_per_second"] > 0 and not figures["stopped_early"]


def _sms(i: int, **data) -> Batch:
    message = Message(f"t{i}", f"c{i}", None, "sms", "transactional", "operational",
                      "outage_notice", {"first_name": f"F{i}", "body": "Outage", **data},
                      phone=f"+1 (415) 555-01{i:02d}")
    return Batch(f"b-sms-{i}", "twilio", f"key-sms-{i}", date(2026, 11, 23), (message,))


def _twilio(server, monkeypatch, token: str = "test-secret-token") -> TwilioProvider:
    monkeypatch.setenv("AIRFLOW_CONN_CADENCE_TWILIO", server.connection_env(token))
    server.twilio_token = token
    return TwilioProvider.from_connection(
        TwilioPolicy(from_number="+15005550006", requests_per_second=1000), RETRY)


@pytest.mark.parametrize("server", ["twilio"], indirect=True)
def test_twilio_retries_throttling_then_sends_once_with_basic_auth(server, monkeypatch):
    server.script = [status(429, Retry_After="0"), status(503)]
    result = _twilio(server, monkeypatch).send_batch(_sms(1))
    assert result.status == "accepted" and len(server.received) == 3
    assert len(server.accepted) == 1
    assert server.accepted[0].body["To"] == "+14155550101"
    assert server.accepted[0].path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    assert result.outcomes[0].provider_message_id.startswith("SM")


@pytest.mark.parametrize("server", ["twilio"], indirect=True)
def test_twilio_read_timeout_is_unknown_and_never_resent(server, monkeypatch):
    server.script = [hang(1.0)]
    provider = _twilio(server, monkeypatch)
    result = provider.send_batch(_sms(1))
    assert result.status == "unknown" and len(server.received) == 1
    time.sleep(0.8)
    assert len(server.accepted) == 1  # Twilio sent it; only the answer was lost
    batch = _sms(1)
    assert provider.reconcile(batch, {}) is None  # undecided, not resent
    seen = provider.reconcile(batch, {"t1": "SM" + "1" * 32})
    assert seen.status == "accepted" and len(server.received) == 1


@pytest.mark.parametrize("server", ["twilio"], indirect=True)
def test_twilio_refusal_keeps_the_code_not_the_number_or_the_token(server, monkeypatch):
    server.script = [status(400, {"code": 21211, "status": 400,
                                  "message": "The 'To' number +14155550101 is not valid.",
                                  "more_info": "https://www.twilio.com/docs/errors/21211"})]
    result = _twilio(server, monkeypatch, token="tw-sekret").send_batch(_sms(1))
    assert result.status == "failed" and len(server.received) == 1
    assert result.outcomes[0].reason == "HTTP 400: Twilio error 21211"
    assert "555" not in result.summary and "sekret" not in result.summary


@pytest.mark.parametrize("server", ["twilio"], indirect=True)
def test_twilio_wrong_token_is_refused_and_credentials_come_from_env_too(server,
                                                                         monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_CADENCE_TWILIO", server.connection_env("wrong"))
    provider = TwilioProvider.from_connection(TwilioPolicy(from_number="+15005550006"), RETRY)
    refused = provider.send_batch(_sms(1))
    assert refused.status == "failed" and "20003" in refused.summary
    assert "wrong" not in refused.summary

    monkeypatch.delenv("AIRFLOW_CONN_CADENCE_TWILIO")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", TWILIO_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "test-secret-token")
    from_env = TwilioProvider.from_connection(TwilioPolicy(from_number="+15005550006"), RETRY)
    assert from_env.client.base_url == "https://api.twilio.com"
    with pytest.raises(ProviderError, match="messaging_service_sid or from_number"):
        TwilioProvider.from_connection(TwilioPolicy(), RETRY)
