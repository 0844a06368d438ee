"""CSM task lists (DESIGN §9.6): the scheduled human touches of a plan (calls, meetings)
become tasks with a few readable lines of context, written to ``csm_tasks`` and, per CSM
and due day, as a CSV and an iCalendar file."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pandas as pd
from icalendar import Calendar, Event

from cadence.touches import CSM_TASKS, ensure_planning_tables
from cadence.warehouse import Warehouse

if TYPE_CHECKING:
    from cadence.policy import Policy

UNASSIGNED = "unassigned"  # folder of human touches whose account has no CSM
# What makes a spreadsheet read a CSV cell as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LIST_COLUMNS = ["due_date", "starts_at", "account_name", "account_id", "contact_id",
                "task_type", "priority", "context", "task_id", "touch_id"]


@dataclass(frozen=True)
class TaskContext:
    """What a task's context lines are made of: accounts (name, arr, renewal_date,
    renewal_status, timezone), csms (csm_id, name, timezone), health at the plan date
    (score, band, score_delta_14d), open tickets (account_id, priority) and recent sent
    touches (account_id, channel, template_id, scheduled_at)."""

    accounts: pd.DataFrame
    csms: pd.DataFrame
    health: pd.DataFrame
    open_tickets: pd.DataFrame
    recent_touches: pd.DataFrame


def build_csm_tasks(calendar: pd.DataFrame, context: TaskContext, policy: Policy,
                    as_of: date) -> pd.DataFrame:
    """One task per scheduled human touch (channel call or meeting) of ``calendar``: the
    ``csm_tasks`` columns plus, for the lists, ``account_name``, ``starts_at`` (in the
    CSM's timezone, else the account's, else UTC) and ``minutes`` (calendar block).
    Sorted by CSM, start and task_id."""
    rules = policy.candidates.csm_tasks
    human = calendar[(calendar["status"] == "scheduled")
                     & calendar["channel"].isin(["call", "meeting"])].copy()
    task_types = policy.candidates.task_types()
    human["task_type"] = human["rule_id"].map(task_types).fillna(rules.default_task_type)
    accounts = context.accounts.rename(columns={"name": "account_name",
                                                "timezone": "account_timezone"})
    csms = context.csms[["csm_id", "timezone"]].rename(columns={"timezone": "csm_timezone"})
    tasks = (human.merge(accounts[["account_id", "account_name", "account_timezone", "arr",
                                   "renewal_date", "renewal_status"]], on="account_id",
                         how="left")
             .merge(csms, on="csm_id", how="left"))
    zone = tasks["csm_timezone"].fillna(tasks["account_timezone"]).fillna("UTC")
    scheduled = pd.to_datetime(tasks["scheduled_at"], utc=True)
    tasks["starts_at"] = [ts.astimezone(ZoneInfo(z)) for ts, z in zip(scheduled, zone,
                                                                        strict=True)]
    tasks["due_date"] = [ts.date() for ts in tasks["starts_at"]]
    tasks["context"] = context_lines(tasks, context, policy, as_of)
    tasks["task_id"] = "task_" + tasks["touch_id"].str.removeprefix("t_")
    tasks["plan_date"] = as_of
    tasks["status"] = "open"
    tasks["minutes"] = tasks["task_type"].map(rules.minutes).fillna(rules.default_minutes)
    tasks["priority"] = tasks["priority"].astype("int64")
    tasks = tasks.sort_values(["csm_id", "starts_at", "task_id"], na_position="last")
    return tasks[[*CSM_TASKS, "account_name", "starts_at", "minutes"]].reset_index(drop=True)


def context_lines(tasks: pd.DataFrame, context: TaskContext, policy: Policy,
                  as_of: date) -> pd.Series:
    """A few readable lines per task: why now, health and its 14-day trend, renewal, ARR,
    open tickets and the last touches. No names or email addresses."""
    health = context.health.set_index("account_id")
    tickets = context.open_tickets.groupby("account_id")["priority"].agg(
        total="size", urgent=lambda p: int(p.isin(["p1", "p2"]).sum()))
    recent = context.recent_touches.sort_values("scheduled_at", ascending=False)
    recent = recent.groupby("account_id").head(policy.candidates.csm_tasks.last_touches)
    recent_lines = recent.groupby("account_id").apply(
        lambda g: "; ".join(f"{pd.Timestamp(t).date()} {c} {tpl}" for t, c, tpl in
                            zip(g["scheduled_at"], g["channel"], g["template_id"],
                                strict=True)),
        include_groups=False) if len(recent) else pd.Series(dtype=object)
    lines = []
    for task in tasks.itertuples(index=False):  # one per human touch: thousands, not millions
        renewal = pd.Timestamp(task.renewal_date) if pd.notna(task.renewal_date) else None
        parts = [f"Why now: {task.task_type.replace('_', ' ')} ({task.rule_id})"]
        if task.account_id in health.index:
            h = health.loc[task.account_id]
            parts.append(f"Health: {h['score']:.0f} ({h['band']}),"
                         f" {h['score_delta_14d']:+.0f} over 14 days")
        if renewal is not None:
            days = (renewal.date() - as_of).days
            parts.append(f"Renewal: {renewal.date()} (in {days} days, {task.renewal_status})")
        if pd.notna(task.arr):
            parts.append(f"ARR: {task.arr:,.0f}")
        if task.account_id in tickets.index:
            t = tickets.loc[task.account_id]
            parts.append(f"Open tickets: {t['total']} ({t['urgent']} P1/P2)")
        else:
            parts.append("Open tickets: none")
        parts.append(f"Last touches: {recent_lines.get(task.account_id, 'none')}")
        lines.append("\n".join(parts))
    return pd.Series(lines, index=tasks.index, dtype=object)


def spreadsheet_safe(value):
    """A text cell a spreadsheet shows as text: one that would start a formula (an account
    or contact name from the CRM like ``=HYPERLINK(...)``) gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csm_lists(tasks: pd.DataFrame, csms: pd.DataFrame, out_dir: str | Path,
                    as_of: date) -> list[Path]:
    """Per CSM and due day, ``<due_date>.csv`` and ``<due_date>.ics`` under
    ``out_dir/csm_tasks/<as_of>/<csm_id>/``; each CSM's files hold only their own tasks.
    The plan date's folder is replaced, so a rerun leaves no stale or duplicate files."""
    root = Path(out_dir) / "csm_tasks" / as_of.isoformat()
    if root.exists():
        shutil.rmtree(root)
    names = dict(zip(csms["csm_id"], csms["name"], strict=True))
    written: list[Path] = []
    owner = tasks["csm_id"].fillna(UNASSIGNED)
    for (csm_id, due), day in tasks.groupby([owner, "due_date"], sort=True):
        folder = root / csm_id
        folder.mkdir(parents=True, exist_ok=True)
        csv_path = folder / f"{due}.csv"
        listing = day.assign(starts_at=[ts.strftime("%Y-%m-%d %H:%M %Z")
                                        for ts in day["starts_at"]])
        listing[LIST_COLUMNS].map(spreadsheet_safe).to_csv(csv_path, index=False)
        ics_path = folder / f"{due}.ics"
        ics_path.write_bytes(_calendar(day, names.get(csm_id, csm_id), as_of).to_ical())
        written += [csv_path, ics_path]
    return written


def _calendar(day: pd.DataFrame, owner: str, as_of: date) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", "-//cadence//csm tasks//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"cadence tasks {owner}")
    stamp = datetime.combine(as_of, time(0), tzinfo=UTC)  # the plan, not the wall clock
    for task in day.itertuples(index=False):
        event = Event()
        event.add("uid", task.task_id)
        event.add("dtstamp", stamp)
        event.add("dtstart", task.starts_at)
        event.add("duration", timedelta(minutes=int(task.minutes)))
        event.add("summary", f"{task.task_type.replace('_', ' ').capitalize()}:"
                             f" {task.account_name}")
        event.add("description", task.context)
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar


def read_task_context(warehouse: Warehouse, as_of: date) -> TaskContext:
    """The context of the plan date's tasks from the warehouse."""
    from cadence.candidates.inputs import HISTORY_DAYS, day_start

    params = {"as_of": as_of, "day_end": day_start(as_of + timedelta(days=1)),
              "since": day_start(as_of - timedelta(days=HISTORY_DAYS)),
              "plan_start": day_start(as_of)}

    def read(path: str) -> pd.DataFrame:
        return warehouse.read_frame(warehouse.render(path), params)

    return TaskContext(
        accounts=read("candidates/accounts.sql"),
        csms=read("candidates/csms.sql"),
        health=read("candidates/health.sql"),
        open_tickets=read("candidates/open_tickets.sql"),
        recent_touches=read("csm_tasks/recent_touches.sql"),
    )


def write_csm_task_lists(warehouse: Warehouse, policy: Policy, out_dir: str | Path,
                         as_of: date) -> dict:
    """Nightly task: the plan's scheduled human touches become ``csm_tasks`` (partition
    plan_date) and per-CSM CSV + iCalendar lists under ``out_dir``. Returns counts."""
    ensure_planning_tables(warehouse)
    calendar = warehouse.read_frame(warehouse.render("csm_tasks/human_touches.sql"),
                                    {"plan_date": as_of}).assign(status="scheduled")
    context = read_task_context(warehouse, as_of)
    tasks = build_csm_tasks(calendar, context, policy, as_of)
    warehouse.write_frame("csm_tasks", tasks[list(CSM_TASKS)], replace_where={"plan_date": as_of})
    files = write_csm_lists(tasks, context.csms, out_dir, as_of)
    return {
        "plan_date": as_of.isoformat(),
        "tasks": len(tasks),
        "csms": int(tasks["csm_id"].nunique()),
        "unassigned": int(tasks["csm_id"].isna().sum()),
        "files": len(files),
    }
