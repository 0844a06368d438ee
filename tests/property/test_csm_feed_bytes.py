"""The CSM feeds are written column-wise, without icalendar's Event: every feed must be byte
for byte what icalendar's Calendar/Event build writes (kept here as the reference), for any
text a task can say, and must parse back with icalendar to what the task said."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Alarm, Calendar, Event, Timezone, vCalAddress, vText
from icalendar.parser.string import _foldline

from cadence.outputs.csm_task_files import VERSION_COLUMNS, feeds, fold

STAMP = datetime(2026, 11, 23, 1, 2, 3, tzinfo=UTC)
ZONES = ["", "UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
         "Asia/Kathmandu", "Atlantic/Reykjavik", "Etc/GMT+5", "America/St_Johns"]
DST_EDGES = ["2026-03-29 00:59:59", "2026-03-29 01:00", "2026-10-25 00:30", "2026-10-25 01:30",
             "2026-03-08 06:59", "2026-03-08 07:00", "2026-11-01 05:30", "2026-11-01 06:30",
             "2026-04-04 14:30", "2026-10-03 15:30"]
# Characters that are escaped, quoted or folded differently: TEXT and RFC 6868 escapes, quote
# triggers, line breaks, and 2-, 3- and 4-octet UTF-8 characters.
AWKWARD = "\\;,:\"'^ \n\r\t\u2019\u00e9\u65e5\U0001f600N"


def _name(value) -> str | None:
    # A missing name is None, NaN (pandas) or empty: the address shows instead.
    return value if isinstance(value, str) and value else None


def reference_feed(versions: pd.DataFrame, owner: str, rules) -> bytes:
    """The feed as icalendar's Calendar/Event build wrote it before the column-wise writer."""
    calendar = Calendar()
    calendar.add("prodid", "-//cadence//csm tasks//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"cadence tasks {owner}")
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    for v in versions.itertuples(index=False):
        event = Event()
        event.add("uid", f"{v.task_id}@{rules.feed.uid_domain}")
        event.add("sequence", int(v.sequence))
        event.add("dtstamp", pd.Timestamp(v.changed_at).to_pydatetime())
        event.add("last-modified", pd.Timestamp(v.changed_at).to_pydatetime())
        start = pd.Timestamp(v.starts_at).tz_convert(v.task_zone or "UTC").to_pydatetime()
        event.add("dtstart", start)
        event.add("duration", timedelta(minutes=int(v.minutes)))
        event.add("summary", v.summary)
        if isinstance(v.description, str):
            event.add("description", v.description)
        event.add("status", "CANCELLED" if v.status == "cancelled" else "CONFIRMED")
        if isinstance(v.organizer_email, str) and v.organizer_email:
            organizer = vCalAddress(f"mailto:{v.organizer_email}")
            organizer.params["cn"] = vText(_name(v.organizer_name) or v.organizer_email)
            event.add("organizer", organizer)
        if isinstance(v.attendee_email, str) and v.attendee_email:
            attendee = vCalAddress(f"mailto:{v.attendee_email}")
            attendee.params["cn"] = vText(_name(v.attendee_name) or v.attendee_email)
            attendee.params["role"] = vText("REQ-PARTICIPANT")
            event.add("attendee", attendee)
        if isinstance(v.url, str) and v.url:
            event.add("url", v.url)
        if rules.feed.alarm_minutes_before is not None and v.status == "open":
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", v.summary)
            alarm.add("trigger", timedelta(minutes=-rules.feed.alarm_minutes_before))
            event.add_component(alarm)
        calendar.add_component(event)
    for position, tzid in enumerate(sorted(calendar.get_missing_tzids())):
        calendar.subcomponents.insert(position, _timezone(tzid))
    return calendar.to_ical()


@functools.cache
def _timezone(tzid):
    return Timezone.from_tzid(tzid)


def version(task_id, owner="csm-1", start="2026-12-02 09:00", zone="Europe/Berlin", **fields):
    row = dict.fromkeys(VERSION_COLUMNS)
    row.update(owner_id=owner, task_id=task_id, sequence=0, status="open", fingerprint="f",
               due_date=date(2026, 12, 2), starts_at=pd.Timestamp(start, tz="UTC"),
               minutes=30, task_zone=zone, summary="Check in call: Ana Silva (Acme GmbH)",
               description="Why now: renewal\nCall: Ana Silva, champion",
               organizer_name="Carla Diaz", organizer_email="carla@vendor.example",
               attendee_name="Ana Silva", attendee_email="ana@customer.example",
               url="https://crm.example/a1", plan_date=date(2026, 12, 1), changed_at=STAMP)
    row.update(fields)
    return row


def frame(rows) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=list(VERSION_COLUMNS))
    out["starts_at"] = pd.to_datetime(out["starts_at"], utc=True)
    out["changed_at"] = pd.to_datetime(out["changed_at"], utc=True)
    return out


def assert_as_icalendar_writes(versions: pd.DataFrame, rules) -> dict[str, bytes]:
    written = dict(feeds(versions, rules))
    expected = {owner: reference_feed(theirs, owner, rules)
                for owner, theirs in versions.groupby("owner_id", sort=True)}
    assert list(written) == list(expected)
    for owner, text in written.items():
        assert text == expected[owner], owner
    return written


def unescaped(text: str) -> str:
    """What a TEXT value reads back as: line breaks (and a written ``\\N``) as LF."""
    return text.replace("\\N", "\n").replace("\r\n", "\n").replace("\r", "\n")


def awkward_rows() -> list[dict]:
    rows = []
    # Every escape and multi-octet character at every position around the first and second
    # fold of SUMMARY, DESCRIPTION, ATTENDEE (CN) and UID.
    for n, char in enumerate(["\\", "^", ",", ";", "\n", "\r\n", "\\N", '"', "'", "\u00e9",
                              "\u65e5", "\U0001f600", "\u2019"]):
        for at in range(52, 80, 3):
            text = "a" * at + char + "b" * 70 + char + "c"
            rows.append(version(f"t{n}_{at}", summary=text[:at + 3 + n], description=text,
                                attendee_name=text[at - 45:], organizer_name=char))
    # A backslash (written "\\") exactly at the 74th octet of the DESCRIPTION line.
    rows.append(version("backslash74", description="x" * (73 - len("DESCRIPTION:")) + "\\yz"
                        + "w" * 80))
    rows += [
        version("bare", description=None, url=None, organizer_email=None, attendee_email="",
                attendee_name=None),
        version("no-names", organizer_name="", attendee_name=None, url=""),
        version("nan-names", organizer_name=float("nan"), attendee_name=float("nan")),
        version("cancelled", status="cancelled", sequence=3),
        version("utc", zone="UTC"), version("no-zone", zone=""),
        version("reykjavik", zone="Atlantic/Reykjavik", minutes=90),
        version("long", minutes=1500, sequence=12, summary="Ünïcödé " * 30,
                description="Müller, O'Brien; \"quoted\" ^caret^ \\back\\slash\\ 日本語 😀\n" * 8),
        version("other-owner", owner="csm-2", zone="America/New_York", start="2026-11-01 05:30"),
    ]
    rows += [version(f"dst{n}-{zone}", owner="csm-3", start=start, zone=zone)
             for n, start in enumerate(DST_EDGES)
             for zone in ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe")]
    return rows


@pytest.mark.parametrize("alarm", [15, 0, None])
def test_feeds_are_the_bytes_icalendar_writes_and_parse_back(policy, alarm):
    rules = policy.csm_tasks.model_copy(update={
        "feed": policy.csm_tasks.feed.model_copy(update={"alarm_minutes_before": alarm})})
    versions = frame(awkward_rows())
    versions.index = versions.index[::-1] * 7  # rows are matched by position, not label
    written = assert_as_icalendar_writes(versions, rules)

    by_uid = {f"{v.task_id}@{rules.feed.uid_domain}": v for v in versions.itertuples()}
    for text in written.values():
        calendar = Calendar.from_ical(text)
        assert all(len(line) <= 75 for line in text.split(b"\r\n"))
        assert [t.tz_name for t in calendar.timezones] == sorted(t.tz_name
                                                                 for t in calendar.timezones)
        for event in calendar.walk("VEVENT"):
            v = by_uid[str(event["uid"])]
            assert str(event["summary"]) == unescaped(v.summary)
            # The wall time in the task's zone (a repeated hour reads as its first instance).
            local = v.starts_at.tz_convert(v.task_zone or "UTC")
            assert event.decoded("dtstart").replace(tzinfo=None) == local.replace(tzinfo=None)
            assert event.decoded("duration") == timedelta(minutes=v.minutes)
            assert int(event["sequence"]) == v.sequence
            if isinstance(v.description, str):
                assert str(event["description"]) == unescaped(v.description)
            if v.attendee_email:
                assert str(event["attendee"]) == f"mailto:{v.attendee_email}"
                if not (isinstance(v.attendee_name, str) and v.attendee_name):
                    # A missing name shows the address, never "nan".
                    assert event["attendee"].params["cn"] == v.attendee_email
            assert bool(event.walk("VALARM")) == (alarm is not None and v.status == "open")


@st.composite
def versions(draw):
    # Any character text can hold: lone surrogates cannot be stored (UTF-8), so none.
    text = st.text(alphabet=st.one_of(st.sampled_from(AWKWARD), st.characters(
        blacklist_categories=["Cs"])), max_size=160)
    plain = st.text(alphabet=st.characters(blacklist_categories=["Cs"],
                                           blacklist_characters="\r\n"),
                    min_size=1, max_size=40)
    rows = []
    for n in range(draw(st.integers(1, 4))):
        rows.append(version(
            f"{draw(plain)}{n}", owner=draw(st.sampled_from(["csm-1", "csm-2"])),
            start=draw(st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31))),
            zone=draw(st.sampled_from(ZONES)), minutes=draw(st.integers(0, 3000)),
            sequence=draw(st.integers(0, 10**6)),
            status=draw(st.sampled_from(["open", "cancelled"])),
            summary=draw(text), description=draw(st.none() | text),
            organizer_name=draw(st.none() | text), organizer_email=draw(st.none() | plain),
            attendee_name=draw(st.none() | text), attendee_email=draw(st.none() | plain),
            url=draw(st.none() | plain),
            changed_at=draw(st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31),
                                         timezones=st.just(UTC)))))
    return frame(rows)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(versions())
def test_any_text_is_written_as_icalendar_writes_it(policy, versions):
    assert_as_icalendar_writes(versions, policy.csm_tasks)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.one_of(
    st.sampled_from(AWKWARD.replace("\n", "")),
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\n")), max_size=400))
def test_lines_fold_where_icalendar_folds_them(line):
    assert fold(line) == _foldline(line)


def test_a_line_break_in_an_address_is_refused(policy):
    rows = frame([version("k1", url="https://crm.example/a\nATTENDEE:mailto:x@y")])
    with pytest.raises(ValueError, match="task k1: a line break"):
        dict(feeds(rows, policy.csm_tasks))
