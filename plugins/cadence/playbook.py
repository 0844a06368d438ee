"""The playbook lines of the demo summary: for each customer-success play (executive
reviews, held campaigns, ...) how many candidates the plan date had and what the planner
decided, so each play is seen happening on the sample data."""

from __future__ import annotations

from datetime import date
from fnmatch import fnmatchcase

import pandas as pd

from cadence.warehouse import Warehouse

# (label, candidate rule_id patterns): one summary line each.
PLAYS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("campaign rows held: awaiting approval", ("campaigns", "campaigns.*")),
    ("executive business reviews (sponsor)", ("tier_cadences.executive_business_review",)),
    ("strategic monthly operations reviews", ("tier_cadences.strategic_operations_review",)),
    ("NPS surveys (quarterly per contact, email)", ("nps_survey",)),
    ("onboarding: nudges of stalled milestones", ("onboarding_journey.milestones.*",)),
    ("champion change: CSM tasks", ("champion_change.csm_task",)),
    ("champion change: introductions to the new contact", ("champion_change.introduction",)),
)


def play_lines(decisions: pd.DataFrame) -> list[str]:
    """One line per play from decisions by candidate rule (rule_id, decision, candidates):
    its candidates, then the count of each decision. The held campaign line counts only
    held candidates."""
    lines = []
    rules = decisions["rule_id"].fillna("")
    for label, patterns in PLAYS:
        mine = decisions[rules.map(lambda r, p=patterns: any(fnmatchcase(r, x) for x in p))]
        if label.startswith("campaign rows held"):
            mine = mine[mine["decision"] == "held"]
        lines.append(count_line(label, mine))
    return lines


def playbook_summary(warehouse: Warehouse, as_of: date) -> str:
    """The playbook block of the demo summary for plan date ``as_of``."""
    if not (warehouse.table_exists("calendar_decisions")
            and warehouse.table_exists("touch_candidates")):
        return "Playbook\n  (no plan yet)"
    decisions = warehouse.read_frame(
        warehouse.render("report/decisions_by_candidate_rule.sql"), {"d": as_of})
    seasons = warehouse.read_frame(warehouse.render("report/season_decisions.sql"),
                                   {"d": as_of})
    overridden = warehouse.read_frame(warehouse.render("report/override_decisions.sql"),
                                      {"d": as_of})
    return "\n".join(["Playbook (candidates of the plan date -> decisions)",
                      *play_lines(decisions), *season_lines(seasons),
                      count_line("account overrides: touches changed (named)",
                                 overridden)])


def season_lines(seasons: pd.DataFrame) -> list[str]:
    """Touches seasons skipped, lightened (a cadence thinned) and moved (action, decision,
    candidates), one line each."""
    return [count_line(f"seasons: touches {action} (policy candidates.seasons)",
                       seasons[seasons["action"] == action])
            for action in ("skipped", "lightened", "moved")]


def count_line(label: str, counts: pd.DataFrame) -> str:
    """``label  N candidates: n1 decision1, ...`` from (decision, candidates) rows."""
    by_decision = counts.groupby("decision")["candidates"].sum().sort_index()
    outcome = ", ".join(f"{int(n)} {d}" for d, n in by_decision.items()) or "none"
    return f"  {label:<52} {int(counts['candidates'].sum()):>6} candidates: {outcome}"
