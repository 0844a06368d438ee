"""Every Intercom request we build, and every answer our stand-in gives, matches Intercom's
official OpenAPI document (API 2.14)."""

from __future__ import annotations

import pytest
import requests

from cadence.handoff.policy import IntercomPolicy, RetryPolicy
from cadence.providers.base import HttpClient, Message, ProviderError
from cadence.providers.intercom import IntercomProvider
from cadence.providers.stand_in import StandIn

DOC = "intercom/messages.json"
REQUEST = "/paths/~1messages/post/requestBody/content/application~1json/schema"
RESPONSE = "/paths/~1messages/post/responses/200/content/application~1json/schema"
ERROR = "/components/schemas/error"


def _provider() -> IntercomProvider:
    return IntercomProvider(HttpClient("http://127.0.0.1:9", {}, RetryPolicy(), 1000),
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


def test_error_body_we_parse_is_the_official_error_shape(contract):
    contract(DOC, ERROR).validate({"type": "error.list", "request_id": None,
                                   "errors": [{"code": "parameter_invalid",
                                               "message": "to is invalid"}]})

