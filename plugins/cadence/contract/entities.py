"""The source contract of DESIGN §4: every entity, its columns and the rules they obey.

One declaration feeds the files source (required columns), the sample generator, the
Great Expectations suites (types, value sets, ranges, formats, references) and the raw
tables. Identifiers are strings; timestamps are ISO-8601 with offset or UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Literal
from zoneinfo import available_timezones

Kind = Literal["id", "text", "email", "date", "timestamp", "number", "integer", "bool", "timezone",
               "country", "json"]


@dataclass(frozen=True)
class Column:
    """One column of a source entity and the rules a value must obey."""

    name: str
    kind: Kind = "text"
    required: bool = False
    values: tuple[str, ...] | None = None  # allowed values (case-sensitive)
    min: float | None = None
    max: float | None = None
    references: str | None = None  # "entity.column" the value must exist in


@dataclass(frozen=True)
class Entity:
    """A source entity: the raw table ``raw_<name>`` and the file(s) ``<name>.csv``."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # unique key; empty when rows have no natural key
    # At least one of these must be present (suppressions: email or contact_id).
    one_of: tuple[str, ...] = ()
    notes: str = field(default="", compare=False)

    @property
    def required(self) -> list[str]:
        """Columns that must exist in the file and be non-empty in every row."""
        return [c.name for c in self.columns if c.required]

    @property
    def column_names(self) -> list[str]:
        """All contract columns in declaration order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        return next(c for c in self.columns if c.name == name)


def _c(name: str, kind: Kind = "text", required: bool = False, **rules) -> Column:
    return Column(name=name, kind=kind, required=required, **rules)


CATEGORIES = ("educational", "relationship", "promotional", "operational")
CHANNELS = ("email", "in_app", "sms", "call", "meeting")
TEAMS = ("marketing", "sales", "support", "cs", "product", "leadership")
MESSAGE_TYPES = ("transactional", "educational", "relationship", "promotional", "operational")

ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in [
        Entity(
            "accounts",
            (
                _c("account_id", "id", True),
                _c("name", "text", True),
                _c("industry"),
                _c("country", "country"),
                _c("timezone", "timezone"),
                _c("arr", "number", True, min=0),
                _c("plan"),
                _c("csm_id", "id", references="csms.csm_id"),
                _c("contract_start", "date", True),
                _c("renewal_date", "date", True),
                _c("seats_purchased", "integer", min=0),
                _c("status", "text", True, values=("active", "trial", "churned")),
                _c("renewal_status", values=("open", "committed", "renewed", "lost")),
                _c("updated_at", "timestamp", True),
            ),
            key=("account_id",),
        ),
        Entity(
            "contacts",
            (
                _c("contact_id", "id", True),
                _c("account_id", "id", True, references="accounts.account_id"),
                _c("email", "email", True),
                _c("first_name"),
                _c("last_name"),
                _c("role", values=("admin", "champion", "executive", "user", "billing")),
                _c("locale"),
                _c("timezone", "timezone"),
                _c("is_primary", "bool"),
                _c("phone"),
                _c("updated_at", "timestamp", True),
            ),
            key=("contact_id",),
        ),
        Entity(
            "usage_daily",
            (
                _c("account_id", "id", True, references="accounts.account_id"),
                _c("usage_date", "date", True),
                _c("active_users", "integer", True, min=0),
                _c("logins", "integer", min=0),
                _c("events", "integer", min=0),
                _c("feature"),
                _c("seats_used", "integer", min=0),
            ),
            key=("account_id", "usage_date", "feature"),
        ),
        Entity(
            "support_tickets",
            (
                _c("ticket_id", "id", True),
                _c("account_id", "id", True, references="accounts.account_id"),
                _c("contact_id", "id", references="contacts.contact_id"),
                _c("opened_at", "timestamp", True),
                _c("closed_at", "timestamp"),
                _c("priority", values=("p1", "p2", "p3", "p4")),
                _c("status", values=("open", "pending", "closed")),
                _c("csat", "integer", min=1, max=5),
            ),
            key=("ticket_id",),
        ),
        Entity(
            "nps_responses",
            (
                _c("response_id", "id", True),
                _c("contact_id", "id", True, references="contacts.contact_id"),
                _c("score", "integer", True, min=0, max=10),
                _c("responded_at", "timestamp", True),
                _c("comment"),
            ),
            key=("response_id",),
        ),
        Entity(
            "preferences",
            (
                _c("contact_id", "id", True, references="contacts.contact_id"),
                _c("category", "text", True, values=CATEGORIES),
                _c("channel", "text", True, values=("email", "in_app", "sms", "call")),
                _c(
                    "frequency",
                    "text",
                    True,
                    values=("as_sent", "weekly", "biweekly", "monthly", "quarterly", "never"),
                ),
                _c("updated_at", "timestamp", True),
            ),
            key=("contact_id", "category", "channel"),
        ),
        Entity(
            "suppressions",
            (
                _c("email", "email"),
                _c("contact_id", "id"),
                _c(
                    "reason",
                    "text",
                    True,
                    values=("unsubscribe", "bounce", "spam_report", "erasure", "do_not_contact"),
                ),
                _c("scope", values=("all", "marketing", "email")),
                _c("created_at", "timestamp", True),
            ),
            one_of=("email", "contact_id"),
        ),
        Entity(
            "campaigns",
            (
                _c("campaign_id", "id", True),
                _c("team", "text", True, values=TEAMS),
                _c("message_type", "text", True, values=MESSAGE_TYPES),
                _c("channel", "text", True, values=CHANNELS),
                _c("template_id", "text", True),
                _c("audience", "text", True),
                _c("window_start", "timestamp", True),
                _c("window_end", "timestamp", True),
                _c("intent"),
                _c("priority", "integer"),
                _c("event_at", "timestamp"),
                _c("approved", "bool"),
            ),
            key=("campaign_id",),
        ),
        Entity(
            "csms",
            (
                _c("csm_id", "id", True),
                _c("name", "text", True),
                _c("email", "email", True),
                _c("timezone", "timezone"),
                _c("weekly_capacity", "integer", min=0),
                # A csm_id; escalations go there. Not a checked reference: csms validate as
                # one entity, and an unknown manager routes to policy's escalation queue.
                _c("manager_id", "id"),
            ),
            key=("csm_id",),
        ),
        Entity(
            "engagement_events",
            (
                _c("provider", "text", True),
                _c("provider_message_id", "text", True),
                _c("touch_id"),
                _c(
                    "event",
                    "text",
                    True,
                    values=("delivered", "open", "click", "bounce", "unsubscribe", "spam_report"),
                ),
                _c("occurred_at", "timestamp", True),
            ),
        ),
    ]
}

# Load and validation order: referenced entities first.
ENTITY_ORDER: tuple[str, ...] = (
    "csms",
    "accounts",
    "contacts",
    "usage_daily",
    "support_tickets",
    "nps_responses",
    "preferences",
    "suppressions",
    "campaigns",
    "engagement_events",
)


@cache
def iana_timezones() -> frozenset[str]:
    """Every IANA zone name this Python knows."""
    return frozenset(available_timezones())
