"""Every Intercom request we build, and every answer our stand-in gives, matches Intercom's
official OpenAPI document (API 2.14)."""

from __future__ import annotations

from datetime import date

import pytest
import requests

from cadence.devtools.stand_ins import StandIn, status
from cadence.providers.base import Batch, HttpClient, Message, ProviderError
from cadence.providers.intercom import IntercomProvider
from cadence.providers.policy import IntercomPolicy, RetryPolicy

DOC = "intercom/messages.json"
REQUEST = "/paths/~1messages/post/requestBody/content/application~1json/schema"
RESPONSE = "/paths/~1messages/post/responses/200/content/application~1json/schema"
ERROR = "/components/schemas/error"


def _provider(url: str = "http://127.0.0.1:9") -> IntercomProvider:
    return IntercomProvider(HttpClient(url, {}, RetryPolicy(), 1000),
                            IntercomPolicy(admin_id=394051))


def _message(channel: str, **data) -> Message:
    return Message("t1", "c1", "c1@example.com", channel, "educational", "educational",
                   "tip-of-the-week", {"first_name": "Ada", **data})


def test_in_app_body_validates(contract):
    body = _provider().request_body(_message("in_app", body="Try dashboards"))
    contract(DOC, REQUEST).validate(body)
    assert body["message_type"] == "in_app" and isinstance(body["from"]["id"], int)


def test_email_body_validates_and_needs_a_subject_the_schema_does_not_enforce(contract):
    provider = _provider()
    contract(DOC, REQUEST).validate(provider.request_body(_message("email", subject="Hi")))
    without_subject = {"message_type": "email", "body": "x", "template": "plain",
                       "from": {"type": "admin", "id": 1}, "to": {"type": "user", "id": "c1"}}
    assert contract(DOC, REQUEST).is_valid(without_subject)  # the spec lets it through
    with pytest.raises(ProviderError, match="subject"):
        provider.request_body(_message("email"))


def test_stand_in_answer_matches_the_official_message(contract):
    server = StandIn("intercom").start()
    try:
        body = _provider().request_body(_message("in_app"))
        answer = requests.post(f"{server.url}/messages", json=body, timeout=5)
        contract(DOC, RESPONSE).validate(answer.json())
        assert answer.json()["message_type"] == "inapp"
    finally:
        server.stop()


@pytest.mark.parametrize("code", ["400", "401", "403", "422"])
def test_official_error_answer_becomes_the_reason_a_user_sees(contract, official_examples,
                                                              code):
    # Intercom's own examples of each refusal of POST /messages, checked against its error
    # schema and sent back by a stand-in: the touch fails (never retried) with Intercom's
    # message as its reason.
    examples = official_examples(DOC, f"/paths/~1messages/post/responses/{code}/content/"
                                      "application~1json")
    assert examples
    server = StandIn("intercom").start()
    try:
        for error in examples.values():
            contract(DOC, ERROR).validate(error)
            server.received.clear()
            server.script = [status(int(code), error)]
            result = _provider(server.url).send_batch(
                Batch("b1", "intercom", "k1", date(2026, 11, 23), (_message("in_app"),)))
            (outcome,) = result.outcomes
            assert (outcome.status, outcome.provider_message_id) == ("failed", None)
            assert outcome.reason == f"HTTP {code}: {error['errors'][0]['message']}"
            assert len(server.received) == 1
    finally:
        server.stop()


def test_error_without_a_message_is_named_by_its_code(contract):
    # The schema requires only ``code``; ``message`` may be null.
    error = {"type": "error.list", "request_id": None,
             "errors": [{"code": "parameter_invalid", "message": None, "field": "to"}]}
    contract(DOC, ERROR).validate(error)
    server = StandIn("intercom").start()
    try:
        server.script = [status(400, error)]
        result = _provider(server.url).send_batch(
            Batch("b1", "intercom", "k1", date(2026, 11, 23), (_message("in_app"),)))
        assert [(o.status, o.reason) for o in result.outcomes] == \
            [("failed", "HTTP 400: parameter_invalid")]
    finally:
        server.stop()
