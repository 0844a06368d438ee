"""CSM tasks (DESIGN §9.6): the plan's scheduled human touches (calls, meetings) and the
planner's escalations become tasks a CSM can act on.

Each task has an owner (the account's CSM; the CSM's manager for escalations; a pooled
queue from policy when there is nobody), a meeting time in the overlap of the contact's
and the owner's business hours (:class:`cadence.planner.send_timing.MeetingPlanner`), the
person to call and the account's facts as columns, and 2–4 talking points from policy
rules. The files (one live iCalendar feed per owner, a CSV per owner and week) are written
by :mod:`cadence.outputs.csm_task_files`.
"""

from __future__ import annotations

import functools
import json
import re
import string
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cadence.contract.schema import table_columns
from cadence.contract.tables import CSM_TASKS
from cadence.planner.send_timing import (
    DOUBLE_BOOKED,
    Meeting,
    MeetingPlanner,
    zone_country,
    zone_of,
)

if TYPE_CHECKING:
    from cadence.contract.warehouse import Warehouse
    from cadence.outputs.csm_task_policy import CsmTasksPolicy, TalkingPoint
    from cadence.policy import Policy

SUPPRESSED_RULE = "csm_tasks.no_human_tier"
COMPONENTS = ("product_usage", "adoption_breadth", "engagement", "support", "sentiment",
              "commercial")
MEETING_TIMES = table_columns("csm_meeting_times")
# What the readable summary of a task says, and what placing its call reads, of each row.
CONTEXT_FIELDS = ["task_type", "rule_id", "contact_name", "contact_role", "contact_email",
                  "contact_phone", "placement_note", "talking_points", "health_score",
                  "health_band", "score_delta_14d", "weakest_components", "renewal_date",
                  "days_to_renewal", "renewal_status", "arr", "open_tickets",
                  "top_ticket_priority", "last_nps", "last_nps_comment", "last_touches"]
PLACING_FIELDS = ["touch_id", "contact_id", "csm_id", "origin", "timezone", "contact_timezone",
                  "account_timezone", "owner_type", "owner_zone", "country", "planned_day",
                  "scheduled_at", "earliest_at", "latest_at", "minutes", "urgent"]


@dataclass(frozen=True)
class TaskContext:
    """What tasks are made of, one frame each (columns of the ``csm_tasks/*.sql`` files):
    accounts (with tier), contacts, csms (with manager_id), health (with components),
    latest_nps and open_tickets per account, usage (30-day trend), recent_touches (sent,
    every team) and contact_days (the contacts' other planned days)."""

    accounts: pd.DataFrame
    contacts: pd.DataFrame
    csms: pd.DataFrame
    health: pd.DataFrame
    latest_nps: pd.DataFrame
    open_tickets: pd.DataFrame
    usage: pd.DataFrame
    recent_touches: pd.DataFrame
    contact_days: pd.DataFrame


@dataclass(frozen=True)
class TaskBuild:
    """Tasks (``csm_tasks`` columns), the human touches of no-human tiers (touch_id,
    reason) and rejected owner ids (quarantine rows)."""

    tasks: pd.DataFrame
    suppressed: pd.DataFrame
    quarantine: pd.DataFrame


def build_csm_tasks(human: pd.DataFrame, escalated: pd.DataFrame, context: TaskContext,
                    policy: Policy, as_of: date, crm: str | None = None) -> TaskBuild:
    """Tasks of the plan ``as_of``: one per scheduled human touch of ``human``
    (human_touches.sql) and one per escalated decision of ``escalated``
    (escalated_touches.sql), sorted by owner, start and task_id. ``crm`` (hubspot,
    salesforce) gives each task the URL of its CRM record."""
    rules = policy.csm_tasks
    task_types = policy.candidates.task_types()
    rows = human.assign(origin="calendar", escalation_reason=None)
    if len(escalated):
        rows = pd.concat([rows, escalated.rename(columns={"detail": "escalation_reason"})
                          .assign(origin="escalated", urgent=True, scheduled_at=pd.NaT,
                                  timezone=None, planned_day=None)], ignore_index=True)
    rows = rows.reset_index(drop=True)
    rows["task_type"] = np.where(rows["origin"] == "escalated", rules.escalation_task_type,
                                 rows["rule_id"].map(task_types).fillna(rules.default_task_type))
    accounts = context.accounts.rename(columns={"name": "account_name", "csm_id": "owner_csm",
                                                "timezone": "account_timezone"})
    rows = rows.merge(accounts, on="account_id", how="left")
    keep = _has_human_work(rows, rules)
    suppressed = pd.DataFrame({
        "touch_id": rows.loc[~keep, "touch_id"],
        "reason": [f"{tier} accounts get no human task ({task_type}; policy"
                   f" csm_tasks.no_human_tiers)" for tier, task_type in
                   zip(rows.loc[~keep, "tier"], rows.loc[~keep, "task_type"], strict=True)]})
    rows = rows[keep].reset_index(drop=True)
    good_csms, quarantine = _valid_owners(context.csms, rules, as_of)
    to_manager = {key for key, spec in policy.candidates.specs().items()
                  if getattr(spec, "to_manager", False)}
    rows = _owners(rows, good_csms, rules, to_manager)
    rows = rows.merge(_people(context.contacts), on="contact_id", how="left")
    rows = _place(rows, context, policy, as_of)
    facts = _facts(rows, context, as_of, rules.last_touches)
    rows = pd.concat([rows.drop(columns=[c for c in facts.columns if c in rows]), facts],
                     axis=1)
    rows["talking_points"] = ["\n".join(p) for p in talking_points_of(facts, rules)]
    rows["context"] = [_context_text(row) for row in records(rows, CONTEXT_FIELDS)]
    rows["task_id"] = "task_" + rows["touch_id"].str.removeprefix("t_")
    rows["plan_date"] = as_of
    rows["status"] = "open"
    rows["priority"] = rows["priority"].astype("int64")
    url = rules.feed.record_urls.get(crm or "")
    rows["crm_url"] = [url.format(account_id=a) if url else None for a in rows["account_id"]]
    rows = rows.sort_values(["csm_id", "starts_at", "task_id"], kind="stable")
    return TaskBuild(rows.reindex(columns=list(CSM_TASKS)).reset_index(drop=True),
                     suppressed.reset_index(drop=True), quarantine)


def _has_human_work(rows: pd.DataFrame, rules: CsmTasksPolicy) -> pd.Series:
    # Tiers without a human cadence keep only the task types policy names, above an ARR;
    # escalations always reach a manager.
    no_human = rows["tier"].isin(rules.no_human_tiers) & (rows["origin"] == "calendar")
    exception_arr = rows["task_type"].map(
        {k: v.min_arr for k, v in rules.no_human_exceptions.items()})
    excepted = exception_arr.notna() & (pd.to_numeric(rows["arr"]).fillna(0)
                                        >= exception_arr.fillna(np.inf))
    return ~no_human | excepted


def _valid_owners(csms: pd.DataFrame, rules: CsmTasksPolicy, as_of: date
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    # A csm_id becomes a file name: one that does not match the policy pattern is
    # quarantined and its tasks go to the pooled queue.
    ok = csms["csm_id"].map(lambda v: is_safe_id(v, rules.id_pattern)).astype(bool)
    bad = csms[~ok]
    quarantine = pd.DataFrame({
        "entity": "csms",
        "row": [json.dumps({k: (None if pd.isna(v) else str(v)) for k, v in r.items()},
                           sort_keys=True) for r in bad.to_dict("records")],
        "rule": [f"row {i}: csm_id {v!r} does not match policy csm_tasks.id_pattern"
                 f" {rules.id_pattern!r}; its tasks go to {rules.pooled_queue.id}"
                 for i, v in zip(bad.index, bad["csm_id"], strict=True)],
        "as_of_date": as_of}, columns=["entity", "row", "rule", "as_of_date"])
    return csms[ok], quarantine


def is_safe_id(value: object, pattern: str) -> bool:
    """Whether an id may name a file: it matches the policy pattern and is no path."""
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    return bool(re.fullmatch(pattern, text)) and text not in (".", "..") \
        and not any(c in text for c in "/\\\0")


def _owners(rows: pd.DataFrame, csms: pd.DataFrame, rules: CsmTasksPolicy,
            to_manager: set[str]) -> pd.DataFrame:
    # Who acts: the account's CSM; the CSM's manager for escalations; a queue otherwise.
    known = csms.set_index("csm_id")
    account_csm = rows["csm_id"].where(rows["csm_id"].notna(), rows["owner_csm"])
    has_csm = account_csm.isin(known.index)
    escalation = (rows["origin"] == "escalated") | rows["rule_id"].isin(to_manager)
    manager = account_csm.map(known["manager_id"])
    has_manager = manager.isin(known.index)
    owner = np.select(
        [escalation & has_manager, escalation, has_csm],
        [manager, rules.escalation_queue.id, account_csm], rules.pooled_queue.id)
    owner_type = np.select([escalation & has_manager, has_csm & ~escalation],
                           ["manager", "csm"], "queue")
    out = rows.assign(account_csm_id=account_csm.where(has_csm), csm_id=owner,
                      owner_type=owner_type)
    queues = {q.id: q for q in (rules.pooled_queue, rules.escalation_queue)}
    out["owner_name"] = out["csm_id"].map(known["name"]).fillna(
        out["csm_id"].map({k: q.name for k, q in queues.items()}))
    out["owner_email"] = out["csm_id"].map(known["email"]).where(
        out["owner_type"] != "queue", out["csm_id"].map({k: q.email for k, q in queues.items()}))
    out["owner_zone"] = out["csm_id"].map(known["timezone"]).where(
        out["owner_type"] != "queue",
        out["csm_id"].map({k: q.timezone for k, q in queues.items()}))
    out["owner_note"] = np.select(
        [escalation & ~has_manager & has_csm, escalation & ~has_csm,
         ~escalation & ~has_csm & account_csm.notna()],
        ["the CSM has no manager in csms: escalated to " + rules.escalation_queue.id,
         "the account has no CSM: escalated to " + rules.escalation_queue.id,
         "the account's CSM id is not usable: pooled to " + rules.pooled_queue.id], "")
    return out


def _people(contacts: pd.DataFrame) -> pd.DataFrame:
    name = (contacts["first_name"].fillna("") + " " + contacts["last_name"].fillna("")
            ).str.strip()
    return pd.DataFrame({
        "contact_id": contacts["contact_id"],
        "contact_name": name.where(name != "", contacts["email"]),
        "contact_email": contacts["email"], "contact_role": contacts["role"],
        "contact_phone": contacts["phone"], "contact_timezone": contacts["timezone"]})


def _place(rows: pd.DataFrame, context: TaskContext, policy: Policy, as_of: date
           ) -> pd.DataFrame:
    # Meeting times, most important first (priority, then the planned time, then id).
    rules = policy.csm_tasks
    limits = policy.planner.limits
    planner = MeetingPlanner(rules.hours, as_of, limits.min_days_between_touches,
                             limits.all_channels_per_7_days)
    default_zone = policy.planner.timing.default_timezone
    days = context.contact_days
    # Each contact's touch days; a placed call counts on its new day for the next ones.
    others: dict[str, dict[str, date]] = {}
    for contact, touch, day in zip(days["contact_id"].tolist(), days["touch_id"].tolist(),
                                   pd.to_datetime(days["day"]).dt.date.tolist(), strict=True):
        others.setdefault(contact, {})[touch] = day
    rows = rows.assign(minutes=rows["task_type"].map(rules.minutes).fillna(
        rules.default_minutes).astype("int64"))
    # Plain lists: a frame row read or written by label costs more than placing the call.
    col = column_lists(rows, PLACING_FIELDS)
    contact_zones = [_first_zone(a, b, c, default_zone) for a, b, c in zip(
        col["timezone"], col["contact_timezone"], col["account_timezone"], strict=True)]
    task_owner_zones = [None if kind == "queue" and not _text(zone)
                        else _first_zone(zone, default_zone)
                        for kind, zone in zip(col["owner_type"], col["owner_zone"], strict=True)]
    windows = _windows(rows, col, contact_zones, as_of)
    # The planner's day, not the placed time, orders them: a rerun places alike.
    order = np.lexsort((rows["touch_id"].to_numpy(dtype=object).astype(str),
                        pd.to_datetime(rows["planned_day"]).to_numpy(),
                        -rows["priority"].to_numpy(dtype="float64")))
    placed: list = [None] * len(rows)
    for i in order.tolist():
        contact_zone, owner_zone = contact_zones[i], task_owner_zones[i]
        touch_id, owner, urgent = col["touch_id"][i], col["csm_id"][i], col["urgent"][i]
        first, last, planned = windows[i]
        mine = others.setdefault(col["contact_id"][i], {})
        other_days = tuple(d for t, d in mine.items() if t != touch_id)
        placed[i] = planner.place(Meeting(
            key=touch_id, owner=owner, owner_zone=owner_zone,
            owner_country=rules.csm_countries.get(owner) or zone_country(owner_zone),
            contact_zone=contact_zone, contact_country=_text(col["country"][i]),
            planned_day=planned, first_day=first, last_day=last, minutes=col["minutes"][i],
            any_day=bool(urgent) if pd.notna(urgent) else False, other_days=other_days))
        mine[touch_id] = placed[i].starts_at.astimezone(zone_of(contact_zone)).date()
    index = rows.index
    rows["contact_zone"] = pd.Series(contact_zones, index=index, dtype=object)
    rows["task_zone"] = pd.Series([o or c for o, c in zip(task_owner_zones, contact_zones,
                                                          strict=True)], index=index,
                                  dtype=object)
    rows["starts_at"] = pd.Series([p.starts_at for p in placed], index=index,
                                  dtype="datetime64[us, UTC]")
    rows["within_hours"] = [p.within_hours for p in placed]
    rows["placement_note"] = ["; ".join(n for n in (p.note, owner_note) if n) or None
                              for p, owner_note in zip(placed, rows["owner_note"].tolist(),
                                                       strict=True)]
    rows["due_date"] = wall_clock(rows["starts_at"], rows["task_zone"]).dt.date
    return rows


def _windows(rows: pd.DataFrame, col: dict[str, list], zones: list[str], as_of: date
             ) -> list[tuple[date, date, date]]:
    # Each touch's window (first, last, planned day) in the contact's days, converted a zone
    # at a time; an escalation is due from the plan date.
    zone = pd.Series(zones, index=rows.index, dtype=object)

    def local_days(column: str) -> list:
        return wall_clock(pd.to_datetime(rows[column], utc=True), zone).dt.date.tolist()

    earliest, latest, scheduled = (local_days(c) for c in
                                   ("earliest_at", "latest_at", "scheduled_at"))
    escalation = (as_of, as_of + timedelta(days=6), as_of)
    out = []
    for origin, planned_day, sent, lo, hi in zip(col["origin"], col["planned_day"], scheduled,
                                                 earliest, latest, strict=True):
        if origin == "escalated":
            out.append(escalation)
            continue
        planned = pd.Timestamp(planned_day).date() if pd.notna(planned_day) else sent
        out.append((lo if pd.notna(lo) else planned, hi if pd.notna(hi) else planned,
                    planned))
    return out


def column_lists(frame: pd.DataFrame, columns) -> dict[str, list]:
    """Each column's values as a list of what ``to_dict`` gives, made a column at a time:
    pandas reads Arrow-backed text a value at a time (~10 times slower)."""
    return {c: frame[c].to_numpy(dtype=object).tolist() for c in columns}


def records(frame: pd.DataFrame, columns=None) -> list[dict]:
    """``frame[columns].to_dict("records")``, the same values, from :func:`column_lists`."""
    lists = column_lists(frame, frame.columns if columns is None else columns)
    return [dict(zip(lists, row, strict=True)) for row in zip(*lists.values(), strict=True)]


def wall_clock(stamps: pd.Series, zones: pd.Series) -> pd.Series:
    """The local wall-clock time (naive) of each UTC timestamp in its row's zone, converted
    a zone at a time (per row, pandas' conversion costs more than the rest of a task)."""
    zones = pd.Series(np.asarray(zones, dtype=object), index=stamps.index)
    utc = pd.to_datetime(stamps, utc=True)
    out = pd.Series(pd.NaT, index=stamps.index, dtype="datetime64[us]")
    for zone, rows in zones.groupby(zones, sort=False).groups.items():
        local = pd.DatetimeIndex(utc[rows]).tz_convert(zone).tz_localize(None)
        out[rows] = local.as_unit("us")
    return out


def _first_zone(*zones) -> str:
    for zone in zones:
        if _text(zone):
            return str(zone)
    return "UTC"


def _text(value) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) \
        else (str(value) or None)


def _facts(rows: pd.DataFrame, context: TaskContext, as_of: date, last_touches: int
           ) -> pd.DataFrame:
    """The CSM-facing facts of each task's account, one column each; NULL when unknown."""
    by = rows["account_id"]
    health = context.health.set_index("account_id")
    facts = pd.DataFrame(index=rows.index)
    facts["health_score"] = pd.to_numeric(by.map(health["score"]), errors="coerce").round(0)
    facts["health_band"] = by.map(health["band"])
    facts["score_delta_14d"] = pd.to_numeric(by.map(health["score_delta_14d"]),
                                             errors="coerce")
    facts["weakest_components"] = by.map(weakest_components(health))
    renewal = pd.to_datetime(rows["renewal_date"])
    facts["renewal_date"] = renewal.dt.date
    facts["days_to_renewal"] = (renewal - pd.Timestamp(as_of)).dt.days.astype("Int64")
    facts["renewal_status"] = rows["renewal_status"]
    facts["arr"] = pd.to_numeric(rows["arr"])
    tickets = context.open_tickets.set_index("account_id")
    for column in ("open_tickets", "urgent_tickets"):
        facts[column] = pd.to_numeric(by.map(tickets[column]), errors="coerce").astype("Int64")
    facts["top_ticket_priority"] = by.map(tickets["top_ticket_priority"]).map(
        lambda p: p.upper() if isinstance(p, str) else None)
    nps = context.latest_nps.set_index("account_id")
    facts["last_nps"] = pd.to_numeric(by.map(nps["score"]), errors="coerce").astype("Int64")
    facts["last_nps_comment"] = by.map(nps["comment"])
    usage = context.usage.set_index("account_id")
    now = pd.to_numeric(by.map(usage["active_users_30d"]), errors="coerce")
    before = pd.to_numeric(by.map(usage["active_users_prior_30d"]), errors="coerce")
    change = ((now - before) / before.where(before > 0) * 100).round(0)
    facts["usage_change_30d_pct"] = change
    facts["usage_drop_30d_pct"] = (-change).where(change < 0)
    seats = pd.to_numeric(rows["seats_purchased"])
    used = pd.to_numeric(by.map(usage["seats_used_30d"]), errors="coerce")
    facts["seats_used_pct"] = (used / seats.where(seats > 0) * 100
                               ).round(0)
    facts["last_touches"] = by.map(_last_touches(context.recent_touches, last_touches))
    facts["task_type"] = rows["task_type"]
    facts["contact_role"] = rows["contact_role"]
    facts["escalation_reason"] = rows["escalation_reason"]
    return facts


def weakest_components(health: pd.DataFrame) -> pd.Series:
    """Each account's two lowest known components (``engagement 31, support 40``), None when
    none is known; indexed like ``health``. Ties fall as pandas' sort of the row's known
    values left them (numpy's quicksort: on float rows not stable)."""
    columns = health[list(COMPONENTS)]
    values = columns.to_numpy(dtype=float, na_value=np.nan)
    # A row of mixed column types was sorted as objects, which keeps ties in column order.
    kind = "quicksort" if all(dtype == "float64" for dtype in columns.dtypes) else "stable"
    names = np.array([c.replace("_", " ") for c in COMPONENTS], dtype=object)
    text = []
    for row in values:
        known = ~np.isnan(row)
        shown = row[known]
        weakest = np.argsort(shown, kind=kind)[:2]
        text.append(", ".join(f"{name} {value:.0f}" for name, value in zip(
            names[known][weakest], shown[weakest].tolist(), strict=True)) or None)
    return pd.Series(text, index=health.index, dtype=object)


def _last_touches(recent: pd.DataFrame, n: int) -> pd.Series:
    if recent.empty or n == 0:
        return pd.Series(dtype=object)
    recent = recent.sort_values(["scheduled_at", "touch_id"], ascending=[False, True])
    recent = recent.groupby("account_id").head(n)
    text = [f"{pd.Timestamp(t).date()} {team} {channel} {template}" for t, team, channel,
            template in zip(recent["scheduled_at"], recent["team"].fillna("-"),
                            recent["channel"], recent["template_id"], strict=True)]
    return pd.Series(text, index=recent["account_id"].to_numpy()).groupby(level=0).agg(
        "; ".join)


def talking_points(facts: dict, rules: CsmTasksPolicy) -> list[str]:
    """2–4 talking points (policy ``csm_tasks.talking_points``, then the fallback points
    up to ``min_points``) from one task's facts (:func:`talking_points_of`)."""
    return talking_points_of(pd.DataFrame([facts]), rules)[0]


def talking_points_of(facts: pd.DataFrame, rules: CsmTasksPolicy) -> list[list[str]]:
    """Each row's talking points: the policy rules in order, a rule said when its test
    passes on the row's fact; a rule whose fact is unknown never says, nor one quoting an
    unknown fact, each fact is spoken for once (the first rule that holds), at most
    ``max_points``; then the fallback points up to ``min_points``. Tested a rule at a time
    over the column, formatted only where it is said."""
    size = len(facts)
    points: list[list[str]] = [[] for _ in range(size)]
    count = np.zeros(size, dtype=np.int64)
    nobody = np.zeros(size, dtype=bool)
    said: dict[str, np.ndarray] = {}  # fact -> the rows a point already spoke for it
    shown: dict[str, list[str]] = {}
    known: dict[str, np.ndarray] = {}

    def show(name: str) -> list[str]:
        if name not in shown:
            values = facts[name].to_numpy(dtype=object) if name in facts else [None] * size
            shown[name] = [_shown(v) for v in values]
            known[name] = np.fromiter(map(bool, shown[name]), dtype=bool, count=size)
        return shown[name]

    for rule in rules.talking_points:
        quoted = _quoted(rule.say)
        holds = (count < rules.max_points) & ~said.get(rule.fact, nobody)
        holds &= _passes(rule, facts.get(rule.fact), size)
        for name in quoted:
            show(name)
            holds &= known[name]
        at = np.flatnonzero(holds)
        for i in at.tolist():
            points[i].append(rule.say.format_map({name: shown[name][i] for name in quoted}))
        count[at] += 1
        said[rule.fact] = said.get(rule.fact, nobody) | holds
    for fallback in rules.fallback_points:
        at = np.flatnonzero(count < rules.min_points)
        for i in at.tolist():
            points[i].append(fallback)
        count[at] += 1
    return points


@functools.cache
def _quoted(say: str) -> tuple[str, ...]:
    # The facts a talking point's text quotes ({health_score} ...).
    return tuple(name for _, name, _, _ in string.Formatter().parse(say) if name)


def _passes(rule: TalkingPoint, values: pd.Series | None, size: int) -> np.ndarray:
    # Which rows' fact passes the rule's tests, in their order: a later test is only
    # computed where the earlier ones hold (a text fact is never turned into a number).
    if values is None:
        return np.zeros(size, dtype=bool)
    column = values.to_numpy(dtype=object)
    holds = ~pd.isna(column).astype(bool)
    if rule.is_in is not None:
        allowed = set(rule.is_in)
        holds[holds] = [str(v) in allowed for v in column[holds]]
    if rule.below is not None:
        holds[holds] = [float(v) < rule.below for v in column[holds]]
    if rule.at_least is not None:
        holds[holds] = [float(v) >= rule.at_least for v in column[holds]]
    return holds


def _shown(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return f"{value:,.0f}"
    return str(value)


def _context_text(row: dict) -> str:
    # The readable summary (calendar description, CRM body): only what is known.
    def known(value) -> bool:
        return value is not None and not (not isinstance(value, str) and pd.isna(value)) \
            and value != ""

    lines = [f"Why now: {str(row['task_type']).replace('_', ' ')}"
             + (f" ({row['rule_id']})" if known(row.get("rule_id")) else "")]
    person = ", ".join(str(row[k]) for k in ("contact_name", "contact_role", "contact_email",
                                             "contact_phone") if known(row.get(k)))
    if person:
        lines.append(f"Call: {person}")
    if known(row.get("placement_note")):
        lines.append(f"Note: {row['placement_note']}")
    if row["talking_points"]:
        lines.append("Talking points:")
        lines += [f"- {p}" for p in row["talking_points"].split("\n")]
    if known(row.get("health_score")):
        health = f"Health: {row['health_score']:.0f} ({row['health_band']})"
        if known(row.get("score_delta_14d")) and round(row["score_delta_14d"]) != 0:
            health += f", {row['score_delta_14d']:+.0f} over 14 days"
        if known(row.get("weakest_components")):
            health += f"; weakest {row['weakest_components']}"
        lines.append(health)
    if known(row.get("renewal_date")):
        status = f", {row['renewal_status']}" if known(row.get("renewal_status")) else ""
        lines.append(f"Renewal: {row['renewal_date']} (in {row['days_to_renewal']} days"
                     f"{status})")
    if known(row.get("arr")):
        lines.append(f"ARR: {row['arr']:,.0f}")
    if known(row.get("open_tickets")):
        lines.append(f"Open tickets: {row['open_tickets']} (top {row['top_ticket_priority']})")
    if known(row.get("last_nps")):
        comment = f": \"{row['last_nps_comment']}\"" if known(row.get("last_nps_comment")) \
            else ""
        lines.append(f"Last NPS: {row['last_nps']}{comment}")
    if known(row.get("last_touches")):
        lines.append(f"Last touches: {row['last_touches']}")
    return "\n".join(lines)


def read_task_context(warehouse: Warehouse, policy: Policy, as_of: date) -> TaskContext:
    """The context of the plan date's tasks from the warehouse."""
    from cadence.candidates.inputs import HISTORY_DAYS, day_start

    params = {"as_of": as_of, "plan_date": as_of,
              "day_end": day_start(as_of + timedelta(days=1)),
              "since": day_start(as_of - timedelta(days=HISTORY_DAYS)),
              "plan_start": day_start(as_of), **policy.planner.human_channel_params()}

    def read(name: str) -> pd.DataFrame:
        sql = warehouse.render(f"csm_tasks/{name}.sql",
                               channels=policy.planner.human_channels)
        return warehouse.read_columns(sql, params)

    return TaskContext(
        accounts=read("accounts"), contacts=read("contacts"), csms=read("csms"),
        health=read("health"), latest_nps=read("latest_nps"), open_tickets=read("open_tickets"),
        usage=read("usage_trend"), recent_touches=read("recent_touches"),
        contact_days=read("contact_days"))


def task_crm(policy: Policy) -> str | None:
    """The CRM holding the accounts (for record URLs): where tasks are pushed, else the
    source of accounts when it is a CRM."""
    crm = policy.connectors.crm_tasks.crm
    if crm != "none":
        return crm
    source = policy.sources.entities.get("accounts", policy.sources.default)
    return source if source in ("hubspot", "salesforce") else None


def write_csm_task_lists(warehouse: Warehouse, policy: Policy, out_dir, as_of: date,
                         changed_at: datetime | None = None) -> dict:
    """Nightly task: the plan's human touches and escalations become ``csm_tasks``
    (partition plan_date); their meeting times go into the calendar; each owner's live
    feed and weekly CSVs are written under ``out_dir/csm_tasks`` (unless a later plan
    already owns the feed: a backfill). Returns counts for the task log and the demo."""
    from cadence.outputs.csm_task_files import (
        LATER_PLAN_OWNS,
        VERSIONS,
        feed_versions,
        write_feed_files,
    )

    params = {"plan_date": as_of, **policy.planner.human_channel_params()}
    human = warehouse.read_columns(warehouse.render(
        "csm_tasks/human_touches.sql", channels=policy.planner.human_channels), params)
    escalated = warehouse.read_columns(warehouse.render("csm_tasks/escalated_touches.sql"),
                                     {"plan_date": as_of})
    context = read_task_context(warehouse, policy, as_of)
    build = build_csm_tasks(human, escalated, context, policy, as_of, task_crm(policy))
    tasks = build.tasks
    stamp = changed_at or datetime.combine(as_of, datetime.min.time(), tzinfo=UTC)
    versions = feed_versions(warehouse, tasks, policy.csm_tasks, as_of, stamp)
    meeting_times = _meeting_times(human, build, as_of)
    # The files are made and saved on a second thread while this one only writes the
    # warehouse (the database and file creation work without holding the GIL). Either may
    # finish first: the versions are computed before both, so a rerun after a failure of
    # either writes the same rows and the same files.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="csm_task_files") as beside:
        made = None if versions is None else beside.submit(
            write_feed_files, versions, tasks, policy.csm_tasks, out_dir, as_of)
        _record_meeting_times(warehouse, meeting_times, as_of)
        warehouse.write_frame("csm_tasks", tasks, replace_where={"plan_date": as_of})
        if len(build.quarantine):
            warehouse.write_frame("quarantine",
                                  build.quarantine.assign(run_id=f"csm_tasks {as_of}"),
                                  replace_where={"as_of_date": as_of, "entity": "csms"})
        if versions is not None:
            warehouse.write_frame(VERSIONS, versions, replace_all=True)
        files = dict(LATER_PLAN_OWNS) if made is None else made.result()
    return {
        "plan_date": as_of.isoformat(),
        "tasks": len(tasks),
        "owners": int(tasks["csm_id"].nunique()),
        "without_owner": int(tasks["csm_id"].isna().sum()),
        "without_contact_name": int(tasks["contact_name"].isna().sum()),
        "outside_08_19_owner_time": outside_day(tasks),
        "outside_business_hours_noted": int((~tasks["within_hours"].astype(bool)).sum()),
        # calls of a person booked solid for two weeks, overlapping another (to reassign)
        "double_booked": int(tasks["placement_note"].fillna("").str.contains(
            DOUBLE_BOOKED, regex=False).sum()),
        "escalations": int((tasks["owner_type"] == "manager").sum()),
        "queued": int((tasks["owner_type"] == "queue").sum()),
        "no_human_tier_suppressed": len(build.suppressed),
        "quarantined_owner_ids": len(build.quarantine),
        **files,
    }


def task_summary(warehouse: Warehouse, as_of: date) -> dict[str, int]:
    """What a CS-ops lead checks on a plan's tasks (the demo prints it): how many, owners,
    tasks without an owner or a named contact, calls outside 08:00–19:00 of their owner
    (only where no overlap of business hours exists), calls outside both business hours."""
    tasks = warehouse.read_table("csm_tasks", {"plan_date": as_of})
    within = tasks["within_hours"].fillna(False).astype(bool)
    return {
        "tasks": len(tasks),
        "owners (CSMs, managers, queues)": int(tasks["csm_id"].nunique()),
        "escalations to a manager": int((tasks["owner_type"] == "manager").sum()),
        "tasks in a pooled queue": int((tasks["owner_type"] == "queue").sum()),
        "tasks without an owner": int(tasks["csm_id"].isna().sum()),
        "tasks without a contact name": int(tasks["contact_name"].isna().sum()),
        "calls outside 08:00-19:00 of the owner": outside_day(tasks),
        "  of them where an overlap exists": outside_day(tasks[within]),
        "calls outside both business hours (noted)": int((~within).sum()),
    }


def outside_day(tasks: pd.DataFrame, start_hour: int = 8, end_hour: int = 19) -> int:
    """Tasks of a person (CSM or manager) not between ``start_hour`` and ``end_hour`` of
    their own day."""
    people = tasks[tasks["owner_type"] != "queue"]
    local = wall_clock(people["starts_at"], people["task_zone"])
    end = local + pd.to_timedelta(people["minutes"].astype("int64"), unit="min")
    inside = (local.dt.hour >= start_hour) & (end.dt.normalize() == local.dt.normalize()) \
        & (end.dt.hour * 60 + end.dt.minute <= end_hour * 60)
    return int((~inside).sum())


def _meeting_times(human: pd.DataFrame, build: TaskBuild, as_of: date) -> pd.DataFrame:
    # The placed times and the no-human-tier suppressions (csm_meeting_times rows).
    placed = build.tasks[build.tasks["touch_id"].isin(human["touch_id"])]
    planned = human.set_index("touch_id")["planned_day"]
    zones = _contact_zones(placed, human)
    frame = pd.DataFrame({
        "plan_date": as_of, "touch_id": placed["touch_id"].to_numpy(),
        "planned_day": placed["touch_id"].map(planned).to_numpy(),
        "scheduled_at": placed["starts_at"].to_numpy(),
        "local_send_at": wall_clock(placed["starts_at"], zones).to_numpy(),
        "status": "scheduled",
        "reason": ["CSM call " + ("in both business hours" if inside else "outside business"
                                  " hours: " + str(note))
                   for inside, note in zip(placed["within_hours"], placed["placement_note"],
                                           strict=True)]})
    gone = human[human["touch_id"].isin(build.suppressed["touch_id"])]
    if len(gone):
        frame = pd.concat([frame, pd.DataFrame({
            "plan_date": as_of, "touch_id": gone["touch_id"].to_numpy(),
            "planned_day": gone["planned_day"].to_numpy(),
            "scheduled_at": pd.to_datetime(gone["scheduled_at"], utc=True).to_numpy(),
            "local_send_at": pd.NaT, "status": "cancelled",
            "reason": gone["touch_id"].map(build.suppressed.set_index("touch_id")["reason"])
            .to_numpy()})], ignore_index=True)
    frame["scheduled_at"] = pd.to_datetime(frame["scheduled_at"], utc=True)
    frame["local_send_at"] = pd.to_datetime(frame["local_send_at"])
    frame["planned_day"] = pd.to_datetime(frame["planned_day"]).dt.date
    return frame[list(MEETING_TIMES)]


def _record_meeting_times(warehouse: Warehouse, meeting_times: pd.DataFrame, as_of: date
                          ) -> None:
    # Written to csm_meeting_times and applied to the calendar and the decisions.
    warehouse.write_frame("csm_meeting_times", meeting_times, replace_where={"plan_date": as_of})
    warehouse.execute(warehouse.render("csm_tasks/apply_meeting_times.sql"),
                      {"plan_date": as_of, "rule": SUPPRESSED_RULE})


def _contact_zones(placed: pd.DataFrame, human: pd.DataFrame) -> list[str]:
    zones = placed["touch_id"].map(human.set_index("touch_id")["timezone"])
    return [z if isinstance(z, str) and z else "UTC" for z in zones]
