"""Touches: the columns each step writes into the planning tables (DESIGN §5) and
deterministic touch ids.

Shared by candidates, the planner, CSM tasks and the hourly handoff so every part reads
and writes the same shapes. The columns come from the one declaration of each table
(:mod:`cadence.contract.schema`), less the ones a later step fills in.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import TYPE_CHECKING

from cadence.contract.schema import declared_tables

if TYPE_CHECKING:
    import pandas as pd

# The learning step stamps each touch with its experiment arm after planning.
ARM_COLUMN = "experiment_arm"


def _written(table: str) -> list[str]:
    return [c for c in declared_tables()[table] if c != ARM_COLUMN]


TOUCH_CANDIDATES: list[str] = _written("touch_candidates")
COMMUNICATION_CALENDAR: list[str] = _written("communication_calendar")
CALENDAR_DECISIONS: list[str] = _written("calendar_decisions")
CSM_TASKS: list[str] = _written("csm_tasks")


def touch_id(contact_id: str, rule_or_campaign: str, intended: date | datetime) -> str:
    """Deterministic id of a touch: the same contact, rule and intended date give the same id,
    so re-planning the same inputs yields the same calendar (DESIGN §5)."""
    day = intended.date() if isinstance(intended, datetime) else intended
    raw = f"{contact_id}|{rule_or_campaign}|{day.isoformat()}"
    return "t_" + hashlib.sha256(raw.encode()).hexdigest()[:20]


def touch_ids(contact_ids: pd.Series, rules_or_campaigns: pd.Series, intended: pd.Series
              ) -> list[str]:
    """:func:`touch_id` of each row (``intended`` a datetime column): the texts are built
    column-wise, only the hashing is per row."""
    # str() of each value, as the f-string of touch_id writes it (None -> "None").
    raw = (contact_ids.map(str) + "|" + rules_or_campaigns.map(str) + "|"
           + intended.dt.strftime("%Y-%m-%d"))
    sha256 = hashlib.sha256
    return ["t_" + sha256(text.encode()).hexdigest()[:20] for text in raw.tolist()]
