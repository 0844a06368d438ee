"""The data candidates are generated from, read from the warehouse marts in one place.

:class:`CandidateInputs` is plain DataFrames so the domain functions are testable with
small hand-made frames; :func:`read_candidate_inputs` is the warehouse side.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd

from cadence.contract.errors import RetryCannotHelp
from cadence.contract.warehouse import Warehouse

SQL = "candidates/{}.sql"
HISTORY_DAYS = 120  # longer than the longest cooldown (promoter asks: 90 days)

# Columns each frame must have and the type the domain functions expect.
COLUMNS: dict[str, dict[str, str]] = {
    "accounts": {"account_id": "str", "name": "str", "industry": "str", "country": "str",
                 "timezone": "str", "arr": "float", "plan": "str", "csm_id": "str",
                 "contract_start": "date",
                 "renewal_date": "date", "seats_purchased": "float", "status": "str",
                 "renewal_status": "str"},
    "contacts": {"contact_id": "str", "account_id": "str", "first_name": "str", "role": "str",
                 "timezone": "str", "is_primary": "bool"},
    "health": {"account_id": "str", "score": "float", "band": "str",
               "score_delta_14d": "float"},
    "segments": {"account_id": "str", "segment_type": "str", "segment_key": "str",
                 "valid_from": "date"},
    "usage": {"account_id": "str", "active_users": "float", "seats_used": "float",
              "logins": "float"},
    "campaigns": {"campaign_id": "str", "team": "str", "message_type": "str", "channel": "str",
                  "template_id": "str", "audience": "str", "window_start": "timestamp",
                  "window_end": "timestamp", "intent": "str", "priority": "float",
                  "event_at": "timestamp", "approved": "bool"},
    "csms": {"csm_id": "str", "name": "str", "timezone": "str", "weekly_capacity": "float"},
    "open_tickets": {"ticket_id": "str", "account_id": "str", "contact_id": "str",
                     "priority": "str", "opened_at": "timestamp"},
    "latest_nps": {"contact_id": "str", "score": "float", "responded_at": "timestamp"},
    "history": {"touch_id": "str", "contact_id": "str", "account_id": "str", "rule_id": "str",
                "intent": "str", "channel": "str", "scheduled_at": "timestamp",
                "status": "str"},
    "fading_contacts": {"contact_id": "str"},
    "recent_tickets": {"ticket_id": "str", "account_id": "str", "contact_id": "str",
                       "opened_at": "timestamp", "closed_at": "timestamp"},
    "onboarding_usage": {"account_id": "str", "usage_date": "date", "feature": "str",
                         "logins": "float", "events": "float", "active_users": "float"},
    "champion_changes": {"changed_on": "date", "account_id": "str",
                         "previous_contact_id": "str", "previous_role": "str",
                         "new_contact_id": "str", "new_role": "str", "kind": "str"},
}


# Columns that must be present and non-empty in every row.
REQUIRED: dict[str, tuple[str, ...]] = {
    "accounts": ("account_id", "contract_start", "renewal_date", "status"),
    "contacts": ("contact_id", "account_id"),
    "health": ("account_id",),
    "segments": ("account_id", "segment_type", "segment_key", "valid_from"),
    "usage": ("account_id",),
    "campaigns": ("campaign_id", "team", "message_type", "channel", "template_id",
                  "window_start", "window_end"),
    "csms": ("csm_id",),
    "open_tickets": ("account_id",),
    "latest_nps": ("contact_id", "score", "responded_at"),
    "history": ("touch_id", "contact_id", "status"),
    "fading_contacts": ("contact_id",),
    "recent_tickets": ("account_id", "opened_at"),
    "champion_changes": ("changed_on", "account_id", "new_contact_id", "kind"),
    "onboarding_usage": ("account_id", "usage_date"),
}


@dataclass(frozen=True)
class CandidateInputs:
    """Everything candidates depend on, as of one plan date.

    ``segments`` holds the segment keys current at the plan date (with ``valid_from``,
    which anchors signal-triggered touches); ``usage`` is the 30-day summary per account
    (max active users, max seats used, sum of logins); ``history`` the touches already
    planned or sent; ``fading_contacts`` the contacts the hourly engagement run flagged
    for a lighter cadence (their recent emails went unopened); ``recent_tickets`` the
    tickets open, opened or closed in the ``HISTORY_DAYS`` before the plan date;
    ``champion_changes`` the key-contact changes seen in those days;
    ``onboarding_usage`` the daily usage rows of accounts that started in those days.
    """

    accounts: pd.DataFrame
    contacts: pd.DataFrame
    health: pd.DataFrame
    segments: pd.DataFrame
    usage: pd.DataFrame
    campaigns: pd.DataFrame
    csms: pd.DataFrame
    open_tickets: pd.DataFrame
    latest_nps: pd.DataFrame
    history: pd.DataFrame
    fading_contacts: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["contact_id"]))
    recent_tickets: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(COLUMNS["recent_tickets"])))
    champion_changes: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(COLUMNS["champion_changes"])))
    onboarding_usage: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(COLUMNS["onboarding_usage"])))

    def normalized(self) -> CandidateInputs:
        """The same inputs with the expected columns and types (dates as midnight
        timestamps, timestamps in UTC; missing optional columns become nulls). A missing
        required column, an empty required value or a value of the wrong type raises
        :class:`InputError` naming the frame, row and column."""
        return replace(self, **{f.name: _conform(f.name, getattr(self, f.name))
                                for f in fields(self)})

    def of_accounts(self, account_ids: pd.Series) -> CandidateInputs:
        """The inputs of these accounts only (rows of their accounts, or of their contacts
        where a frame names no account); campaigns and CSMs stay whole. Candidates are
        generated account by account, so an account's candidates are the same from
        these."""
        accounts = set(account_ids)
        contacts = set(self.contacts.loc[self.contacts["account_id"].isin(accounts),
                                         "contact_id"])

        def mine(name: str, frame: pd.DataFrame) -> pd.DataFrame:
            if name in ("campaigns", "csms"):
                return frame
            if "account_id" in frame.columns:
                return frame[frame["account_id"].isin(accounts)]
            return frame[frame["contact_id"].isin(contacts)]

        return replace(self, **{f.name: mine(f.name, getattr(self, f.name))
                                for f in fields(self)})

class InputError(RetryCannotHelp, ValueError):
    """An input frame breaks its contract; the message names frame, row and column."""


def _conform(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    for column in REQUIRED[name]:
        if column not in frame.columns:
            raise InputError(f"{name}: required column {column} is missing")
        _check(name, frame, column, frame[column].isna(), "is empty (required)")
    for column, kind in COLUMNS[name].items():
        values = frame[column] if column in frame.columns else pd.Series(None, index=frame.index,
                                                                          dtype=object)
        if kind == "date":
            parsed = pd.to_datetime(values, errors="coerce")
            if isinstance(parsed.dtype, pd.DatetimeTZDtype):
                parsed = parsed.dt.tz_localize(None)
            parsed = parsed.astype("datetime64[ns]").dt.normalize()
        elif kind == "timestamp":
            parsed = pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce")
        elif kind == "float":
            parsed = pd.to_numeric(values, errors="coerce").astype("float64")
        elif kind == "bool":
            # Typed booleans from the marts pass as they are; text from hand-made frames
            # ("true", "1") and nulls (false) are converted.
            parsed = values.fillna(False).astype(bool) \
                if pd.api.types.is_bool_dtype(values) else values.map(_truthy).astype(bool)
        else:
            parsed = values.astype(object).where(values.notna(), None)
        if kind in ("date", "timestamp", "float"):
            _check(name, frame, column, parsed.isna() & values.notna(), f"is not a {kind}")
        frame[column] = parsed
    return frame


def _check(name: str, frame: pd.DataFrame, column: str, bad: pd.Series, problem: str) -> None:
    if bad.any():
        row = int(bad.to_numpy().argmax())
        key = frame.columns[0]
        raise InputError(f"{name} row {row} ({key}={frame[key].iloc[row]!r}): {column}"
                         f" {frame[column].iloc[row]!r} {problem}")


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "t", "1", "yes", "y"}
    return bool(value) if value is not None and not pd.isna(value) else False


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of ``day``."""
    return datetime.combine(day, time(0), tzinfo=UTC)


def read_candidate_inputs(warehouse: Warehouse, as_of: date) -> CandidateInputs:
    """Read every input of :func:`generate_candidates` for plan date ``as_of``."""
    params = {
        "as_of": as_of,
        "since": as_of - timedelta(days=30),
        "day_end": day_start(as_of + timedelta(days=1)),
    }
    # The HISTORY_DAYS window: from its first instant (timestamp columns) or day (dates).
    first_day = as_of - timedelta(days=HISTORY_DAYS)
    history_params = {"as_of": as_of, "since": day_start(first_day)}
    day_params = {"as_of": as_of, "since": first_day}

    def read(name: str, query_params: dict | None = None) -> pd.DataFrame:
        # Columns, not rows: the usage and history frames are millions of rows at 100,000
        # accounts; :meth:`CandidateInputs.normalized` gives both readings the same types.
        return warehouse.read_columns(warehouse.render(SQL.format(name)),
                                      query_params or params)

    return CandidateInputs(
        accounts=read("accounts"),
        contacts=read("contacts"),
        health=read("health"),
        segments=read("segments"),
        usage=read("usage_summary"),
        campaigns=read("campaigns"),
        csms=read("csms"),
        open_tickets=read("open_tickets"),
        latest_nps=read("latest_nps"),
        history=read("history", history_params),
        recent_tickets=read("recent_tickets", {"since": history_params["since"],
                                               "day_end": params["day_end"]}),
        onboarding_usage=read("onboarding_usage", day_params),
        champion_changes=read("champion_changes", day_params)
        if warehouse.table_exists("champion_changes")
        else pd.DataFrame(columns=list(COLUMNS["champion_changes"])),
        # engagement_flags exists once the hourly run has computed engagement
        fading_contacts=read("fading_contacts")
        if warehouse.table_exists("engagement_flags")
        else pd.DataFrame(columns=["contact_id"]),
    )
