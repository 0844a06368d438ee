"""Intercom content-stats exports: in-app messages sent through the Intercom stand-in, then
the export's receipts land as engagement events of those touches, once however often the
export is reread, and bad rows are quarantined naming file, row, column and rule."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest

from cadence.devtools.stand_ins import StandIn
from cadence.handoff.dispatch import dispatch_due
from cadence.handoff.engagement import (
    EngagementError,
    compute_engagement_metrics,
    ingest_engagement,
)
from cadence.handoff.intercom_stats import IntercomExportError
from tests.integration.handoff_fixtures import (
    at,
    fast_policy,
    seed_calendar,
    seed_people,
    touch,
)
from tests.integration.test_engagement import AS_OF

HEADER = ["user_id", "user_external_id", "company_id", "email", "name", "ruleset_id",
          "content_id", "content_type", "content_title", "ruleset_version_id", "receipt_id",
          "received_at", "series_id", "series_title", "node_id", "first_reply",
          "first_completion", "first_series_completion", "first_series_disengagement",
          "first_series_exit", "first_goal_success", "first_open", "first_click",
          "first_dismisall", "first_unsubscribe", "first_hard_bounce"]


@pytest.fixture
def intercom_sent(any_warehouse, policy, tmp_path, monkeypatch):
    """Three in-app messages (t1..t3 to c1..c3) sent through the Intercom stand-in; the
    warehouse and each touch's Intercom message id."""
    server = StandIn("intercom").start()
    monkeypatch.setenv("AIRFLOW_CONN_CADENCE_INTERCOM", server.connection_env())
    warehouse = any_warehouse
    seed_people(warehouse)
    seed_calendar(warehouse, [touch(f"t{i}", f"c{i}", at("10:30"), channel="in_app")
                              for i in (1, 2, 3)])
    live = fast_policy(policy, in_app="intercom")
    result = dispatch_due(warehouse, live, at("10:00"), at("11:00"), run_is_live=True,
                          out_dir=tmp_path / "out")
    server.stop()
    assert result["sent"] == 3
    deliveries = warehouse.read_table("deliveries").dropna(subset=["provider_message_id"])
    ids = dict(zip(deliveries["touch_id"], deliveries["provider_message_id"], strict=False))
    return warehouse, ids


def _row(message_id: str, contact: str, received: str, **stats: str) -> dict:
    row = dict.fromkeys(HEADER, "")
    row.update(user_id=contact, user_external_id=contact, email=f"{contact}@example.com",
               name=f"Person {contact}", ruleset_id=message_id, content_type="Chat",
               receipt_id=f"r-{message_id}", received_at=str(int(at(received).timestamp())),
               series_id="-1", company_id="-1")
    row.update({k: str(int(at(v).timestamp())) if ":" in v else v for k, v in stats.items()})
    return row


def _export(folder, name: str, rows: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows, columns=HEADER)
    if name.endswith(".gz"):
        with gzip.open(folder / name, "wt") as out:
            frame.to_csv(out, index=False)
    else:
        frame.to_csv(folder / name, index=False)


def _ingest(warehouse, policy, tmp_path):
    return ingest_engagement(warehouse, policy, AS_OF, events_dir=tmp_path / "engagement",
                             intercom_dir=tmp_path / "intercom_stats", run_id="test_run")


def test_export_rows_become_events_of_the_sent_touches_once(intercom_sent, policy, tmp_path):
    warehouse, ids = intercom_sent
    folder = tmp_path / "intercom_stats"
    _export(folder, "content_data_1.csv.gz", [
        _row(ids["t1"], "c1", "10:31", first_open="10:40", first_click="10:41",
             first_dismisall="10:45"),
        _row(ids["t2"], "c2", "10:31", first_unsubscribe="10:50"),
        _row(ids["t3"], "c3", "10:31"),
        _row("9999999", "c9", "09:00", first_open="09:10"),  # a Post cadence never sent
    ])
    first = _ingest(warehouse, policy, tmp_path)
    assert first["intercom"] == {"rows": 4, "other_content_rows": 1, "events": 6,
                                 "quarantined": 0,
                                 "untracked_statistics": {"first_dismisall": 1}}
    assert first["new_events"] == 6 and first["new_suppressions"] == 1
    events = warehouse.read_table("engagement_events")
    assert set(events["provider"]) == {"intercom"}
    by_touch = events.groupby("touch_id")["event"].apply(sorted).to_dict()
    assert by_touch == {"t1": ["click", "delivered", "open"],
                        "t2": ["delivered", "unsubscribe"], "t3": ["delivered"]}
    opened = events[events["event"] == "open"].iloc[0]
    assert pd.Timestamp(opened["occurred_at"]) == pd.Timestamp(at("10:40"))
    suppression = warehouse.read_table("consent_suppressions").iloc[0]
    assert (suppression["contact_id"], suppression["reason"]) == ("c2", "unsubscribe")

    # Intercom reports first times: a rerun, and a later export overlapping the first,
    # add nothing; a later first click of t3 is the only new event.
    again = _ingest(warehouse, policy, tmp_path)
    assert again["new_events"] == 0 and again["new_suppressions"] == 0
    _export(folder, "content_data_2.csv", [
        _row(ids["t1"], "c1", "10:31", first_open="10:40", first_click="10:41"),
        _row(ids["t3"], "c3", "10:31", first_open="12:00")])
    later = _ingest(warehouse, policy, tmp_path)
    assert later["new_events"] == 1
    assert warehouse.count("engagement_events") == 7

    compute_engagement_metrics(warehouse, policy, AS_OF)
    metrics = warehouse.read_table("engagement_metrics").iloc[0]
    assert (metrics["sent"], metrics["delivered"]) == (3, 3)
    assert metrics["open_rate"] == pytest.approx(2 / 3)


def test_bad_rows_are_quarantined_naming_row_column_and_rule(intercom_sent, policy,
                                                             tmp_path):
    warehouse, ids = intercom_sent
    tolerant = policy.model_copy(update={"quality": policy.quality.model_copy(
        update={"entity_thresholds": {"engagement_events": 0.8}})})
    rows = [_row(ids["t1"], "c1", "10:31", first_open="10:40"),
            _row(ids["t2"], "c2", "10:31", first_open="1700000000000"),  # milliseconds
            _row(ids["t3"], "c3", "10:31", first_click="10:00"),  # before the receipt
            _row("", "c3", "10:31")]
    _export(tmp_path / "intercom_stats", "export.csv", rows)
    result = _ingest(warehouse, tolerant, tmp_path)
    assert result["intercom"]["quarantined"] == 3 and result["new_events"] == 2

    quarantine = warehouse.read_table("quarantine", {"entity": "intercom.content_stats"})
    found = {json.loads(r.row)["_row"]: r.rule for r in quarantine.itertuples()}
    assert found == {"2": "intercom.content_stats.first_open: not unix seconds",
                     "3": "intercom.content_stats.first_click: before received_at",
                     "4": "intercom.content_stats.ruleset_id: required"}
    for row in quarantine["row"]:
        kept = json.loads(row)
        assert kept["_file"] == "export.csv"
        assert "email" not in kept and "name" not in kept  # personal data stays out
    _ingest(warehouse, tolerant, tmp_path)  # a rerun replaces the day's partition
    assert warehouse.count("quarantine") == 3

    with pytest.raises(EngagementError, match=r"3 of 4 export rows rejected \(75.0%\)"):
        _ingest(warehouse, policy, tmp_path)  # above the default 5% threshold


def test_a_file_that_is_not_an_export_names_file_and_column(warehouse, policy, tmp_path):
    folder = tmp_path / "intercom_stats"
    folder.mkdir()
    (folder / "stats.csv").write_text("ruleset_id,received_at\n1,1700000000\n")
    with pytest.raises(IntercomExportError, match="stats.csv: column receipt_id: missing"):
        _ingest(warehouse, policy, tmp_path)
