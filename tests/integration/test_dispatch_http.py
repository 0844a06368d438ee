"""Dispatch through real HTTP stand-ins with crashes injected at the commit points:
whatever fails, the provider receives each touch once, or the touch is reported."""

from __future__ import annotations

import pandas as pd
import pytest

from cadence.devtools.stand_ins import StandIn, status
from cadence.handoff import dispatch
from cadence.handoff.dispatch import dispatch_due
from tests.integration.handoff_fixtures import (
    at,
    calendar,
    fast_policy,
    seed_calendar,
    seed_people,
    touch,
)

CHANNEL = {"sendgrid": "email", "intercom": "in_app", "webhook": "email", "twilio": "sms"}


@pytest.fixture
def provider_server(request, monkeypatch):
    """A stand-in for ``request.param`` wired as its Airflow connection."""
    server = StandIn(request.param).start()
    monkeypatch.setenv(f"AIRFLOW_CONN_CADENCE_{request.param.upper()}",
                       server.connection_env())
    yield server
    server.stop()


def _setup(warehouse, policy, provider: str, count: int = 3):
    seed_people(warehouse, count)
    seed_calendar(warehouse, [touch(f"t{i}", f"c{i}", at("10:30"), channel=CHANNEL[provider])
                              for i in range(1, count + 1)])
    return fast_policy(policy, **{CHANNEL[provider]: provider})


def _run(warehouse, policy, tmp_path, live: bool = True):
    return dispatch_due(warehouse, policy, at("10:00"), at("11:00"), run_is_live=live,
                        out_dir=tmp_path)


def _delivered_touch_ids(server) -> list[str]:
    """Touch ids the provider acted on, one entry per delivery."""
    ids = []
    for request in server.accepted:
        body = request.body
        if server.kind == "sendgrid":
            ids += [p["custom_args"]["touch_id"] for p in body["personalizations"]]
        elif server.kind == "webhook":
            ids += [m["touch_id"] for m in body["messages"]]
        elif server.kind == "twilio":  # seed_people: cN has +44 7700 900 00N
            ids.append(f"t{int(body['To'][-3:])}")
        else:
            ids.append(f"t{body['to']['id'][1:]}")
    return sorted(ids)


@pytest.mark.parametrize("provider_server", ["sendgrid", "intercom", "webhook", "twilio"],
                         indirect=True)
def test_throttled_and_failing_provider_still_delivers_each_touch_once(
        warehouse, policy, tmp_path, provider_server):
    live = _setup(warehouse, policy, provider_server.kind)
    provider_server.script = [status(429, Retry_After="0"), status(500), status(503)]
    result = _run(warehouse, live, tmp_path)
    assert result["sent"] == 3 and result["failed"] == result["unknown"] == 0
    assert _delivered_touch_ids(provider_server) == ["t1", "t2", "t3"]
    assert set(calendar(warehouse)["status"]) == {"sent"}
    assert calendar(warehouse)["provider_message_id"].notna().all()
    _run(warehouse, live, tmp_path)
    assert _delivered_touch_ids(provider_server) == ["t1", "t2", "t3"]


@pytest.mark.parametrize("provider_server", ["sendgrid", "intercom", "webhook", "twilio"],
                         indirect=True)
def test_crash_between_recorded_and_sent_then_rerun(warehouse, policy, tmp_path,
                                                    provider_server, monkeypatch):
    live = _setup(warehouse, policy, provider_server.kind)
    real = dispatch._mark_sending
    monkeypatch.setattr(dispatch, "_mark_sending", _crash)
    with pytest.raises(RuntimeError):
        _run(warehouse, live, tmp_path)
    assert provider_server.received == []
    monkeypatch.setattr(dispatch, "_mark_sending", real)
    result = _run(warehouse, live, tmp_path)
    assert result["resumed_batches"] >= 1 and result["sent"] == 3
    assert _delivered_touch_ids(provider_server) == ["t1", "t2", "t3"]
    assert set(calendar(warehouse)["status"]) == {"sent"}


@pytest.mark.parametrize("provider_server", ["sendgrid", "intercom", "twilio"],
                         indirect=True)
def test_crash_after_sending_leaves_unknown_and_never_resends(any_warehouse, policy, tmp_path,
                                                             provider_server, monkeypatch):
    warehouse = any_warehouse
    live = _setup(warehouse, policy, provider_server.kind, count=1)
    real = dispatch._record_outcome
    monkeypatch.setattr(dispatch, "_record_outcome", _crash)
    with pytest.raises(RuntimeError):
        _run(warehouse, live, tmp_path)
    monkeypatch.setattr(dispatch, "_record_outcome", real)
    result = _run(warehouse, live, tmp_path)
    assert result["unknown"] == 1 and len(provider_server.received) == 1
    assert calendar(warehouse).loc["t1", "status"] == "unknown"

    # The provider's engagement events prove the message was accepted: reconciled as sent.
    warehouse.write_frame("engagement_events", pd.DataFrame({
        "provider": [provider_server.kind], "provider_message_id": ["pm-1"],
        "touch_id": ["t1"], "event": ["delivered"],
        "occurred_at": [pd.Timestamp(at("10:31"))], "source": ["test"]}))
    again = _run(warehouse, live, tmp_path)
    assert again["sent"] == 1 and len(provider_server.received) == 1
    cal = calendar(warehouse)
    assert cal.loc["t1", "status"] == "sent" and cal.loc["t1", "provider_message_id"] == "pm-1"


@pytest.mark.parametrize("provider_server", ["webhook"], indirect=True)
def test_webhook_crash_after_sending_resends_under_the_same_key(any_warehouse, policy,
                                                                tmp_path, provider_server,
                                                                monkeypatch):
    warehouse = any_warehouse
    live = _setup(warehouse, policy, "webhook")
    real = dispatch._record_outcome
    monkeypatch.setattr(dispatch, "_record_outcome", _crash)
    with pytest.raises(RuntimeError):
        _run(warehouse, live, tmp_path)
    monkeypatch.setattr(dispatch, "_record_outcome", real)
    result = _run(warehouse, live, tmp_path)
    assert result["sent"] == 3 and len(provider_server.received) == 2
    assert _delivered_touch_ids(provider_server) == ["t1", "t2", "t3"]


@pytest.mark.parametrize("provider_server", ["sendgrid"], indirect=True)
def test_refused_batch_fails_with_reason_and_is_not_retried(warehouse, policy, tmp_path,
                                                            provider_server):
    live = _setup(warehouse, policy, "sendgrid")
    provider_server.script = [status(400, {"errors": [{"message": "invalid template"}]})]
    result = _run(warehouse, live, tmp_path)
    assert result["failed"] == 3
    cal = calendar(warehouse)
    assert set(cal["status"]) == {"failed"} and cal["reason"].str.contains("invalid").all()
    _run(warehouse, live, tmp_path)
    assert len(provider_server.received) == 1
    batches = warehouse.read_table("handoff_batches")
    assert list(batches["status"]) == ["failed"] and list(batches["attempt"]) == [1]


@pytest.mark.parametrize("provider_server", ["sendgrid"], indirect=True)
def test_past_run_sends_nothing_through_a_real_provider(warehouse, policy, tmp_path,
                                                        provider_server):
    live = _setup(warehouse, policy, "sendgrid")
    result = _run(warehouse, live, tmp_path, live=False)
    assert result["sent"] == 0 and provider_server.received == []


def _crash(*args, **kwargs):
    raise RuntimeError("worker killed")
