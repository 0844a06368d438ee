"""The live CSM feed as a subscriber sees it, the weekly CSVs a CSM opens in a spreadsheet,
and output paths that must stay inside CADENCE_OUT_DIR."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from icalendar import Calendar

from cadence.contract.tables import CSM_TASKS
from cadence.outputs.csm_task_files import (
    UnsafePath,
    neutralise,
    neutralise_text,
    safe_path,
    write_task_files,
)

DAY1 = date(2026, 12, 1)
DAY2 = date(2026, 12, 2)


def task(task_id, start, owner="csm1", account_name="Acme GmbH", minutes=30, context="Why"):
    starts = pd.Timestamp(start, tz="Europe/Berlin").tz_convert("UTC")
    row = dict.fromkeys(CSM_TASKS)
    row.update(task_id=task_id, touch_id="t_" + task_id, csm_id=owner, owner_type="csm",
               owner_name="Carla Diaz", owner_email="carla@vendor.example",
               account_id="a1", account_name=account_name, contact_id="c1",
               contact_name="Ana Silva", contact_email="ana@customer.example",
               contact_role="champion", due_date=starts.tz_convert("Europe/Berlin").date(),
               starts_at=starts, minutes=minutes, task_zone="Europe/Berlin",
               within_hours=True, task_type="check_in_call", priority=70, status="open",
               talking_points="renewal in 50 days (open): confirm the decision path\n"
                              "review goals", context=context, crm_url="https://crm/a1")
    return row


def frame(*rows):
    out = pd.DataFrame(list(rows), columns=list(CSM_TASKS))
    out["starts_at"] = pd.to_datetime(out["starts_at"], utc=True)
    return out


def subscribe(path, store: dict) -> dict:
    """What a calendar client does on each refresh: an event replaces the stored one with the
    same UID when its SEQUENCE is not lower; events are never matched otherwise."""
    for event in Calendar.from_ical(path.read_bytes()).walk("VEVENT"):
        uid, sequence = str(event["uid"]), int(event["sequence"])
        if uid not in store or sequence >= store[uid]["sequence"]:
            store[uid] = {"sequence": sequence, "status": str(event["status"]),
                          "start": event.decoded("dtstart"), "event": event}
    return store


def test_replan_updates_one_event_cancels_one_and_duplicates_nothing(warehouse, policy,
                                                                     tmp_path):
    rules = policy.csm_tasks
    first = frame(task("k1", "2026-12-02 10:00"), task("k2", "2026-12-03 14:00"),
                  task("k3", "2026-12-04 10:00"))
    write_task_files(warehouse, first, rules, tmp_path, DAY1,
                     datetime(2026, 12, 1, 1, 0, tzinfo=UTC))
    feed = tmp_path / "csm_tasks" / "csm1.ics"
    subscriber = subscribe(feed, {})
    assert set(subscriber) == {f"k{n}@{rules.feed.uid_domain}" for n in (1, 2, 3)}
    event = subscriber["k1@cadence.example"]["event"]
    assert str(event["organizer"]) == "mailto:carla@vendor.example"
    assert str(event["attendee"]) == "mailto:ana@customer.example"
    assert event["attendee"].params["CN"] == "Ana Silva"
    assert str(event["url"]) == "https://crm/a1"
    [alarm] = event.walk("VALARM")
    assert alarm.decoded("trigger") == timedelta(minutes=-15)

    # The next night: k1 moves to the afternoon, k2 is no longer planned, k3 is unchanged.
    second = frame(task("k1", "2026-12-02 15:00"), task("k3", "2026-12-04 10:00"))
    summary = write_task_files(warehouse, second, rules, tmp_path, DAY2,
                               datetime(2026, 12, 2, 1, 0, tzinfo=UTC))
    subscribe(feed, subscriber)

    assert summary["cancelled_events"] == 1
    assert len(subscriber) == 3  # one event per task, nothing added
    moved, gone, same = (subscriber[f"k{n}@cadence.example"] for n in (1, 2, 3))
    assert (moved["sequence"], moved["status"], moved["start"].hour) == (1, "CONFIRMED", 15)
    assert (gone["sequence"], gone["status"]) == (1, "CANCELLED")
    assert not gone["event"].walk("VALARM")
    assert same["sequence"] == 0
    assert moved["event"].decoded("dtstamp") == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    assert same["event"].decoded("dtstamp") == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)

    # A rerun of the same night changes nothing; a backfill of an older night leaves the
    # feed alone.
    before = feed.read_bytes()
    write_task_files(warehouse, second, rules, tmp_path, DAY2,
                     datetime(2026, 12, 2, 3, 0, tzinfo=UTC))
    assert feed.read_bytes() == before
    assert write_task_files(warehouse, first, rules, tmp_path, DAY1,
                            datetime(2026, 12, 2, 4, 0, tzinfo=UTC))["feeds"] == 0
    assert feed.read_bytes() == before


def test_a_task_handed_to_another_owner_leaves_the_first_feed_as_cancelled(warehouse, policy,
                                                                           tmp_path):
    rules = policy.csm_tasks
    write_task_files(warehouse, frame(task("k1", "2026-12-03 10:00")), rules, tmp_path, DAY1,
                     datetime(2026, 12, 1, tzinfo=UTC))
    write_task_files(warehouse, frame(task("k1", "2026-12-03 10:00", owner="boss")), rules,
                     tmp_path, DAY2, datetime(2026, 12, 2, tzinfo=UTC))
    mine = subscribe(tmp_path / "csm_tasks" / "csm1.ics", {})
    theirs = subscribe(tmp_path / "csm_tasks" / "boss.ics", {})
    assert mine["k1@cadence.example"]["status"] == "CANCELLED"
    assert theirs["k1@cadence.example"]["status"] == "CONFIRMED"


def test_weekly_csv_neutralises_formulas_for_spreadsheets(warehouse, policy, tmp_path):
    evil = '=HYPERLINK("http://evil.example/x","Renewal")'
    tasks = frame(task("k1", "2026-12-02 10:00", account_name=evil),
                  task("k2", "2026-12-08 10:00", account_name="+cmd|' /C calc'!A0"),
                  task("k3", "2026-12-09 10:00", account_name="@SUM(1+1)"))
    tasks.loc[2, "contact_name"] = "-2+3"
    tasks.loc[2, "last_nps_comment"] = "\tTab start"
    write_task_files(warehouse, tasks, policy.csm_tasks, tmp_path, DAY1,
                     datetime(2026, 12, 1, tzinfo=UTC))
    folder = tmp_path / "csm_tasks" / "csm1"
    assert sorted(p.name for p in folder.iterdir()) == ["2026-W49.csv", "2026-W50.csv"]
    with open(folder / "2026-W49.csv", newline="") as handle:
        [row] = list(csv.DictReader(handle))
    assert row["account_name"] == "'" + evil
    assert row["starts_at"] == "2026-12-02 10:00" and row["ends_at"] == "10:30"
    assert row["contact_name"] == "Ana Silva"
    with open(folder / "2026-W50.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["account_name"] for r in rows] == ["'+cmd|' /C calc'!A0", "'@SUM(1+1)"]
    assert rows[1]["contact_name"] == "'-2+3" and rows[1]["last_nps_comment"] == "'\tTab start"
    for value in ("plain", "Renewal - 2026", 5, -3.5, None):
        assert neutralise(value) == value


PHONES = ["+61 2 9374 4000", "+1 (555) 123 4567", "+44 (0)20 7946 0958", "+49 30 12345678"]
# Arithmetic, a function, a formula after the number, a bare run of digits (Excel makes it a
# number without its "+"), a line end or a non-ASCII digit: still quoted.
STILL_QUOTED = ["+1-2", "+1+1", "=1+1", "+61 2 9374 4000;=cmd", "+SUM(A1)", "+1/2", "+1.5*3",
                "+1 2*3", "+(1)-2", "+61293744000", "+61 2 9374 4000\n", "+61  2", "+６1 2",
                "-61 2 9374 4000", "+1 (555) 123-4567"]


def test_weekly_csv_writes_a_plain_phone_number_unquoted(warehouse, policy, tmp_path):
    tasks = frame(*(task(f"k{i}", f"2026-12-02 1{i}:00") for i in range(6)))
    tasks["contact_phone"] = [*PHONES, "+1-2", "+61 2 9374 4000;=cmd"]
    write_task_files(warehouse, tasks, policy.csm_tasks, tmp_path, DAY1,
                     datetime(2026, 12, 1, tzinfo=UTC))
    with open(tmp_path / "csm_tasks" / "csm1" / "2026-W49.csv", newline="") as handle:
        phones = [r["contact_phone"] for r in csv.DictReader(handle)]
    assert phones == [*PHONES, "'+1-2", "'+61 2 9374 4000;=cmd"]


@pytest.mark.parametrize("dtype", ["str", "string[python]", "string[pyarrow]"])
def test_the_column_and_the_cell_neutralise_the_same_cells(dtype):
    """week_csv quotes a text column at once (neutralise_text) and any other cell by cell
    (neutralise): both quote exactly the formulas, never the phone numbers."""
    cells = [*PHONES, *STILL_QUOTED, None, "plain", "Renewal - 2026"]
    expected = [None if v is None else "'" + v if v in STILL_QUOTED else v for v in cells]
    assert [neutralise(v) for v in cells] == expected
    column = neutralise_text(pd.Series(cells, dtype=dtype))
    assert column.isna().tolist() == [v is None for v in cells]
    assert column.dropna().tolist() == [v for v in expected if v is not None]


@pytest.mark.parametrize("part", ["../../../x", "/etc/passwd", "a/../../b", "..", "x/../../.."])
def test_no_output_path_leaves_the_output_folder(tmp_path, part):
    with pytest.raises(UnsafePath):
        safe_path(tmp_path / "out", part)
    assert safe_path(tmp_path / "out", "csm1.ics") == (tmp_path / "out" / "csm1.ics").resolve()


def test_an_owner_id_that_is_a_path_never_becomes_a_file(warehouse, policy, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(UnsafePath, match="does not match csm_tasks.id_pattern"):
        write_task_files(warehouse, frame(task("k1", "2026-12-02 10:00", owner="../../../x")),
                         policy.csm_tasks, out, DAY1, datetime(2026, 12, 1, tzinfo=UTC))
    assert not (tmp_path / "x.ics").exists() and not list(tmp_path.rglob("*.ics"))
