"""Engagement: provider events in, metrics and falling-engagement flags out.

SendGrid event-webhook files (JSON arrays dropped in ``CADENCE_SOURCE_DIR/engagement/``),
Intercom content-stats exports (:mod:`cadence.handoff.intercom_stats`) and
``stg_engagement_events`` land in ``engagement_events``, deduplicated on provider,
provider_message_id, event and occurred_at. Unsubscribes, bounces and spam reports feed
``consent_suppressions`` in the same run. ``engagement_metrics`` (template × team ×
segment × week) and ``engagement_flags`` (contacts whose last N emails got no open) are
recomputed from deliveries and events.
"""

from __future__ import annotations

import json
import logging
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from cadence.connectors.records import Quarantine
from cadence.contract.warehouse import Warehouse
from cadence.handoff import consent, intercom_stats, store

log = logging.getLogger(__name__)

EVENT_COLUMNS = ["provider", "provider_message_id", "touch_id", "event", "occurred_at"]
KEY = ["provider", "provider_message_id", "event", "occurred_at"]
# SendGrid event name -> our event (DESIGN §4 engagement_events)
SENDGRID_EVENTS = {"delivered": "delivered", "open": "open", "click": "click",
                   "bounce": "bounce", "spamreport": "spam_report",
                   "unsubscribe": "unsubscribe", "group_unsubscribe": "unsubscribe"}
# event -> (suppression reason, scope); a group unsubscribe leaves account mail flowing
CONSENT_EVENTS = {"unsubscribe": ("unsubscribe", "all"),
                  "group_unsubscribe": ("unsubscribe", "marketing"),
                  "bounce": ("bounce", "email"), "spamreport": ("spam_report", "email")}


class EngagementError(ValueError):
    """An event file breaks the expected shape; the message names file, row and field."""


def read_sendgrid_events(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """Events of every ``*.json`` file in ``folder``: (events, consent rows of email,
    reason, scope, created_at, and counts of SendGrid event types we do not track, such
    as processed or deferred — reported, not stored)."""
    events, consents, untracked = [], [], {}
    for path in sorted(Path(folder).glob("*.json")) if Path(folder).is_dir() else []:
        try:
            items = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise EngagementError(f"{path.name}: not valid JSON: {exc}") from None
        if not isinstance(items, list):
            raise EngagementError(f"{path.name}: expected a JSON array of events")
        for row, item in enumerate(items):
            for field in ("event", "timestamp", "sg_message_id"):
                if item.get(field) in (None, ""):
                    raise EngagementError(f"{path.name} row {row}: field {field}: missing")
            name = item["event"]
            if name not in SENDGRID_EVENTS:
                untracked[name] = untracked.get(name, 0) + 1
                continue
            try:
                occurred = pd.Timestamp(int(item["timestamp"]), unit="s", tz="UTC")
            except (TypeError, ValueError):
                raise EngagementError(f"{path.name} row {row}: field timestamp: not unix "
                                      "seconds") from None
            events.append({"provider": "sendgrid", "provider_message_id": item["sg_message_id"],
                           "touch_id": item.get("touch_id"), "event": SENDGRID_EVENTS[name],
                           "occurred_at": occurred})
            if name in CONSENT_EVENTS and item.get("email"):
                reason, scope = CONSENT_EVENTS[name]
                consents.append({"email": item["email"], "contact_id": None,
                                 "reason": reason, "scope": scope, "created_at": occurred})
    return (pd.DataFrame(events, columns=EVENT_COLUMNS),
            pd.DataFrame(consents, columns=["email", "contact_id", "reason", "scope",
                                            "created_at"]),
            untracked)


def new_events(incoming: pd.DataFrame, existing: pd.DataFrame) -> pd.DataFrame:
    """The incoming events not already stored (nor repeated among themselves)."""
    incoming = incoming.assign(occurred_at=pd.to_datetime(incoming["occurred_at"], utc=True))
    incoming = incoming.drop_duplicates(KEY)
    if existing.empty:
        return incoming.reset_index(drop=True)
    existing = existing.assign(occurred_at=pd.to_datetime(existing["occurred_at"], utc=True))
    merged = incoming.merge(existing[KEY].drop_duplicates(), on=KEY, how="left",
                            indicator=True)
    return merged[merged["_merge"] == "left_only"].drop(columns="_merge").reset_index(drop=True)


def suppressions_from_events(events: pd.DataFrame, touch_contacts: pd.DataFrame
                             ) -> pd.DataFrame:
    """Unsubscribe, bounce and spam-report events that carry no email (staged events) as
    suppressions of the touch's contact."""
    wanted = events[events["event"].isin(["unsubscribe", "bounce", "spam_report"])]
    rows = wanted.merge(touch_contacts, on="touch_id")
    scope = rows["event"].map({"unsubscribe": "all", "bounce": "email",
                               "spam_report": "email"})
    return pd.DataFrame({"email": None, "contact_id": rows["contact_id"],
                         "reason": rows["event"], "scope": scope,
                         "created_at": rows["occurred_at"]})


def engagement_metrics(sent: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Per template × team × segment × week (Monday): sent, delivered and the open, click,
    unsubscribe (of delivered) and bounce (of sent) rates. A touch counts once per kind of
    event however many events it had."""
    columns = ["week_start", "template_id", "team", "segment", "sent", "delivered",
               "open_rate", "click_rate", "unsubscribe_rate", "bounce_rate"]
    if sent.empty:
        return pd.DataFrame(columns=columns)
    seen = (events.assign(flag=True).drop_duplicates(["touch_id", "event"])
            .pivot_table(index="touch_id", columns="event", values="flag", aggfunc="any"))
    touches = sent.set_index("touch_id")
    for event in ("delivered", "open", "click", "unsubscribe", "bounce"):
        flags = seen[event] if event in seen.columns else pd.Series(dtype=bool)
        touches[event] = flags.reindex(touches.index).fillna(False).astype(bool)
    sent_day = pd.to_datetime(touches["sent_at"], utc=True).dt.tz_localize(None).dt.normalize()
    touches["week_start"] = (sent_day - pd.to_timedelta(sent_day.dt.weekday, unit="D")).dt.date
    grouped = touches.groupby(["week_start", "template_id", "team", "segment"], dropna=False)
    out = grouped.agg(sent=("delivered", "size"), delivered=("delivered", "sum"),
                      opens=("open", "sum"), clicks=("click", "sum"),
                      unsubscribes=("unsubscribe", "sum"), bounces=("bounce", "sum"))
    out = out.reset_index()
    delivered = out["delivered"].where(out["delivered"] > 0)
    out["open_rate"] = out["opens"] / delivered
    out["click_rate"] = out["clicks"] / delivered
    out["unsubscribe_rate"] = out["unsubscribes"] / delivered
    out["bounce_rate"] = out["bounces"] / out["sent"]
    out[["sent", "delivered"]] = out[["sent", "delivered"]].astype("int64")
    return out[columns]


def falling_engagement(sent_email: pd.DataFrame, opens: pd.DataFrame, sends_without_open: int,
                       as_of: date) -> pd.DataFrame:
    """Contacts whose last ``sends_without_open`` sent emails all went unopened: contact_id,
    as_of_date, sends_without_open (since their last open), last_open_at, flag."""
    columns = ["contact_id", "as_of_date", "sends_without_open", "last_open_at", "flag"]
    if sent_email.empty:
        return pd.DataFrame(columns=columns)
    opened = set(opens["touch_id"])
    frame = sent_email.assign(opened=sent_email["touch_id"].isin(opened))
    frame = frame.sort_values(["contact_id", "sent_at", "touch_id"])
    rows = []
    for contact_id, sends in frame.groupby("contact_id", sort=True):
        flags = sends["opened"].to_list()
        last_open = max((i for i, o in enumerate(flags) if o), default=-1)
        streak = len(flags) - 1 - last_open
        if streak >= sends_without_open:
            opened_at = sends.loc[sends["opened"], "sent_at"]
            rows.append({"contact_id": contact_id, "as_of_date": as_of,
                         "sends_without_open": streak,
                         "last_open_at": opened_at.max() if len(opened_at) else pd.NaT,
                         "flag": "lighter_cadence"})
    out = pd.DataFrame(rows, columns=columns)
    out["last_open_at"] = pd.to_datetime(out["last_open_at"], utc=True)
    out["sends_without_open"] = out["sends_without_open"].astype("int64")
    return out


# -- glue --------------------------------------------------------------------------------
def ingest_engagement(warehouse: Warehouse, policy, as_of: date,
                      events_dir: Path | None = None, intercom_dir: Path | None = None,
                      run_id: str | None = None) -> dict:
    """Load new SendGrid event files, Intercom content-stats exports and staged engagement
    events up to the end of ``as_of`` into ``engagement_events`` and their opt-outs into
    ``consent_suppressions``. Intercom rows breaking a rule go to ``quarantine``; the run
    fails, loading nothing, when more of them than the ``engagement_events`` reject-rate
    threshold do."""
    if events_dir is None or intercom_dir is None:
        from cadence.contract.settings import load_settings

        source_dir = load_settings().source_dir
        events_dir = events_dir or source_dir / policy.handoff.engagement.events_folder
        intercom_dir = intercom_dir or (source_dir
                                        / policy.handoff.engagement.intercom_stats_folder)
    until = pd.Timestamp(as_of + timedelta(days=1), tz="UTC")
    intercom, intercom_counts = _read_intercom(warehouse, policy, as_of, intercom_dir,
                                               run_id or f"engagement__{as_of.isoformat()}")
    files, file_consents, untracked = read_sendgrid_events(events_dir)
    staged = store.read_if_present(warehouse, "stg_engagement_events",
                                   "source_engagement_events", EVENT_COLUMNS, until=until)
    files = files.assign(source="sendgrid_events")
    intercom = intercom.assign(source="intercom_stats")
    staged = staged.assign(source="stg_engagement_events")
    incoming = pd.concat([f for f in (files, intercom, staged) if len(f)] or [files],
                         ignore_index=True)
    incoming = incoming[pd.to_datetime(incoming["occurred_at"], utc=True) < until]
    existing = pd.DataFrame(columns=KEY)
    if len(incoming):
        times = pd.to_datetime(incoming["occurred_at"], utc=True)
        existing = store.read(warehouse, "event_keys", since=times.min(), until=times.max())
    fresh = new_events(incoming, existing)
    if len(fresh):
        warehouse.write_frame("engagement_events", fresh)
    touch_contacts = store.read(warehouse, "touch_contacts")
    # SendGrid file events carry the email (taken above); staged and Intercom ones only
    # name the touch.
    staged_consent = suppressions_from_events(
        fresh[fresh["source"].isin(["stg_engagement_events", "intercom_stats"])
              & fresh["touch_id"].notna()],
        touch_contacts)
    file_consents = file_consents[pd.to_datetime(file_consents["created_at"], utc=True) < until]
    consent_rows = pd.concat([
        consent.normalise_suppressions(file_consents, "sendgrid_events", until),
        consent.normalise_suppressions(staged_consent, "engagement_events", until),
    ], ignore_index=True)
    added = consent.add_suppressions(warehouse, consent_rows)
    if untracked:
        log.info("engagement: event types not tracked: %s", untracked)
    log.info("engagement: %d new events, %d new suppressions", len(fresh), added)
    return {"new_events": len(fresh), "new_suppressions": added,
            "untracked_event_types": untracked, "intercom": intercom_counts}


def _read_intercom(warehouse: Warehouse, policy, as_of: date, folder: Path,
                   run_id: str) -> tuple[pd.DataFrame, dict]:
    # The export's events of touches cadence sent; its bad rows replace this day's
    # quarantine partition (every run rereads the folder, so the partition is complete).
    messages = store.read(warehouse, "intercom_messages")
    events, rejected, counts = intercom_stats.read_intercom_exports(folder, messages)
    quarantine = Quarantine(run_id=run_id, as_of=as_of)
    for row in rejected.to_dict("records"):
        rule = row.pop("rule")
        quarantine.add(intercom_stats.ENTITY, row, rule)
    if len(rejected) or warehouse.table_exists("quarantine"):
        frame = pd.DataFrame(quarantine.rows.get(intercom_stats.ENTITY, []),
                             columns=["entity", "row", "rule"])
        warehouse.write_frame("quarantine", frame.assign(run_id=run_id, as_of_date=as_of),
                              replace_where={"as_of_date": as_of,
                                             "entity": intercom_stats.ENTITY})
    if len(rejected):
        first = rejected.iloc[0]
        log.warning("intercom export: %d rows quarantined (first: %s row %s: %s)",
                    len(rejected), first["_file"], first["_row"], first["rule"])
    threshold = policy.quality.threshold("engagement_events")
    if counts["rows"] and len(rejected) / counts["rows"] > threshold:
        raise EngagementError(
            f"{intercom_stats.ENTITY}: {len(rejected)} of {counts['rows']} export rows "
            f"rejected ({len(rejected) / counts['rows']:.1%}), above the threshold "
            f"{threshold:.1%}; nothing loaded, the rows and rules are in quarantine")
    return events, {**counts, "events": len(events), "quarantined": len(rejected)}


def compute_engagement_metrics(warehouse: Warehouse, policy, as_of: date) -> dict:
    """Recompute ``engagement_metrics`` for the policy's recent weeks up to ``as_of``
    (each week's rows replaced) and ``engagement_flags`` for ``as_of``."""
    settings = policy.handoff.engagement
    this_monday = as_of - timedelta(days=as_of.weekday())
    weeks = [this_monday - timedelta(weeks=n) for n in range(settings.metrics_weeks)]
    since = pd.Timestamp(weeks[-1], tz="UTC")
    until = pd.Timestamp(as_of + timedelta(days=1), tz="UTC")
    sent = store.read(warehouse, "sent_touches", since=since, until=until)
    events = store.read(warehouse, "touch_events", since=since, until=until + timedelta(days=7))
    metrics = engagement_metrics(sent, events)
    for week in sorted(weeks):
        rows = metrics[metrics["week_start"] == week]
        warehouse.write_frame("engagement_metrics", rows, replace_where={"week_start": week})
    epoch = pd.Timestamp("1970-01-01", tz="UTC")
    history = store.read(warehouse, "sent_touches", since=epoch, until=until)
    opens = store.read(warehouse, "touch_events", since=epoch, until=until)
    flags = falling_engagement(history[history["channel"] == "email"],
                               opens[opens["event"] == "open"],
                               settings.sends_without_open_for_flag, as_of)
    warehouse.write_frame("engagement_flags", flags, replace_where={"as_of_date": as_of})
    return {"weeks": len(weeks), "metric_rows": len(metrics), "flagged_contacts": len(flags)}
