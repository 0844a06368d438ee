"""Per-touch facts every rule reads, computed vectorized once: kinds (transactional,
promotional, human, check-in, announcement), the contact's timezone, the local window of
days a touch may go in, its allowed days, and what the contact already receives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cadence.planner.conflicts import promotional_conflicts
from cadence.planner.day_logs import ContactLoad, DayLog, Touch
from cadence.planner.inputs import PlanningContext
from cadence.planner.membership import is_in, positions, strictly_increasing
from cadence.planner.policy import Conflicts
from cadence.planner.priority import touch_classes
from cadence.planner.send_timing import (
    DAY_S,
    DayRules,
    check_timezones,
    day_rules,
    local_clock,
)

if TYPE_CHECKING:
    from cadence.policy import Policy

REQUIRED = ("touch_id", "contact_id", "account_id", "channel", "message_type",
            "earliest_at", "latest_at", "priority")
OPTIONAL = ("plan_date", "csm_id", "team", "category", "template_id", "intent", "source",
            "rule_id", "urgent", "payload", "hold", "note")
NOT_COUNTED = ("cancelled", "failed", "dropped", "suppressed", "merged")


@dataclass
class TouchFacts:
    """Column arrays aligned with ``frame`` (the candidates sorted by touch_id)."""

    frame: pd.DataFrame
    klass: np.ndarray  # priority class index (0 = highest, policy ``classes``)
    protected: np.ndarray  # in a protected class: escalated, never dropped
    transactional: np.ndarray  # in a class that bypasses caps (rule 2)
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
    # Candidates usually arrive sorted: strictly increasing ids need neither a string sort
    # nor a duplicate check.
    increasing = strictly_increasing(candidates["touch_id"])
    if increasing:
        frame = candidates.reset_index(drop=True)
    else:
        frame = candidates.sort_values("touch_id", kind="stable").reset_index(drop=True)
    for column in OPTIONAL:
        if column not in frame.columns:
            frame[column] = None
    for column in REQUIRED:
        empty = frame[column].isna()
        if empty.any():
            row = frame.loc[empty.idxmax(), "touch_id"]
            raise ValueError(f"touch_candidates: touch {row!r}: {column} is required")
    if not increasing:
        # Sorted, a repeated id sits right after its first row: comparing neighbours in
        # Arrow costs a fraction of hashing every id.
        ids = pa.array(frame["touch_id"], from_pandas=True)
        repeated = pc.equal(ids[1:], ids[:-1]).to_numpy(zero_copy_only=False)
        if repeated.any():
            row = ids[int(np.argmax(repeated)) + 1].as_py()
            raise ValueError(f"touch_candidates: touch_id {row!r} appears more than once")
    frame["category"] = _filled(frame["category"], frame["message_type"])
    frame["intent"] = _filled(frame["intent"], frame["template_id"], frame["touch_id"])
    frame["urgent"] = frame["urgent"].fillna(False).astype(bool)
    return frame


def _filled(column: pd.Series, *others: pd.Series) -> pd.Series:
    # ``column.fillna(others[0]).fillna(others[1])...``; an object column (usually all
    # missing) takes only its missing rows from the others, so a text column is not turned
    # into objects whole.
    if column.dtype != object:
        for other in others:
            column = column.fillna(other)
        return column
    values = column.to_numpy(dtype=object, copy=True)
    missing = np.flatnonzero(pd.isna(values))
    for other in others:
        if not len(missing):
            break
        filled, still_missing = _objects(other.iloc[missing])
        values[missing] = filled
        missing = missing[still_missing]
    return pd.Series(values, index=column.index, name=column.name, dtype=object)


def _objects(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    # The values as an object array built from their distinct values (a text column with
    # few distinct values makes few Python strings), and which of them are missing.
    codes, uniques = pd.factorize(values)
    missing = codes < 0
    if not len(uniques):
        return values.to_numpy(dtype=object), missing
    out = np.asarray(uniques, dtype=object)[codes]
    if missing.any():
        out[missing] = values.iloc[np.flatnonzero(missing)].to_numpy(dtype=object)
    return out, missing


def _promotional_conflicts(frame: pd.DataFrame, promotional: np.ndarray,
                           context: PlanningContext, conflicts: Conflicts,
                           ) -> tuple[np.ndarray, np.ndarray]:
    # promotional_conflicts per candidate; the conflicts are the account's, so they are
    # worked out once per account with a promotional touch.
    why = np.full(len(frame), None, dtype=object)
    not_before = np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[s]")
    rows = np.flatnonzero(promotional)
    if not len(rows):
        return why, not_before
    code, accounts = pd.factorize(frame["account_id"].iloc[rows])
    account_why, account_not_before = promotional_conflicts(
        pd.DataFrame({"account_id": np.asarray(accounts, dtype=object)}),
        np.ones(len(accounts), dtype=bool), context.segments, context.tickets, conflicts)
    why[rows] = account_why[code]
    not_before[rows] = account_not_before[code]
    return why, not_before


def _table_positions(keys: pd.Series, table: pd.DataFrame,
                     key: str) -> tuple[pd.DataFrame, np.ndarray]:
    # The table's last row per key, and the row of each of ``keys`` in it (-1 if absent);
    # a table with increasing keys has one row per key already.
    if not strictly_increasing(table[key]):
        table = table.drop_duplicates(key, keep="last")
    table = table.reset_index(drop=True)
    return table, positions(keys, table[key])


def _taken(table: pd.DataFrame, column: str, at: np.ndarray) -> np.ndarray:
    # The column's value (as an object) at each position, None where ``at`` is -1.
    return np.append(table[column].to_numpy(dtype=object), None)[at]


def zone_codes(contact_ids: pd.Series, account_ids: pd.Series, context: PlanningContext,
               default: str) -> tuple[np.ndarray, list[str]]:
    """Each row's timezone, as an index into the sorted zone names used: the contact's,
    the account's when unset, else the policy default. Bad names fail."""
    contacts, contact_at = _table_positions(contact_ids, context.contacts, "contact_id")
    accounts, account_at = _table_positions(account_ids, context.accounts, "account_id")
    # The zones are named per table row: only a few distinct names, never one per row.
    names = np.concatenate([contacts["timezone"].to_numpy(dtype=object),
                            accounts["timezone"].to_numpy(dtype=object),
                            np.array([default], dtype=object)])
    named = ~pd.isna(names)
    code, known = pd.factorize(names[named], sort=True)
    table = np.full(len(names), -1, dtype=np.int64)
    table[named] = code
    contact_zone = np.append(table[:len(contacts)], -1)[contact_at]
    account_zone = np.append(table[len(contacts):-1], -1)[account_at]
    zone = np.where(contact_zone >= 0, contact_zone,
                    np.where(account_zone >= 0, account_zone, table[-1]))
    # Only the zones some row uses, still sorted.
    used = np.zeros(len(known), dtype=bool)
    used[zone] = True
    zone = (np.cumsum(used) - 1)[zone]
    zones = [str(z) for z in np.asarray(known, dtype=object)[used]]
    check_timezones(zones)
    return zone, zones


def touch_facts(candidates: pd.DataFrame, context: PlanningContext, policy: Policy,
                as_of: date) -> TouchFacts:
    """Every vectorized fact about the candidates (see :class:`TouchFacts`)."""
    planner = policy.planner
    timing = planner.timing
    frame = checked_candidates(candidates)
    n = len(frame)
    message_type = frame["message_type"]
    category = frame["category"].to_numpy(dtype=object)
    template = frame["template_id"]
    klass = touch_classes(frame, policy.classes)
    # A campaign that may not claim the transactional class does not bypass the caps.
    transactional = policy.classes.bypassing()[klass]
    protected = policy.classes.protected()[klass]
    promotional = ((message_type == "promotional").to_numpy(dtype=bool)
                   | (category == "promotional")) & ~transactional
    human = frame["channel"].isin(planner.human_channels).to_numpy(dtype=bool)
    checkin = (template.isin(planner.conflicts.checkin_templates).to_numpy(dtype=bool)
               & ~transactional)
    announcement = template.isin(planner.conflicts.announcement_templates).to_numpy(dtype=bool)

    accounts = frame["account_id"]
    table, at = _table_positions(accounts, context.accounts, "account_id")
    arr = pd.to_numeric(table["arr"], errors="coerce").to_numpy(dtype=np.float64,
                                                                na_value=np.nan)
    arr = np.append(np.nan_to_num(arr, nan=0.0), 0.0)[at]
    tier = table["tier"].to_numpy(dtype=object, copy=True)
    tier[pd.isna(tier)] = ""  # on the table rows: an unknown account's tier is "" too
    tier = np.append(tier, "")[at]
    csm_id = frame["csm_id"].to_numpy(dtype=object, copy=True)
    unset = pd.isna(csm_id)
    csm_id[unset] = _taken(table, "csm_id", at[unset])
    zone, zones = zone_codes(frame["contact_id"], accounts, context, timing.default_timezone)

    conflict, not_before = _promotional_conflicts(frame, promotional, context,
                                                  planner.conflicts)
    start_s = int((as_of - date(1970, 1, 1)).days) * DAY_S
    earliest_s = np.maximum(epoch_seconds(frame["earliest_at"]), start_s)
    latest_s = epoch_seconds(frame["latest_at"])
    delayed_s = not_before.astype(np.int64)
    delayed = ~np.isnat(not_before) & (delayed_s > earliest_s)

    earliest_day, earliest_second = local_clock(earliest_s, zone, zones, as_of)
    # The planned window opens at earliest_at unless a conflict delays it: only the
    # delayed rows need a clock of their own.
    first_day, first_second = earliest_day.copy(), earliest_second.copy()
    if delayed.any():
        first_day[delayed], first_second[delayed] = local_clock(
            delayed_s[delayed], zone[delayed], zones, as_of)
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
        applies = (template.isin(blackout.templates).to_numpy(dtype=bool)
                   if blackout.templates else True)
        bits |= np.where(applies & ~transactional, 1 << index, 0)
    # One integer per (country, urgent, blackouts, check-in) group, ordered like the tuples;
    # countries are coded per account row, and every code keeps the names' sorted order.
    country = np.append(table["country"].to_numpy(dtype=object), None)
    country[pd.isna(country)] = ""
    country_code, countries = pd.factorize(country, sort=True)
    country_code = country_code[at]
    any_day = frame["urgent"].to_numpy(bool)
    width = 1 << len(timing.blackouts)
    key = ((country_code.astype(np.int64) * 2 + any_day) * width + bits) * 2 + checkin
    group, keys = pd.factorize(key, sort=True)
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
        frame=frame, klass=klass, protected=protected, transactional=transactional,
        promotional=promotional, human=human,
        checkin=checkin, announcement=announcement, category=category, arr=arr, tier=tier,
        csm_id=csm_id, zone=zone, zones=zones,
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
    chosen = chosen.sort_values(["contact_id", "category", "channel"], na_position="first")
    out: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for contact, category, channel, frequency in zip(
            *(chosen[c].tolist() for c in ("contact_id", "category", "channel", "frequency")),
            strict=True):
        if not isinstance(category, str):
            continue
        channel = channel if isinstance(channel, str) else "*"
        out.setdefault((contact, category), []).append((channel, days[frequency]))
    return out


def counted_history(context: PlanningContext, policy: Policy, as_of: date,
                    replanned: pd.Series) -> pd.DataFrame:
    """History rows that count toward caps: non-transactional, not cancelled, and either
    sent or still scheduled but not replanned now; with the local ``day`` of each."""
    history = context.history
    status = history["status"].fillna("scheduled")
    keep = (~status.isin(NOT_COUNTED)
            & (history["message_type"] != "transactional")).to_numpy(dtype=bool, copy=True)
    # Only the unsent rows can be replanned.
    unsent = np.flatnonzero(keep & (status != "sent").to_numpy(dtype=bool))
    keep[unsent] = ~is_in(history["touch_id"].iloc[unsent], replanned)
    rows = history[keep]
    if not strictly_increasing(rows["touch_id"]):
        rows = rows.sort_values("touch_id", kind="stable")
    rows = rows.reset_index(drop=True)
    zone, zones = zone_codes(rows["contact_id"], rows["account_id"], context,
                             policy.planner.timing.default_timezone)
    day, _ = local_clock(epoch_seconds(rows["scheduled_at"]), zone, zones, as_of)
    rows["day"] = day
    rows["category"] = rows["category"].fillna(rows["message_type"])
    return rows


def history_loads(history: pd.DataFrame, policy: Policy
                  ) -> tuple[dict[str, list[tuple[int, Touch]]], dict[str, list[tuple[int, str]]]]:
    """Counted history grouped per contact ((day, touch)) and per account ((day, id))."""
    conflicts = policy.planner.conflicts
    template = history["template_id"]
    promotional = ((history["message_type"] == "promotional")
                   | (history["category"] == "promotional")).to_numpy(dtype=bool)
    columns = [history[c].tolist() for c in ("touch_id", "contact_id", "account_id",
                                              "channel", "category", "day")]
    columns += [promotional.tolist(),
                template.isin(conflicts.checkin_templates).to_numpy(dtype=bool).tolist(),
                template.isin(conflicts.announcement_templates).to_numpy(dtype=bool).tolist()]
    by_contact: dict[str, list[tuple[int, Touch]]] = {}
    by_account: dict[str, list[tuple[int, str]]] = {}
    for (touch_id, contact, account, channel, category, day, is_promotional, checkin,
         announcement) in zip(*columns, strict=True):
        touch = Touch(touch_id, channel, category, is_promotional, checkin, announcement)
        by_contact.setdefault(contact, []).append((day, touch))
        by_account.setdefault(account, []).append((day, touch_id))
    return by_contact, by_account


def new_contact_load(entries: list[tuple[int, Touch]]) -> ContactLoad:
    """A contact's load holding its counted history."""
    load = ContactLoad()
    load.extend(list(entries))
    return load


def new_account_log(entries: list[tuple[int, str]]) -> DayLog:
    """An account's log holding its counted history."""
    log = DayLog()
    log.extend(list(entries))
    return log
