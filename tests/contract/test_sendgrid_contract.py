"""Every SendGrid request we build, and every answer our stand-in gives, matches SendGrid's
official OpenAPI document."""

from __future__ import annotations

from datetime import date

import pytest
import requests

from cadence.devtools.stand_ins import StandIn, status
from cadence.handoff.dispatch import plan_batches
from cadence.providers.base import Batch, HttpClient, Message
from cadence.providers.policy import RetryPolicy, SendGridPolicy
from cadence.providers.sendgrid import SendGridProvider

MAIL = "sendgrid/tsg_mail_v3.json"
SUPPRESSIONS = "sendgrid/tsg_suppressions_v3.json"
SEND_REQUEST = "/components/requestBodies/PostMailSend/content/application~1json/schema"
ERROR_RESPONSE = "/components/responses/PostMailSend400/content/application~1json"
ERROR = ERROR_RESPONSE + "/schema"


def _provider(url: str = "http://127.0.0.1:9") -> SendGridProvider:
    client = HttpClient(url, {}, RetryPolicy(), 1000)
    return SendGridProvider(client, SendGridPolicy(asm_groups={"promotional": 101,
                                                               "educational": 102}))


def _messages(count: int, message_type: str = "promotional") -> list[Message]:
    return [Message(f"t{i:05d}", f"c{i}", f"c{i}@example.com", "email", message_type,
                    "promotional", "d-newsletter",
                    {"first_name": "Ada", "company": "Acme", "active_users": 12},
                    send_at=1795000000 + i)
            for i in range(count)]


@pytest.mark.parametrize("message_type", ["promotional", "transactional"])
def test_mail_send_body_validates(contract, message_type):
    provider = _provider()
    batch = Batch("b1", "sendgrid", "k1", date(2026, 11, 23),
                  tuple(_messages(3, message_type)))
    body = provider.request_body(batch)
    contract(MAIL, SEND_REQUEST).validate(body)
    assert ("asm" in body) is (message_type != "transactional")
    assert body["personalizations"][0]["custom_args"]["touch_id"] == "t00000"


def test_batching_keeps_every_request_within_1000_personalizations(contract):
    provider = _provider()
    batches = plan_batches(_messages(2500), {"email": "sendgrid"}, {"sendgrid": provider},
                           date(2026, 11, 23))
    assert [len(b.messages) for b in batches] == [1000, 1000, 500]
    validator = contract(MAIL, SEND_REQUEST)
    for batch in batches:
        validator.validate(provider.request_body(batch))
    too_big = Batch("b", "sendgrid", "k", date(2026, 11, 23), tuple(_messages(1001)))
    assert not validator.is_valid(provider.request_body(too_big))  # why we batch


def test_stand_in_answers_match_the_official_responses(contract):
    server = StandIn("sendgrid").start()
    try:
        server.suppressions = {
            "unsubscribes": [{"email": "a@example.com", "created": 1763900000}],
            "bounces": [{"email": "b@example.com", "created": 1763900000,
                         "reason": "550 5.1.1 unknown", "status": "5.1.1"}],
            "spam_reports": [{"email": "c@example.com", "created": 1763900000,
                              "ip": "10.0.0.1"}],
        }
        for name in ("unsubscribes", "bounces", "spam_reports"):
            body = requests.get(f"{server.url}/v3/suppression/{name}", timeout=5).json()
            pointer = f"/paths/~1v3~1suppression~1{name}/get/responses/200/content/" \
                      "application~1json/schema"
            contract(SUPPRESSIONS, pointer).validate(body)
        answer = requests.post(f"{server.url}/v3/mail/send", json={}, timeout=5)
        assert answer.status_code == 202 and answer.headers["X-Message-Id"]
    finally:
        server.stop()


def test_official_error_answer_becomes_the_reason_a_user_sees(contract, official_examples):
    # SendGrid's own 400 example, checked against its schema, sent back by a stand-in: the
    # batch is a dead letter whose reason quotes SendGrid's message, and it is not retried.
    examples = official_examples(MAIL, ERROR_RESPONSE)
    assert examples
    server = StandIn("sendgrid").start()
    try:
        for error in examples.values():
            contract(MAIL, ERROR).validate(error)
            server.received.clear()
            server.script = [status(400, error)]
            result = _provider(server.url).send_batch(
                Batch("b1", "sendgrid", "k1", date(2026, 11, 23), tuple(_messages(2))))
            messages = "; ".join(e["message"] for e in error["errors"])
            assert result.status == "failed" and len(server.received) == 1
            assert [o.reason for o in result.outcomes] == \
                [f"HTTP 400: {messages} after 1 attempt(s)"] * 2
            assert all(o.provider_message_id is None for o in result.outcomes)
    finally:
        server.stop()
