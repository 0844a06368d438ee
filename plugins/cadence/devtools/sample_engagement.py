"""Sample engagement for touches the calendar actually sent: read the outbox files the
``outbox`` provider wrote and answer each sent message with provider events, as SendGrid
(email) and Intercom (in-app) would report them, so the loop from plan to engagement
closes in the demo.

Each contact has a stable persona drawn from a hash of the seed and its id:
- an open propensity; about ``fading_share`` of contacts never open (they become the
  fatigue flags of the engagement run);
- a habit slot (local weekday and hour inside business hours) in which they read mail:
  most opens land in that hour, and a message sent in that hour is opened more often, so
  a learned send slot has something real to find.
- promotional mail is opened less than the rest (``MESSAGE_TYPE_OPEN``), as it is in
  practice, so the learned promotional/educational mix has a real difference to follow.
Experiment arms may carry a planted effect (``open_lift``: arm -> relative lift of the
open probability), which the experiment analysis should detect.

The result is the ``engagement_events`` source entity (DESIGN §4), written to
``CADENCE_SOURCE_DIR/engagement_events.csv``: the nightly run stages it and the hourly run
ingests it like any provider's events.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cadence.contract.entities import ENTITIES

HABIT_HOURS = tuple(range(9, 17))  # local hours people read work mail in
HABIT_WEEKDAYS = tuple(range(5))  # Monday..Friday
# Relative open probability per message type (others 1): offers are opened less than
# newsletters, tips and CSM mail.
MESSAGE_TYPE_OPEN = {"promotional": 0.6}


def read_outbox(out_dir: Path) -> pd.DataFrame:
    """Every message the outbox provider wrote: touch_id, contact_id, channel, template_id,
    message_type, send_at (UTC), batch_id. Dry-run files are not sent and are skipped."""
    rows = []
    root = Path(out_dir) / "outbox"
    for path in sorted(root.glob("*/*.jsonl")) if root.is_dir() else []:
        for line in path.read_text().splitlines():
            if line.strip():
                item = json.loads(line)
                rows.append({k: item.get(k) for k in ("touch_id", "contact_id", "channel",
                                                      "template_id", "message_type",
                                                      "send_at", "batch_id")})
    frame = pd.DataFrame(rows, columns=["touch_id", "contact_id", "channel", "template_id",
                                        "message_type", "send_at", "batch_id"])
    frame["send_at"] = pd.to_datetime(frame["send_at"].astype("float64"), unit="s", utc=True)
    return frame.drop_duplicates("touch_id").reset_index(drop=True)


def _unit(seed: int, *parts: str) -> float:
    # A stable uniform draw in [0, 1) from the seed and names (same on every machine).
    digest = hashlib.blake2b("|".join((str(seed), *parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def contact_persona(seed: int, contact_id: str, fading_share: float = 0.1) -> dict:
    """A contact's open propensity and habit slot (weekday 0=Monday, local hour)."""
    fading = _unit(seed, contact_id, "fading") < fading_share
    return {
        "open_probability": 0.0 if fading else 0.25 + 0.45 * _unit(seed, contact_id, "open"),
        "habit_weekday": HABIT_WEEKDAYS[int(_unit(seed, contact_id, "day") * 5)],
        "habit_hour": HABIT_HOURS[int(_unit(seed, contact_id, "hour") * len(HABIT_HOURS))],
    }


def engagement_for_sent(sent: pd.DataFrame, timezones: Mapping[str, str], seed: int,
                        until: datetime, fading_share: float = 0.1,
                        open_lift: Mapping[str, float] | None = None,
                        arms: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Provider events for ``sent`` messages (columns of :func:`read_outbox`), none at or
    after ``until``: delivered (or a bounce), opens, clicks and a few unsubscribes.

    ``timezones`` maps contact_id to its IANA zone (habit slots are local); ``arms`` maps
    touch_id to its experiment arm and ``open_lift`` an arm to a relative open lift.
    """
    rng = np.random.default_rng(seed)
    open_lift, arms = dict(open_lift or {}), dict(arms or {})
    rows = []
    for touch in sent.sort_values("touch_id").itertuples(index=False):
        persona = contact_persona(seed, touch.contact_id, fading_share)
        zone = ZoneInfo(timezones.get(touch.contact_id) or "UTC")
        provider = "sendgrid" if touch.channel == "email" else "intercom"
        message_id = f"{touch.batch_id}/{touch.touch_id}"
        sent_at = touch.send_at
        draws = rng.random(5)
        if touch.channel == "email" and draws[0] < 0.015:
            rows.append((provider, message_id, touch.touch_id, "bounce",
                         sent_at + pd.Timedelta(seconds=90)))
            continue
        rows.append((provider, message_id, touch.touch_id, "delivered",
                     sent_at + pd.Timedelta(seconds=60)))
        local = sent_at.tz_convert(zone)
        in_habit = (local.weekday() == persona["habit_weekday"]
                    and local.hour == persona["habit_hour"])
        p_open = persona["open_probability"] * (1.5 if in_habit else 1.0)
        p_open *= MESSAGE_TYPE_OPEN.get(touch.message_type, 1.0)
        p_open *= 1.0 + open_lift.get(arms.get(touch.touch_id, ""), 0.0)
        if draws[1] >= min(p_open, 0.95):
            continue
        opened = _open_time(local, persona, draws[2], rng).tz_convert("UTC")
        rows.append((provider, message_id, touch.touch_id, "open", opened))
        if draws[3] < 0.3:
            rows.append((provider, message_id, touch.touch_id, "click",
                         opened + pd.Timedelta(minutes=int(rng.integers(1, 30)))))
        if touch.channel == "email" and draws[4] < 0.01:
            rows.append((provider, message_id, touch.touch_id, "unsubscribe",
                         opened + pd.Timedelta(minutes=45)))
    events = pd.DataFrame(rows, columns=["provider", "provider_message_id", "touch_id",
                                         "event", "occurred_at"])
    return events[events["occurred_at"] < pd.Timestamp(until)].reset_index(drop=True)


def _open_time(local: pd.Timestamp, persona: dict, draw: float,
               rng: np.random.Generator) -> pd.Timestamp:
    # Most opens land in the contact's habit hour at its next occurrence after the send;
    # the others within a few hours of the send.
    if draw < 0.75:
        days = (persona["habit_weekday"] - local.weekday()) % 7
        slot = local.normalize() + pd.Timedelta(days=days, hours=persona["habit_hour"])
        if slot <= local:
            slot += pd.Timedelta(days=7)
        return slot + pd.Timedelta(minutes=int(rng.integers(0, 60)))
    return local + pd.Timedelta(minutes=int(rng.integers(5, 240)))


def write_engagement_from_outbox(out_dir: Path, source_dir: Path, seed: int, until: datetime,
                                 open_lift: Mapping[str, float] | None = None,
                                 arms: Mapping[str, str] | None = None) -> int:
    """Answer every message in ``out_dir``'s outbox with events and write them as the
    ``engagement_events`` source file of ``source_dir`` (replacing it); events written."""
    sent = read_outbox(out_dir)
    contacts = pd.read_csv(Path(source_dir) / "contacts.csv", dtype=str,
                           keep_default_na=False)
    accounts = pd.read_csv(Path(source_dir) / "accounts.csv", dtype=str,
                           keep_default_na=False)
    account_zone = dict(zip(accounts["account_id"], accounts["timezone"], strict=False))
    zones = {}
    for contact in contacts.drop_duplicates("contact_id").itertuples(index=False):
        zone = contact.timezone or account_zone.get(contact.account_id) or "UTC"
        try:
            ZoneInfo(zone)
        except (KeyError, ValueError):
            zone = "UTC"  # a dirty row's unknown zone; validation quarantines that contact
        zones[contact.contact_id] = zone
    events = engagement_for_sent(sent, zones, seed, until, open_lift=open_lift, arms=arms)
    columns = ENTITIES["engagement_events"].column_names
    frame = events.assign(occurred_at=events["occurred_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    frame[columns].to_csv(Path(source_dir) / "engagement_events.csv", index=False,
                          lineterminator="\n")
    return len(frame)
