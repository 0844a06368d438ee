"""Per-touch facts every rule reads, computed vectorized once: kinds (transactional,
promotional, human, check-in, announcement), the contact's timezone, the local window of
days a touch may go in, its allowed days, and what the contact already receives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from cadence.planner.conflicts import promotional_conflicts
from cadence.planner.inputs import PlanningContext
from cadence.planner.load import ContactLoad, DayLog, Touch
from cadence.planner.membership import is_in, positions
from cadence.planner.send_timing import (
    DAY_S,
    DayRules,
    check_timezones,
    day_rules,
    local_clock,
)
from cadence.policy import Policy

REQUIRED = ("touch_id", "contact_id", "account_id", "channel", "message_type",
            "earliest_at", "latest_at", "priority")
OPTIONAL = ("plan_date", "csm_id", "team", "category", "template_id", "intent", "source",
            "rule_id", "urgent", "payload")
NOT_COUNTED = ("cancelled", "failed", "dropped", "suppressed", "merged")


@dataclass
class TouchFacts:
    """Column arrays aligned with ``frame`` (the candidates sorted by touch_id)."""

    frame: pd.DataFrame
    transactional: np.ndarray
    promotional: np.ndarray
    human: np.ndarray
    checkin: np.ndarray
    announcement: np.ndarray
    category: np.ndarray
    arr: np.ndarray
    tier: np.ndarray
    csm_id: np.ndarray
    zone: np.ndarray  # index into zones
    zones: list[str]
    earliest_s: np.ndarray  # UTC epoch seconds, not before the plan date
    latest_s: np.ndarray
    earliest_day: np.ndarray  # local day of earliest_s (transactional send time)
    earliest_second: np.ndarray
    first_day: np.ndarray  # first local day a planned slot fits
    first_second: np.ndarray  # the slot on first_day (later days use send_hour)
    last_day: np.ndarray
    delayed_by_conflict: np.ndarray  # the window start moved by a low-CSAT ticket
    conflict: np.ndarray  # why a promotional touch may not go at all
    group: np.ndarray  # index into day_rules
    day_rules: list[DayRules]


def epoch_seconds(values: pd.Series) -> np.ndarray:
    """UTC epoch seconds of timestamps (any unit, aware or naive UTC)."""
    stamps = pd.to_datetime(values, utc=True).dt.tz_localize(None)
    return stamps.to_numpy().astype("datetime64[s]").astype(np.int64)


def checked_candidates(candidates: pd.DataFrame) -> pd.DataFrame:
    """The candidates sorted by touch_id with every optional column present; bad input
    fails naming the row, column and rule."""
    missing = [c for c in REQUIRED if c not in candidates.columns]
    if missing:
        raise ValueError(f"touch_candidates: required columns missing: {missing}")
    frame = candidates.sort_values("touch_id", kind="stable").reset_index(drop=True)
    for column in OPTIONAL:
        if column not in frame.columns:
            frame[column] = None
    for column in REQUIRED:
        empty = frame[column].isna()
        if empty.any():
            row = frame.loc[empty.idxmax(), "touch_id"]
            raise ValueError(f"touch_candidates: touch {row!r}: {column} is required")
    duplicated = frame["touch_id"].duplicated()
    if duplicated.any():
        row = frame.loc[duplicated.idxmax(), "touch_id"]
        raise ValueError(f"touch_candidates: touch_id {row!r} appears more than once")
    frame["category"] = frame["category"].fillna(frame["message_type"])
    frame["intent"] = frame["intent"].fillna(frame["template_id"]).fillna(frame["touch_id"])
    frame["urgent"] = frame["urgent"].fillna(False).astype(bool)
    return frame


def _lookup(keys: pd.Series, table: pd.DataFrame, key: str, column: str) -> pd.Series:
    return _lookups(keys, table, key, [column])[column]


def _lookups(keys: pd.Series, table: pd.DataFrame, key: str,
             columns: list[str]) -> dict[str, pd.Series]:
    # The table's last row per key, its columns aligned with ``keys`` (missing where absent).
    table = table.drop_duplicates(key, keep="last")
    at = positions(keys, table[key])
    found = at >= 0
    out = {}
    for column in columns:
        taken = np.full(len(keys), None, dtype=object)
        taken[found] = table[column].to_numpy(dtype=object)[at[found]]
        out[column] = pd.Series(taken, index=keys.index, dtype=object)
    return out


def contact_zones(contact_ids: pd.Series, account_ids: pd.Series, context: PlanningContext,
                  default: str) -> pd.Series:
    """The contact's timezone, the account's when unset, else the policy default."""
    zone = _lookup(contact_ids, context.contacts, "contact_id", "timezone")
    zone = zone.fillna(_lookup(account_ids, context.accounts, "account_id", "timezone"))
    return zone.fillna(default).astype(object)


def touch_facts(candidates: pd.DataFrame, context: PlanningContext, policy: Policy,
                as_of: date) -> TouchFacts:
    """Every vectorized fact about the candidates (see :class:`TouchFacts`)."""
    planner = policy.planner
    timing = planner.timing
    frame = checked_candidates(candidates)
    n = len(frame)
    message_type = frame["message_type"].to_numpy(dtype=object)
    category = frame["category"].to_numpy(dtype=object)
    template = frame["template_id"].to_numpy(dtype=object)
    transactional = message_type == "transactional"
    promotional = ((message_type == "promotional") | (category == "promotional")) & ~transactional
    human = np.isin(frame["channel"].to_numpy(dtype=object), planner.human_channels)
    checkin = np.isin(template, planner.conflicts.checkin_templates) & ~transactional
    announcement = np.isin(template, planner.conflicts.announcement_templates)

    accounts = frame["account_id"]
    account = _lookups(accounts, context.accounts, "account_id",
                       ["arr", "tier", "country", "csm_id"])
    arr = pd.to_numeric(account["arr"], errors="coerce").fillna(0.0).to_numpy(dtype=np.float64)
    tier = account["tier"].fillna("").to_numpy(object)
    country = account["country"]
    csm_id = frame["csm_id"].astype(object).fillna(account["csm_id"])
    zone_names = contact_zones(frame["contact_id"], accounts, context, timing.default_timezone)
    zone, zones = pd.factorize(zone_names, sort=True)
    zones = [str(z) for z in zones]
    check_timezones(zones)

    conflict, not_before = promotional_conflicts(frame, promotional, context.segments,
                                                 context.tickets, planner.conflicts)
    start_s = int((as_of - date(1970, 1, 1)).days) * DAY_S
    earliest_s = np.maximum(epoch_seconds(frame["earliest_at"]), start_s)
    latest_s = epoch_seconds(frame["latest_at"])
    delayed_s = not_before.astype(np.int64)
    delayed = ~np.isnat(not_before) & (delayed_s > earliest_s)
    planned_start = np.where(delayed, delayed_s, earliest_s)

    earliest_day, earliest_second = local_clock(earliest_s, zone, zones, as_of)
    first_day, first_second = local_clock(planned_start, zone, zones, as_of)
    last_day, last_second = local_clock(latest_s, zone, zones, as_of)
    send = timing.send_hour * 3600
    # The first slot: the send hour, or the next full hour when the window opens later.
    first_second = np.maximum(np.maximum(send, -(-first_second // 3600) * 3600),
                              timing.business_start_hour * 3600)
    too_late = first_second >= timing.business_end_hour * 3600
    first_day = np.where(too_late, first_day + 1, first_day)
    first_second = np.where(too_late, send, first_second)
    before_today = first_day < 0
    first_day = np.where(before_today, 0, first_day)
    first_second = np.where(before_today, send, first_second)
    last_slot = np.where(first_day == last_day, first_second, send)
    last_day = np.where(last_second < last_slot, last_day - 1, last_day)

    bits = np.zeros(n, dtype=np.int64)
    for index, blackout in enumerate(timing.blackouts):
        applies = np.isin(template, blackout.templates) if blackout.templates else True
        bits |= np.where(applies & ~transactional, 1 << index, 0)
    # One integer per (country, urgent, blackouts, check-in) group, ordered like the tuples.
    country_code, countries = pd.factorize(country.fillna("").to_numpy(object), sort=True)
    any_day = frame["urgent"].to_numpy(bool)
    width = 1 << len(timing.blackouts)
    key = ((country_code.astype(np.int64) * 2 + any_day) * width + bits) * 2 + checkin
    keys, group = np.unique(key, return_inverse=True)
    uniques = [(str(countries[k // 2 // width // 2]), bool(k // 2 // width % 2),
                int(k // 2 % width), bool(k % 2)) for k in keys.tolist()]
    announcement_days = {(date.fromisoformat(d) - as_of).days
                         for d in planner.conflicts.announcement_dates}
    announcement_days |= {(d - as_of).days for d in context.announcement_days}
    horizon_end = int(max(last_day.max(initial=0), first_day.max(initial=0))) + 1
    rules = [
        day_rules(timing, as_of, 0, horizon_end, country_code or None, bool(any_day),
                  tuple(i for i in range(len(timing.blackouts)) if int(mask) >> i & 1),
                  frozenset(announcement_days) if is_checkin else frozenset())
        for country_code, any_day, mask, is_checkin in uniques
    ]
    return TouchFacts(
        frame=frame, transactional=transactional, promotional=promotional, human=human,
        checkin=checkin, announcement=announcement, category=category, arr=arr, tier=tier,
        csm_id=csm_id.to_numpy(dtype=object), zone=zone, zones=zones,
        earliest_s=earliest_s, latest_s=latest_s, earliest_day=earliest_day,
        earliest_second=earliest_second, first_day=first_day, first_second=first_second,
        last_day=last_day, delayed_by_conflict=delayed, conflict=conflict,
        group=np.asarray(group), day_rules=rules,
    )


def preference_frequencies(preferences: pd.DataFrame, policy: Policy
                           ) -> dict[tuple[str, str], list[tuple[str, int]]]:
    """(contact_id, category) -> [(channel or "*", days)] of the contact's frequency
    preferences stricter than "as sent"."""
    days = policy.planner.preference_frequencies
    chosen = preferences[preferences["frequency"].isin(list(days))]
    out: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for row in chosen.sort_values(["contact_id", "category", "channel"],
                                  na_position="first").itertuples(index=False):
        if not isinstance(row.category, str):
            continue
        channel = row.channel if isinstance(row.channel, str) else "*"
        out.setdefault((row.contact_id, row.category), []).append((channel, days[row.frequency]))
    return out


def counted_history(context: PlanningContext, policy: Policy, as_of: date,
                    replanned: pd.Series) -> pd.DataFrame:
    """History rows that count toward caps: non-transactional, not cancelled, and either
    sent or still scheduled but not replanned now; with the local ``day`` of each."""
    history = context.history
    status = history["status"].fillna("scheduled")
    keep = ~status.isin(NOT_COUNTED) & (history["message_type"] != "transactional")
    keep &= (status == "sent") | ~is_in(history["touch_id"], replanned)
    rows = history[keep].sort_values("touch_id", kind="stable").reset_index(drop=True)
    zone_names = contact_zones(rows["contact_id"], rows["account_id"], context,
                               policy.planner.timing.default_timezone)
    zone, zones = pd.factorize(zone_names, sort=True)
    zones = [str(z) for z in zones]
    check_timezones(zones)
    day, _ = local_clock(epoch_seconds(rows["scheduled_at"]), zone, zones, as_of)
    rows["day"] = day
    rows["category"] = rows["category"].fillna(rows["message_type"])
    return rows


def history_loads(history: pd.DataFrame, policy: Policy
                  ) -> tuple[dict[str, list[tuple[int, Touch]]], dict[str, list[tuple[int, str]]]]:
    """Counted history grouped per contact ((day, touch)) and per account ((day, id))."""
    conflicts = policy.planner.conflicts
    by_contact: dict[str, list[tuple[int, Touch]]] = {}
    by_account: dict[str, list[tuple[int, str]]] = {}
    for row in history.itertuples(index=False):
        promotional = row.message_type == "promotional" or row.category == "promotional"
        touch = Touch(row.touch_id, row.channel, row.category, promotional,
                      row.template_id in conflicts.checkin_templates,
                      row.template_id in conflicts.announcement_templates)
        by_contact.setdefault(row.contact_id, []).append((int(row.day), touch))
        by_account.setdefault(row.account_id, []).append((int(row.day), row.touch_id))
    return by_contact, by_account


def new_contact_load(entries: list[tuple[int, Touch]]) -> ContactLoad:
    """A contact's load holding its counted history."""
    load = ContactLoad()
    for day, touch in entries:
        load.add(touch, day)
    return load


def new_account_log(entries: list[tuple[int, str]]) -> DayLog:
    """An account's log holding its counted history."""
    log = DayLog()
    for day, touch_id in entries:
        log.add(day, touch_id)
    return log
