"""What the planner reads besides the candidates: the :class:`PlanningContext`, and how the
Airflow glue fills it from the warehouse for one shard of accounts."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd

from cadence.contract.warehouse import Warehouse
from cadence.planner.membership import is_in, strictly_increasing

COLUMNS: dict[str, list[str]] = {
    "history": ["touch_id", "contact_id", "account_id", "channel", "message_type", "category",
                "template_id", "scheduled_at", "status"],
    "contacts": ["contact_id", "account_id", "email", "timezone", "has_phone"],
    "accounts": ["account_id", "country", "timezone", "arr", "status", "csm_id", "tier"],
    "preferences": ["contact_id", "category", "channel", "frequency"],
    "suppressions": ["email", "contact_id", "reason", "scope"],
    "segments": ["account_id", "segment_key"],
    "tickets": ["ticket_id", "account_id", "priority", "status", "closed_at", "csat"],
    "csms": ["csm_id", "weekly_capacity", "timezone"],
}


def _empty(name: str):
    return field(default_factory=lambda: pd.DataFrame(columns=COLUMNS[name]))


@dataclass
class PlanningContext:
    """Facts the rules need. History holds touches already sent or scheduled (sent ones
    count toward caps and are never moved); segments are the accounts' current keys;
    tickets the open and recently closed ones; announcement_days extra major product
    announcement dates besides the policy's."""

    history: pd.DataFrame = _empty("history")
    contacts: pd.DataFrame = _empty("contacts")
    accounts: pd.DataFrame = _empty("accounts")
    preferences: pd.DataFrame = _empty("preferences")
    suppressions: pd.DataFrame = _empty("suppressions")
    segments: pd.DataFrame = _empty("segments")
    tickets: pd.DataFrame = _empty("tickets")
    csms: pd.DataFrame = _empty("csms")
    announcement_days: list[date] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Optional columns a source may lack are added empty, so rules never KeyError.
        for item in fields(self):
            frame = getattr(self, item.name)
            if isinstance(frame, pd.DataFrame):
                missing = [c for c in COLUMNS[item.name] if c not in frame.columns]
                if missing:
                    frame = frame.copy()
                    for column in missing:
                        frame[column] = None
                    setattr(self, item.name, frame)


SQL = {
    "history": "planner/history.sql",
    "contacts": "planner/contacts.sql",
    "accounts": "planner/accounts.sql",
    "preferences": "planner/preferences.sql",
    "suppressions": "planner/suppressions.sql",
    "segments": "planner/segments.sql",
    "tickets": "planner/tickets.sql",
    "csms": "planner/csms.sql",
}


def read_context(warehouse: Warehouse, as_of: date, account_ids: set[str],
                 horizon_days: int, shard: int | None = None) -> PlanningContext:
    """The planning context of the given accounts at ``as_of`` from the warehouse; with
    ``shard``, the warehouse reads only that shard's accounts (``plan_accounts``)."""
    day_start = datetime.combine(as_of, time(), tzinfo=UTC)
    params = {
        "as_of": as_of,
        "since": day_start - timedelta(days=91),  # the longest rolling window any rule counts
        "until": day_start + timedelta(days=horizon_days + 31),
        "day_end": day_start + timedelta(days=1),
        "shard": shard,
    }
    flags = {"in_shard": shard is not None}
    frames = {}
    for name, path in SQL.items():
        frame = warehouse.read_columns(warehouse.render(path, **flags), params)
        if "account_id" in frame.columns:
            frame = frame[is_in(frame["account_id"], account_ids)]
        frames[name] = frame.reset_index(drop=True)
    history = frames["history"]
    # A touch's first row by schedule; history with increasing (so unique) ids is kept
    # as it is, without sorting strings.
    if not strictly_increasing(history["touch_id"]):
        history = history.sort_values(["touch_id", "scheduled_at"], kind="stable")
        history = history.drop_duplicates("touch_id").reset_index(drop=True)
    frames["history"] = history
    in_accounts = frames["contacts"]["contact_id"]
    for name in ("preferences", "suppressions"):
        frame = frames[name]
        # Suppressions by email alone are kept: they match contacts by address.
        keep = is_in(frame["contact_id"], in_accounts) | frame["contact_id"].isna().to_numpy()
        frames[name] = frame[keep].reset_index(drop=True)
    return PlanningContext(**frames)
