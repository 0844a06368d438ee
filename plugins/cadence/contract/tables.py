"""Touches: the columns of the planning tables (DESIGN §5) and deterministic touch ids.

Shared by candidates, the planner, CSM tasks and the hourly handoff so every part reads
and writes the same shapes. The warehouse tables are created empty with these types so
SQL models and the hourly DAG can read them before the first plan exists.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime

from cadence.contract.warehouse import Warehouse

# column -> portable SQL type
TOUCH_CANDIDATES: dict[str, str] = {
    "touch_id": "text",
    "plan_date": "date",  # the logical date whose plan produced the candidate (partition)
    "contact_id": "text",
    "account_id": "text",
    "csm_id": "text",
    "team": "text",
    "message_type": "text",  # transactional, educational, relationship, promotional, operational
    "category": "text",  # preference category: educational, relationship, promotional, operational
    "channel": "text",  # email, in_app, sms, call, meeting
    "template_id": "text",
    "intent": "text",
    "source": "text",  # cadence, lifecycle, renewal, trigger, campaign
    "rule_id": "text",
    "earliest_at": "timestamp with time zone",
    "latest_at": "timestamp with time zone",
    "priority": "bigint",  # larger wins (DESIGN §8 rule 10 order mapped to numbers)
    "urgent": "boolean",  # may go on weekends/holidays
    "payload": "text",  # personalization JSON
    "hold": "text",  # why the planner must hold it (e.g. awaiting approval); empty otherwise
    "note": "text",  # what candidate policy changed (a season moved it); starts its decision
}

COMMUNICATION_CALENDAR: dict[str, str] = {
    "touch_id": "text",
    "plan_date": "date",
    "contact_id": "text",
    "account_id": "text",
    "csm_id": "text",
    "team": "text",
    "message_type": "text",
    "category": "text",
    "channel": "text",
    "template_id": "text",
    "intent": "text",
    "source": "text",
    "rule_id": "text",
    "scheduled_at": "timestamp with time zone",  # UTC
    "local_send_at": "timestamp",  # wall clock in the contact's zone, no zone
    "timezone": "text",
    "status": "text",  # scheduled, sent, cancelled, failed, unknown, deferred, dropped, suppressed
    "reason": "text",
    "priority": "bigint",
    "payload": "text",
    "batch_id": "text",
    "provider_message_id": "text",
    "updated_at": "timestamp with time zone",
    "shard": "bigint",  # planner shard (accounts hashed) whose task wrote the row
}

CALENDAR_DECISIONS: dict[str, str] = {
    "touch_id": "text",
    "plan_date": "date",
    "contact_id": "text",
    "account_id": "text",
    "decision": "text",  # scheduled, deferred, merged, suppressed, dropped, escalated, held
    "rule": "text",  # e.g. "4.frequency_cap"
    "detail": "text",  # human-readable why
    "decided_at": "timestamp with time zone",
    "shard": "bigint",  # planner shard whose task decided
}

CSM_TASKS: dict[str, str] = {
    "task_id": "text",
    "plan_date": "date",
    "touch_id": "text",
    "csm_id": "text",  # the owner: the account's CSM, their manager, or a pooled queue
    "owner_type": "text",  # csm, manager, queue
    "owner_name": "text",
    "owner_email": "text",
    "account_csm_id": "text",
    "account_id": "text",
    "account_name": "text",
    "contact_id": "text",
    "contact_name": "text",
    "contact_email": "text",
    "contact_role": "text",
    "contact_phone": "text",
    "due_date": "date",  # in the owner's zone
    "starts_at": "timestamp with time zone",
    "minutes": "bigint",
    "task_zone": "text",  # the owner's zone (the contact's for a queue without one)
    "within_hours": "boolean",  # inside both parties' business hours and days
    "placement_note": "text",
    "task_type": "text",
    "priority": "bigint",
    "status": "text",
    "talking_points": "text",  # one a line
    "health_score": "double precision",
    "health_band": "text",
    "weakest_components": "text",
    "score_delta_14d": "double precision",
    "renewal_date": "date",
    "days_to_renewal": "bigint",
    "renewal_status": "text",
    "arr": "double precision",
    "open_tickets": "bigint",
    "urgent_tickets": "bigint",
    "top_ticket_priority": "text",
    "last_nps": "bigint",
    "last_nps_comment": "text",
    "usage_change_30d_pct": "double precision",
    "seats_used_pct": "double precision",
    "last_touches": "text",
    "escalation_reason": "text",
    "context": "text",
    "crm_url": "text",
}

PLAN_ACCOUNTS: dict[str, str] = {
    "plan_date": "date",
    "account_id": "text",  # an account with candidates on the plan date
    "shard": "bigint",  # the planner shard (mapped task) that plans its touches
}

PLANNING_TABLES: dict[str, dict[str, str]] = {
    "touch_candidates": TOUCH_CANDIDATES,
    "communication_calendar": COMMUNICATION_CALENDAR,
    "calendar_decisions": CALENDAR_DECISIONS,
    "csm_tasks": CSM_TASKS,
    "plan_accounts": PLAN_ACCOUNTS,
}


def touch_id(contact_id: str, rule_or_campaign: str, intended: date | datetime) -> str:
    """Deterministic id of a touch: the same contact, rule and intended date give the same id,
    so re-planning the same inputs yields the same calendar (DESIGN §5)."""
    day = intended.date() if isinstance(intended, datetime) else intended
    raw = f"{contact_id}|{rule_or_campaign}|{day.isoformat()}"
    return "t_" + hashlib.sha256(raw.encode()).hexdigest()[:20]


def ensure_planning_tables(warehouse: Warehouse) -> None:
    """Create the planning tables empty when missing, so readers never meet a missing table."""
    for table, columns in PLANNING_TABLES.items():
        warehouse.create_table(table, columns)
