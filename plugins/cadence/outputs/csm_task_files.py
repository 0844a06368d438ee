"""The files a CSM opens (DESIGN §9.6): one live iCalendar feed per owner,
``csm_tasks/<owner>.ics``, and a CSV per owner and week, ``csm_tasks/<owner>/<YYYY-Www>.csv``.

The feed is live: ``csm_task_versions`` (grain owner × task_id) remembers every event it
has published, so a task keeps its UID (``<task_id>@<policy domain>``) across plans, its
SEQUENCE rises whenever what the event says changes, and a task that disappears from the
plan before its day is published as STATUS:CANCELLED instead of silently vanishing. A plan
older than the newest one published (a backfill) leaves the files alone. The events are
written column-wise, byte for byte as icalendar's ``Event`` would write them (the tests hold
icalendar as the reference); icalendar writes each feed's header and VTIMEZONEs.

Files are safe: owner ids are checked against the policy pattern before they name a file,
every path is resolved inside ``CADENCE_OUT_DIR``, and CSV cells that a spreadsheet would
run as a formula are neutralised (OWASP: a leading ``'``), a plain phone number excepted.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import re
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from icalendar import Calendar, Timezone, vDDDTypes, vDuration

from cadence.contract.schema import table_columns
from cadence.outputs.csm_tasks import is_safe_id, wall_clock

if TYPE_CHECKING:
    from cadence.contract.warehouse import Warehouse
    from cadence.outputs.csm_task_policy import CsmTasksPolicy

VERSIONS = "csm_task_versions"
VERSION_COLUMNS = table_columns(VERSIONS)
EVENT_FIELDS = ("starts_at", "minutes", "task_zone", "summary", "description",
                "organizer_name", "organizer_email", "attendee_name", "attendee_email", "url")
CSV_COLUMNS = ["due_date", "starts_at", "ends_at", "task_zone", "task_type", "priority",
               "account_name", "contact_name", "contact_role", "contact_email",
               "contact_phone", "talking_points", "placement_note", "health_score",
               "health_band", "weakest_components", "score_delta_14d", "renewal_date",
               "days_to_renewal", "renewal_status", "arr", "open_tickets",
               "top_ticket_priority", "last_nps", "last_nps_comment", "last_touches",
               "escalation_reason", "crm_url", "account_id", "contact_id", "task_id"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A plain phone number is written as it is, not quoted: "+", a country code, then groups of
# digits split by single spaces, or an area code in brackets ("+61 2 9374 4000",
# "+1 (555) 123 4567", "+44 (0)20 7946 0958"). Digits side by side are no formula a
# spreadsheet computes. A hyphen, slash, dot, "*" or second "+" between digits is arithmetic
# Excel would compute (+1-2, +1/2, +1.5*3) and a letter may start a function: those cells
# keep their quote. A bare run of digits (+61293744000) is quoted too: Excel would turn it
# into a number, dropping the "+" (and showing 12 digits or more as 6.1E+11). ASCII digits
# and the space only, so Python's re and pandas' pyarrow (RE2) match the same cells; the
# outer group keeps the alternatives whole when pandas anchors the pattern.
PHONE_NUMBER = (r"(?:\+[0-9]{1,3}(?: [0-9]{1,8}){1,6}"
                r"|\+[0-9]{1,3} ?\([0-9]{1,4}\)[0-9]{0,8}(?: [0-9]{1,8}){0,5})")
_PHONE = re.compile(PHONE_NUMBER)
WEEK_NAME = re.compile(r"\d{4}-W\d{2}")
SAVING_THREADS = 4  # owners whose files are saved at once (making a file waits on the kernel)
KEEP_PAST_DAYS = 14  # past events stay in the feed this long, then leave it and the table


class UnsafePath(ValueError):
    """An output path would leave the output folder."""


def safe_path(root: Path, *parts: str) -> Path:
    """``root/parts...`` resolved, refusing any path that is not inside ``root``."""
    base = Path(root).resolve()
    path = base.joinpath(*parts).resolve()
    if path != base and base not in path.parents:
        raise UnsafePath(f"{'/'.join(parts)!r} resolves outside the output folder {base}")
    return path


def neutralise(value):
    """A CSV cell a spreadsheet will not run: text starting with ``= + - @``, tab or CR
    gets a leading ``'`` (OWASP CSV injection), unless it is a plain phone number
    (:data:`PHONE_NUMBER`); numbers and other text pass unchanged."""
    if (isinstance(value, str) and value.startswith(FORMULA_STARTS)
            and not _PHONE.fullmatch(value)):
        return "'" + value
    return value


def neutralise_text(values: pd.Series) -> pd.Series:
    """:func:`neutralise` over a text column (a pandas string dtype), vectorised: the same
    cells get the ``'``, missing ones stay missing. Only cells with a risky start are
    matched against the phone pattern."""
    risky = values.str.startswith(FORMULA_STARTS).fillna(False).to_numpy(dtype=bool, copy=True)
    at = np.flatnonzero(risky)
    risky[at] = ~values.iloc[at].str.fullmatch(PHONE_NUMBER).to_numpy(dtype=bool)
    return values.where(~risky, "'" + values)


def event_rows(tasks: pd.DataFrame) -> pd.DataFrame:
    """What each task's calendar event says, keyed by owner and task, with a fingerprint."""
    summary = [f"{str(t).replace('_', ' ').capitalize()}: {c or '?'} ({a or '?'})"
               for t, c, a in zip(tasks["task_type"], tasks["contact_name"],
                                  tasks["account_name"], strict=True)]
    events = pd.DataFrame({
        "owner_id": tasks["csm_id"], "task_id": tasks["task_id"],
        "due_date": tasks["due_date"], "starts_at": tasks["starts_at"],
        "minutes": tasks["minutes"].astype("int64"), "task_zone": tasks["task_zone"],
        "summary": summary, "description": tasks["context"],
        "organizer_name": tasks["owner_name"], "organizer_email": tasks["owner_email"],
        "attendee_name": tasks["contact_name"], "attendee_email": tasks["contact_email"],
        "url": tasks["crm_url"]})
    # Each field as its text ("" when missing), a column at a time.
    texts = [[str(v) for v in values] for values in (
        events[field].astype(object).where(events[field].notna(), "").tolist()
        for field in EVENT_FIELDS)]
    events["fingerprint"] = [hashlib.sha256("\x1f".join(row).encode()).hexdigest()[:32]
                             for row in zip(*texts, strict=True)]
    return events


def next_versions(previous: pd.DataFrame, tasks: pd.DataFrame, as_of: date,
                  changed_at: datetime) -> pd.DataFrame:
    """The published versions after the plan ``as_of``: new tasks at SEQUENCE 0, changed
    ones one higher, tasks gone from the plan before their day cancelled (one higher);
    unchanged ones keep their version. Events long past leave."""
    current = event_rows(tasks).assign(status="open")
    stamp = pd.Timestamp(changed_at)
    if previous.empty:
        out = current.assign(sequence=0, plan_date=as_of, changed_at=stamp)
        return out[list(VERSION_COLUMNS)]
    key = ["owner_id", "task_id"]
    old = current[key].merge(previous[[*key, "fingerprint", "status", "sequence"]],
                             on=key, how="left")
    known = old["sequence"].notna().to_numpy()
    same = known & (old["fingerprint"].to_numpy() == current["fingerprint"].to_numpy()) \
        & (old["status"] == "open").to_numpy()
    # Unchanged tasks keep their published row; new and changed ones are published now.
    kept = current.loc[same, key].merge(previous, on=key, how="left")
    published = current[~same].assign(
        sequence=np.where(known[~same], old["sequence"].to_numpy()[~same] + 1, 0)
        .astype("int64"), plan_date=as_of, changed_at=stamp)
    gone = previous[~previous.set_index(key).index.isin(current.set_index(key).index)].copy()
    due = pd.to_datetime(gone["due_date"]).dt.date
    cancel = ((gone["status"] == "open") & (due >= as_of)).to_numpy()
    gone.loc[cancel, "status"] = "cancelled"
    gone.loc[cancel, "sequence"] = gone.loc[cancel, "sequence"].astype("int64") + 1
    gone.loc[cancel, "plan_date"] = as_of
    gone.loc[cancel, "changed_at"] = stamp
    gone = gone[(due >= as_of - timedelta(days=KEEP_PAST_DAYS)).to_numpy()]
    out = pd.concat([frame.reindex(columns=list(VERSION_COLUMNS))
                     for frame in (kept, published, gone)], ignore_index=True)
    out["sequence"] = out["sequence"].astype("int64")
    out["minutes"] = out["minutes"].astype("int64")
    out["starts_at"] = pd.to_datetime(out["starts_at"], utc=True)
    out["changed_at"] = pd.to_datetime(out["changed_at"], utc=True)
    out["due_date"] = pd.to_datetime(out["due_date"]).dt.date
    out["plan_date"] = pd.to_datetime(out["plan_date"]).dt.date
    return out.sort_values(["owner_id", "starts_at", "task_id"], kind="stable").reset_index(
        drop=True)


# Events are written here column by column, to the bytes icalendar's Event.to_ical writes:
# building and serialising icalendar objects (folding each line char by char) cost ~9 CPU s
# at 20,000 accounts and ~49 s at 100,000, ~20 times what this writer takes. icalendar still
# writes what is few and cheap (each feed's header lines, the VTIMEZONEs, a DURATION per
# length, the DTSTART form per zone) and stays the reference the tests compare these bytes with.
EventRow = namedtuple("EventRow", ["task_id", "sequence", "status", "minutes", "summary",
                                   "description", "organizer_name", "organizer_email",
                                   "attendee_name", "attendee_email", "url"])
CALENDAR_END = "END:VCALENDAR\r\n"
FOLD_OCTETS = 74  # RFC 5545 lines are at most 75 octets; icalendar folds before the 75th
TEXT_ESCAPES = (("\\N", "\n"), ("\\", "\\\\"), (";", "\\;"), (",", "\\,"), ("\r\n", "\\n"),
                ("\n", "\\n"), ("\r", "\\n"))  # icalendar's _escape_char, in its order
PARAM_ESCAPES = (("^", "^^"), ("\r\n", "^n"), ("\r", "^n"), ("\n", "^n"), ('"', "^'"))
QUOTED_CN = re.compile("[ ',;:\u2019]")  # a CN with one of these is quoted (Parameters)
QUOTED_PARAM = re.compile("[,;:\u2019]")  # any other parameter value with one of these


def _text(value) -> str:
    """A TEXT value as icalendar writes it (RFC 5545 §3.3.11; a written ``\\N`` reads as a
    newline, CR LF and a lone CR as ``\\n``)."""
    text = value if isinstance(value, str) else str(value)
    for old, new in TEXT_ESCAPES:
        text = text.replace(old, new)
    return text


def _param(value: str, quote: re.Pattern) -> str:
    """A parameter value as icalendar writes it: RFC 6868 escapes, double quotes when the
    value holds a character of ``quote``."""
    text = value
    for old, new in PARAM_ESCAPES:
        text = text.replace(old, new)
    return f'"{text}"' if quote.search(value) else text


def _raw(value: str, task_id) -> str:
    """A URI or address, written as it is; a line break in it would end the content line."""
    if "\n" in value:
        raise ValueError(f"task {task_id}: a line break in an address or URL of its event")
    return value


def fold(line: str) -> str:
    """A content line folded as icalendar's ``_foldline`` does: CRLF and a space before the
    character that would make a line 75 octets, never inside a UTF-8 character, and one
    character earlier when the line would end in ``\\`` or ``^`` (an escape stays whole)."""
    if len(line) <= FOLD_OCTETS and (line.isascii() or len(line.encode()) <= FOLD_OCTETS):
        return line
    data = line.encode()
    parts, start = [], 0
    while len(data) - start > FOLD_OCTETS:
        end = start + FOLD_OCTETS
        while data[end] & 0xC0 == 0x80:  # a UTF-8 continuation byte: its character moves on
            end -= 1
        if data[end - 1] in b"\\^" and end - start > 1:
            end -= 1
        parts.append(data[start:end])
        start = end
    parts.append(data[start:])
    return b"\r\n ".join(parts).decode()


@functools.cache
def _duration(minutes: int) -> str:
    return vDuration(timedelta(minutes=minutes)).to_ical().decode()


@functools.cache
def _start_form(zone: str) -> tuple[str | None, str, str]:
    """``(tzid, ";TZID=..." or "", "Z" or "")``: how icalendar writes a DTSTART in ``zone``
    (UTC, and the zones it holds equal to UTC, in the ``Z`` form with no VTIMEZONE)."""
    start = vDDDTypes(pd.Timestamp(0, tz="UTC").tz_convert(zone).to_pydatetime())
    tzid = start.params.get("TZID")
    param = "" if tzid is None else ";TZID=" + _param(tzid, QUOTED_PARAM)
    return tzid, param, "Z" if start.to_ical().endswith(b"Z") else ""


def _address(name: str, email, display, task_id, role: str = "") -> str:
    """An ORGANIZER or ATTENDEE line (CN the name, else the address), or none."""
    if not (isinstance(email, str) and email):
        return ""
    # A missing name (None, NaN or empty) shows the address, never "nan".
    cn = _param(display if isinstance(display, str) and display else email, QUOTED_CN)
    return fold(f"{name};CN={cn}{role}:mailto:{_raw(email, task_id)}") + "\r\n"


def event_text(versions: pd.DataFrame, rules: CsmTasksPolicy) -> list[str]:
    """Each version's VEVENT, ``BEGIN:VEVENT`` to ``END:VEVENT`` with CRLFs, byte for byte
    what icalendar writes for it: properties in icalendar's order (SUMMARY, DTSTART,
    DURATION, DTSTAMP, UID, SEQUENCE, then by name), TEXT escaped, lines folded, and a VALARM
    on open events when the policy asks for one."""
    zones = pd.Series([z or "UTC" for z in versions["task_zone"]], dtype=object)
    starts = pd.to_datetime(versions["starts_at"]).reset_index(drop=True)
    local = wall_clock(starts, zones).dt.strftime("%Y%m%dT%H%M%S")
    stamps = pd.to_datetime(versions["changed_at"])
    stamps = (stamps.dt.tz_localize("UTC") if stamps.dt.tz is None  # naive reads as UTC
              else stamps.dt.tz_convert("UTC")).dt.strftime("%Y%m%dT%H%M%SZ")
    alarm_minutes = rules.feed.alarm_minutes_before
    trigger = (None if alarm_minutes is None
               else vDuration(timedelta(minutes=-alarm_minutes)).to_ical().decode())
    # Rows from column lists: itertuples reads Arrow-backed text a value at a time.
    rows = map(EventRow._make,
               zip(*(versions[c].tolist() for c in EventRow._fields), strict=True))
    events = []
    for v, zone, start, stamp in zip(rows, zones.tolist(), local.tolist(), stamps.tolist(),
                                     strict=True):
        summary = _text(v.summary)
        _, param, utc = _start_form(zone)
        lines = ["BEGIN:VEVENT\r\n", fold("SUMMARY:" + summary), "\r\n",
                 fold(f"DTSTART{param}:{start}{utc}"), "\r\n",
                 "DURATION:", _duration(int(v.minutes)), "\r\n",
                 "DTSTAMP:", stamp, "\r\n",
                 fold(f"UID:{_text(f'{v.task_id}@{rules.feed.uid_domain}')}"), "\r\n",
                 "SEQUENCE:", str(int(v.sequence)), "\r\n",
                 _address("ATTENDEE", v.attendee_email, v.attendee_name, v.task_id,
                          ";ROLE=REQ-PARTICIPANT")]
        if isinstance(v.description, str):
            lines += [fold("DESCRIPTION:" + _text(v.description)), "\r\n"]
        lines += ["LAST-MODIFIED:", stamp, "\r\n",
                  _address("ORGANIZER", v.organizer_email, v.organizer_name, v.task_id),
                  "STATUS:CANCELLED\r\n" if v.status == "cancelled" else "STATUS:CONFIRMED\r\n"]
        if isinstance(v.url, str) and v.url:
            lines += [fold("URL:" + _raw(v.url, v.task_id)), "\r\n"]
        if trigger is not None and v.status == "open":
            lines += ["BEGIN:VALARM\r\nACTION:DISPLAY\r\n", fold("DESCRIPTION:" + summary),
                      "\r\nTRIGGER:", trigger, "\r\nEND:VALARM\r\n"]
        lines.append("END:VEVENT\r\n")
        events.append("".join(lines))
    return events


def feeds(versions: pd.DataFrame, rules: CsmTasksPolicy):
    """``(owner, bytes)`` for every owner in name order: the RFC 5545 feed of every published
    version, cancelled ones as STATUS:CANCELLED, each with a stable UID and its SEQUENCE."""
    events = event_text(versions, rules)
    tzids = [_start_form(z or "UTC")[0] for z in versions["task_zone"]]
    before, after = _feed_head()
    for owner, rows in sorted(versions.groupby("owner_id").indices.items()):
        head = f"{before}{fold('X-WR-CALNAME:' + _text(f'cadence tasks {owner}'))}\r\n{after}"
        # The VTIMEZONEs of the zones named in a TZID, in name order (icalendar's
        # add_missing_timezones adds them in set order, which differs between processes).
        zones = "".join(_vtimezone(tzid) for tzid in sorted({tzids[i] for i in rows} - {None}))
        body = "".join(events[i] for i in rows)
        yield owner, (head + zones + body + CALENDAR_END).encode()


@functools.cache
def _feed_head() -> tuple[str, str]:
    # The feed's header lines as icalendar writes them, around the one line that names the
    # owner (X-WR-CALNAME): built once, not once per owner.
    calendar = Calendar()
    calendar.add("prodid", "-//cadence//csm tasks//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "cadence tasks")
    calendar.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    before, after = calendar.to_ical().decode().removesuffix(CALENDAR_END).split(
        "X-WR-CALNAME:cadence tasks\r\n")
    return before, after


@functools.cache
def _vtimezone(tzid: str) -> str:
    # Each zone's VTIMEZONE is written once per run; unknown zones get none, as
    # add_missing_timezones leaves them out.
    try:
        return Timezone.from_tzid(tzid).to_ical().decode()
    except ValueError:
        return ""


def week_csv(tasks: pd.DataFrame) -> pd.DataFrame:
    """Tasks as the rows of the weekly CSVs (same index): local start and end,
    neutralised."""
    listing = tasks.copy()
    local = wall_clock(listing["starts_at"], listing["task_zone"])
    listing["starts_at"] = local.dt.strftime("%Y-%m-%d %H:%M")
    listing["ends_at"] = (local + pd.to_timedelta(listing["minutes"].astype("int64"), unit="min")
                          ).dt.strftime("%H:%M")
    listing["talking_points"] = listing["talking_points"].str.replace("\n", " | ")
    listing = listing[CSV_COLUMNS]
    for column in listing.select_dtypes(include=["object", "string"]).columns:
        values = listing[column]
        if isinstance(values.dtype, pd.StringDtype):  # text only: vectorised
            listing[column] = neutralise_text(values)
        else:
            listing[column] = [neutralise(v) for v in values.tolist()]
    return listing


def csv_rows(text: str) -> list[str]:
    """Each row of CSV ``text`` (written with ``"\n"`` line ends and ``"`` quotes, doubled
    inside a field) with its line end: a line ends a row when the row so far holds an even
    number of quotes, a line break inside a quoted field does not."""
    rows, pending, quotes = [], [], 0
    for line in text.split("\n")[:-1]:
        pending.append(line)
        quotes += line.count('"')
        if quotes % 2 == 0:
            rows.append("\n".join(pending) + "\n")
            pending, quotes = [], 0
    return rows


def week_name(day: date) -> str:
    """``2026-W49``: the ISO week a due date falls in."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def feed_versions(warehouse: Warehouse, tasks: pd.DataFrame, rules: CsmTasksPolicy,
                  as_of: date, changed_at: datetime) -> pd.DataFrame | None:
    """The versions the plan ``as_of`` publishes (:func:`next_versions` of the stored ones),
    or None when a later plan owns the feeds (a backfill writes no file)."""
    previous = warehouse.read_columns(f"select * from {VERSIONS}")
    if len(previous) and pd.to_datetime(previous["plan_date"]).max().date() > as_of:
        return None
    unsafe = tasks[~tasks["csm_id"].map(lambda v: is_safe_id(v, rules.id_pattern))]
    if len(unsafe):  # owners come from validated ids or policy queues: a bug, not data
        raise UnsafePath(f"task {unsafe['task_id'].iloc[0]}: owner id"
                         f" {unsafe['csm_id'].iloc[0]!r} does not match csm_tasks.id_pattern")
    return next_versions(previous, tasks, as_of, changed_at)


LATER_PLAN_OWNS = {"feeds": 0, "csv_files": 0, "feed_note": "a later plan owns the feeds"}


def write_task_files(warehouse: Warehouse, tasks: pd.DataFrame, rules: CsmTasksPolicy,
                     out_dir, as_of: date, changed_at: datetime) -> dict:
    """Publish the plan's tasks: versions updated, each owner's feed and the weekly CSVs
    from the plan week on rewritten. A plan older than the last published one writes
    nothing (it is a backfill). Returns counts."""
    versions = feed_versions(warehouse, tasks, rules, as_of, changed_at)
    if versions is None:
        return dict(LATER_PLAN_OWNS)
    warehouse.write_frame(VERSIONS, versions, replace_all=True)
    return write_feed_files(versions, tasks, rules, out_dir, as_of)


def write_feed_files(versions: pd.DataFrame, tasks: pd.DataFrame, rules: CsmTasksPolicy,
                     out_dir, as_of: date) -> dict:
    """Each owner's feed of ``versions`` and the weekly CSVs of ``tasks`` from the plan
    week on, under ``out_dir/csm_tasks`` (earlier weeks kept; every path checked inside the
    folder). Returns counts."""
    current = tasks.assign(week=[week_name(d) for d in tasks["due_date"]])
    # Every row formatted by pandas in one pass and cut into rows, each file the header and
    # its rows' text: a DataFrame.to_csv per file cost more in fixed overhead than its rows.
    listing = week_csv(current)
    lines = csv_rows(listing.to_csv(index=False, header=False, lineterminator="\n"))
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(listing.columns)
    # Each owner's CSV per week (its rows in task order), grouped once for every owner.
    weeks: dict[str, dict[str, str]] = {}
    for (owner, week), at in current.groupby(["csm_id", "week"], sort=True).indices.items():
        weeks.setdefault(owner, {})[week] = header.getvalue() + "".join(
            [lines[k] for k in at.tolist()])
    root = safe_path(Path(out_dir), "csm_tasks")
    root.mkdir(parents=True, exist_ok=True)
    plan_week = week_name(as_of)
    # Owners' files on a few threads: creating a file is a kernel call that lets go of the
    # GIL, and one owner's folder is no other's (19,000 files at 100k accounts).
    with ThreadPoolExecutor(max_workers=SAVING_THREADS,
                            thread_name_prefix="csm_task_files") as pool:
        saved = list(pool.map(
            lambda feed: _save_owner(root, *feed, weeks.get(feed[0], {}), plan_week),
            feeds(versions, rules)))
    cancelled = versions[(versions["status"] == "cancelled")
                         & (versions["plan_date"] == as_of)]
    return {"feeds": len(saved), "csv_files": sum(saved), "cancelled_events": len(cancelled),
            "feed_dir": str(root)}


def _save_owner(root: Path, owner: str, feed: bytes, weeks: dict[str, str], plan_week: str
                ) -> int:
    # An owner's feed and weekly CSVs; stale CSVs of this week on go, others are overwritten
    # in place (rewriting a file costs a fraction of making one). Returns the CSVs written.
    safe_path(root, f"{owner}.ics").write_bytes(feed)
    folder = safe_path(root, owner)  # checked once: its files are week names
    folder.mkdir(exist_ok=True)
    for stale in folder.glob("*.csv"):
        if stale.stem >= plan_week and stale.stem not in weeks:
            stale.unlink()
    for week, text in weeks.items():
        if not WEEK_NAME.fullmatch(week):  # names a file in the checked folder
            raise UnsafePath(f"week {week!r} of owner {owner!r} is no week name")
        (folder / f"{week}.csv").write_text(text, encoding="utf-8", newline="")
    return len(weeks)
