"""Every Twilio request we build, and every answer our stand-in gives, matches Twilio's
official OpenAPI document (API 2010-04-01, Messages)."""

from __future__ import annotations

import pytest
import requests

from cadence.devtools.stand_ins import TWILIO_SID, StandIn
from cadence.providers.base import Batch, HttpClient, Message, ProviderError
from cadence.providers.policy import RetryPolicy, TwilioPolicy
from cadence.providers.twilio import TwilioProvider

DOC = "twilio/messages_v2010.json"
MESSAGES = "/paths/~12010-04-01~1Accounts~1{AccountSid}~1Messages.json/post"
REQUEST = MESSAGES + "/requestBody/content/application~1x-www-form-urlencoded/schema"
RESPONSE = MESSAGES + "/responses/201/content/application~1json/schema"
SERVICE = "MG" + "a" * 32


def _provider(url: str = "http://127.0.0.1:9", **policy) -> TwilioProvider:
    settings = {"from_number": "+15005550006", **policy}
    return TwilioProvider(HttpClient(url, {}, RetryPolicy(), 1000), TwilioPolicy(**settings),
                          TWILIO_SID)


def _message(phone: str | None = "+44 7700 900123", **data) -> Message:
    return Message("t1", "c1", "c1@example.com", "sms", "transactional", "operational",
                   "outage_notice", {"first_name": "Ada", **data}, phone=phone)


def test_form_from_a_number_validates(contract):
    form = _provider(bodies={"outage_notice": "Hi {first_name}, we are on it."}).request_form(
        _message())
    contract(DOC, REQUEST).validate(form)
    assert form == {"To": "+447700900123", "From": "+15005550006",
                    "Body": "Hi Ada, we are on it."}


def test_form_through_a_messaging_service_with_a_status_callback_validates(contract):
    provider = _provider(from_number=None, messaging_service_sid=SERVICE,
                         status_callback="https://hooks.example.com/twilio?src=cadence")
    form = provider.request_form(_message(body="Renewal ends Friday"))
    contract(DOC, REQUEST).validate(form)
    assert form["MessagingServiceSid"] == SERVICE and "From" not in form
    assert form["StatusCallback"] == "https://hooks.example.com/twilio?src=cadence&touch_id=t1"


def test_messages_the_schema_would_let_through_are_refused_here(contract):
    # The spec types To as any string; a number that is not E.164 never reaches Twilio.
    assert contract(DOC, REQUEST).is_valid({"To": "07700 900123", "Body": "x"})
    with pytest.raises(ProviderError, match="E.164"):
        _provider().request_form(_message(phone="07700 900123"))
    with pytest.raises(ProviderError, match="no SMS text"):
        _provider().request_form(_message())
    with pytest.raises(ProviderError, match="at most 1600"):
        _provider().request_form(_message(body="x" * 1601))


def test_stand_in_answer_matches_the_official_message_and_its_sid_is_kept(contract):
    server = StandIn("twilio").start()
    try:
        form = _provider(bodies={"outage_notice": "Outage: we are on it."}).request_form(
            _message())
        answer = requests.post(f"{server.url}/2010-04-01/Accounts/{TWILIO_SID}/Messages.json",
                               data=form, auth=(TWILIO_SID, "test-secret-token"), timeout=5)
        assert answer.status_code == 201
        contract(DOC, RESPONSE).validate(answer.json())
        assert server.received[0].body == form  # the stand-in read the form
    finally:
        server.stop()


def test_a_sent_message_is_form_encoded_with_basic_auth(contract, monkeypatch):
    server = StandIn("twilio").start()
    try:
        monkeypatch.setenv("AIRFLOW_CONN_CADENCE_TWILIO", server.connection_env())
        provider = TwilioProvider.from_connection(
            TwilioPolicy(from_number="+15005550006", requests_per_second=1000),
            RetryPolicy(max_attempts=2, initial_backoff_seconds=0.01))
        result = provider.send_batch(Batch("b1", "twilio", "k1", None,
                                           (_message(body="Security notice"),)))
        assert result.status == "accepted"
        assert result.outcomes[0].provider_message_id.startswith("SM")
        sent = server.accepted[0]
        assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
        contract(DOC, REQUEST).validate(sent.body)
    finally:
        server.stop()
