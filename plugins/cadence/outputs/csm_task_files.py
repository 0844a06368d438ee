"""The files a CSM opens (DESIGN §9.6): one live iCalendar feed per owner,
``csm_tasks/<owner>.ics``, and a CSV per owner and week, ``csm_tasks/<owner>/<YYYY-Www>.csv``.

The feed is live: ``csm_task_versions`` (grain owner × task_id) remembers every event it
has published, so a task keeps its UID (``<task_id>@<policy domain>``) across plans, its
SEQUENCE rises whenever what the event says changes, and a task that disappears from the
plan before its day is published as STATUS:CANCELLED instead of silently vanishing. A plan
older than the newest one published (a backfill) leaves the files alone.

Files are safe: owner ids are checked against the policy pattern before they name a file,
every path is resolved inside ``CADENCE_OUT_DIR``, and CSV cells that a spreadsheet would
run as a formula are neutralised (OWASP: a leading ``'``).
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from icalendar import Alarm, Calendar, Event, Timezone, vCalAddress, vText

from cadence.contract.schema import table_columns
from cadence.outputs.csm_tasks import is_safe_id

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
    gets a leading ``'`` (OWASP CSV injection); numbers and other text pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


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
    events["fingerprint"] = [
        hashlib.sha256("\x1f".join("" if pd.isna(v) else str(v) for v in row).encode())
        .hexdigest()[:32] for row in events[list(EVENT_FIELDS)].itertuples(index=False)]
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
    prev = previous.set_index(["owner_id", "task_id"])
    cur = current.set_index(["owner_id", "task_id"])
    rows = []
    for key, new in cur.iterrows():
        if key in prev.index:
            old = prev.loc[key]
            if old["fingerprint"] == new["fingerprint"] and old["status"] == "open":
                rows.append({**old.to_dict(), "owner_id": key[0], "task_id": key[1]})
                continue
            sequence = int(old["sequence"]) + 1
        else:
            sequence = 0
        rows.append({**new.to_dict(), "owner_id": key[0], "task_id": key[1],
                     "sequence": sequence, "plan_date": as_of, "changed_at": stamp})
    for key, old in prev[~prev.index.isin(cur.index)].iterrows():
        row = {**old.to_dict(), "owner_id": key[0], "task_id": key[1]}
        due = pd.Timestamp(old["due_date"]).date()
        if old["status"] == "open" and due >= as_of:
            row.update(status="cancelled", sequence=int(old["sequence"]) + 1, plan_date=as_of,
                       changed_at=stamp)
        if due >= as_of - timedelta(days=KEEP_PAST_DAYS):
            rows.append(row)
    out = pd.DataFrame(rows, columns=list(VERSION_COLUMNS))
    out["starts_at"] = pd.to_datetime(out["starts_at"], utc=True)
    out["changed_at"] = pd.to_datetime(out["changed_at"], utc=True)
    out["due_date"] = pd.to_datetime(out["due_date"]).dt.date
    out["plan_date"] = pd.to_datetime(out["plan_date"]).dt.date
    return out.sort_values(["owner_id", "starts_at", "task_id"], kind="stable").reset_index(
        drop=True)


def feed(versions: pd.DataFrame, owner: str, rules: CsmTasksPolicy) -> Calendar:
    """The RFC 5545 feed of one owner: every published version, cancelled ones as
    STATUS:CANCELLED, each with a stable UID and its SEQUENCE."""
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
            organizer.params["cn"] = vText(v.organizer_name or v.organizer_email)
            event.add("organizer", organizer)
        if isinstance(v.attendee_email, str) and v.attendee_email:
            attendee = vCalAddress(f"mailto:{v.attendee_email}")
            attendee.params["cn"] = vText(v.attendee_name or v.attendee_email)
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
    # The zones' VTIMEZONEs in name order (icalendar's add_missing_timezones adds them in
    # set order, which differs from process to process), each built once per run.
    for position, tzid in enumerate(sorted(calendar.get_missing_tzids())):
        timezone = _vtimezone(tzid)
        if timezone is not None:
            calendar.subcomponents.insert(position, timezone)
    return calendar


@functools.cache
def _vtimezone(tzid: str) -> Timezone | None:
    # Unknown zones get none, as add_missing_timezones leaves them out.
    try:
        return Timezone.from_tzid(tzid)
    except ValueError:
        return None


def week_csv(tasks: pd.DataFrame) -> pd.DataFrame:
    """Tasks as the rows of the weekly CSVs (same index): local start and end,
    neutralised."""
    listing = tasks.copy()
    local = [pd.Timestamp(t).tz_convert(z) for t, z in zip(listing["starts_at"],
                                                           listing["task_zone"], strict=True)]
    listing["starts_at"] = [t.strftime("%Y-%m-%d %H:%M") for t in local]
    listing["ends_at"] = [(t + pd.Timedelta(minutes=int(m))).strftime("%H:%M")
                          for t, m in zip(local, listing["minutes"], strict=True)]
    listing["talking_points"] = listing["talking_points"].str.replace("\n", " | ")
    listing = listing[CSV_COLUMNS]
    text = listing.select_dtypes(include=["object", "string"]).columns
    listing[text] = listing[text].map(neutralise)
    return listing


def week_name(day: date) -> str:
    """``2026-W49``: the ISO week a due date falls in."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def write_task_files(warehouse: Warehouse, tasks: pd.DataFrame, rules: CsmTasksPolicy,
                     out_dir, as_of: date, changed_at: datetime) -> dict:
    """Publish the plan's tasks: versions updated, each owner's feed and the weekly CSVs
    from the plan week on rewritten. A plan older than the last published one writes
    nothing (it is a backfill). Returns counts."""
    previous = warehouse.read_columns(f"select * from {VERSIONS}")
    if len(previous) and pd.to_datetime(previous["plan_date"]).max().date() > as_of:
        return {"feeds": 0, "csv_files": 0, "feed_note": "a later plan owns the feeds"}
    unsafe = tasks[~tasks["csm_id"].map(lambda v: is_safe_id(v, rules.id_pattern))]
    if len(unsafe):  # owners come from validated ids or policy queues: a bug, not data
        raise UnsafePath(f"task {unsafe['task_id'].iloc[0]}: owner id"
                         f" {unsafe['csm_id'].iloc[0]!r} does not match csm_tasks.id_pattern")
    versions = next_versions(previous, tasks, as_of, changed_at)
    warehouse.write_frame(VERSIONS, versions, replace_all=True)
    root = safe_path(Path(out_dir), "csm_tasks")
    root.mkdir(parents=True, exist_ok=True)
    feeds = csv_files = 0
    for owner, theirs in versions.groupby("owner_id", sort=True):
        path = safe_path(root, f"{owner}.ics")
        path.write_bytes(feed(theirs, owner, rules).to_ical())
        feeds += 1
    plan_week = week_name(as_of)
    current = tasks.assign(week=[week_name(d) for d in tasks["due_date"]])
    # Every row formatted by pandas in one pass and read back as CSV fields, then written per
    # file with the csv module as pandas writes them: a DataFrame.to_csv per file cost more
    # in fixed overhead than its rows.
    listing = week_csv(current)
    lines = list(csv.reader(io.StringIO(listing.to_csv(index=False, header=False,
                                                       lineterminator="\n"))))
    line_of = pd.Series(range(len(listing)), index=listing.index)
    for owner in sorted(set(versions["owner_id"])):
        folder = safe_path(root, owner)
        folder.mkdir(exist_ok=True)
        for stale in folder.glob("*.csv"):  # this week on is rewritten, earlier weeks kept
            if stale.stem >= plan_week:
                stale.unlink()
        for week, rows in current[current["csm_id"] == owner].groupby("week", sort=True):
            with safe_path(folder, f"{week}.csv").open("w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f, lineterminator="\n")
                writer.writerow(listing.columns)
                writer.writerows(lines[k] for k in line_of[rows.index].tolist())
            csv_files += 1
    cancelled = versions[(versions["status"] == "cancelled")
                         & (versions["plan_date"] == as_of)]
    return {"feeds": feeds, "csv_files": csv_files, "cancelled_events": len(cancelled),
            "feed_dir": str(root)}
