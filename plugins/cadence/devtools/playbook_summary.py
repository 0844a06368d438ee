"""The playbook lines of the demo summary: for each customer-success play (executive
reviews, held campaigns, ...) how many candidates the plan date had and what the planner
decided, so each play is seen happening on the sample data."""

from __future__ import annotations

from datetime import date
from fnmatch import fnmatchcase

import pandas as pd

from cadence.contract.warehouse import Warehouse

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


def playbook_summary(warehouse: Warehouse, as_of: date, extra: list[str] = ()) -> str:
    """The playbook block of the demo summary for plan date ``as_of`` (``extra``: lines
    the demo measured at its stand-ins, appended)."""
    if not (warehouse.table_exists("calendar_decisions")
            and warehouse.table_exists("touch_candidates")):
        return "Playbook\n  (no plan yet)"
    sms = warehouse.read_frame(warehouse.render("report/sms_decisions.sql"), {"d": as_of})
    decisions = warehouse.read_frame(
        warehouse.render("report/decisions_by_candidate_rule.sql"), {"d": as_of})
    seasons = warehouse.read_frame(warehouse.render("report/season_decisions.sql"),
                                   {"d": as_of})
    overridden = warehouse.read_frame(warehouse.render("report/override_decisions.sql"),
                                      {"d": as_of})
    return "\n".join(["Playbook (candidates of the plan date -> decisions)",
                      *play_lines(decisions), *season_lines(seasons),
                      count_line("account overrides: touches changed (named)",
                                 overridden), *sms_lines(sms), *extra])


def sms_lines(sms: pd.DataFrame) -> list[str]:
    """The plan's SMS candidates (message_type, decision, why, candidates): the urgent
    (transactional) ones and the others, each with its decisions; then the reasons SMS
    was refused, the urgent-only rule (planner.sms_classes) among them."""
    urgent = sms["message_type"] == "transactional"
    lines = [count_line("SMS: urgent (transactional) touches", sms[urgent]),
             count_line("SMS: non-urgent touches asked for on sms", sms[~urgent])]
    refused = sms[sms["decision"] == "suppressed"].groupby("why")["candidates"].sum()
    lines += [f"    {int(n)} refused: {why}" for why, n in refused.sort_index().items()]
    return lines


def crm_default_lines(accounts: pd.DataFrame, contacts: pd.DataFrame, csms: pd.DataFrame,
                      zoned: set[str]) -> list[str]:
    """What the HubSpot connector filled from standard fields, from the accounts,
    contacts and csms it read (``zoned``: the companies whose timezone property was set,
    the rest took their country's zone)."""
    has = accounts["timezone"].notna()
    own = has & accounts["account_id"].isin(zoned)
    roles = contacts["role"].value_counts().sort_index()
    return [
        f"  CRM defaults (HubSpot stand-in, standard fields only): {len(accounts)} accounts:"
        f" timezone {int(own.sum())} from timezone + {int((has & ~own).sum())} from"
        f" country, country {int(accounts['country'].notna().sum())},"
        f" ARR {int(accounts['arr'].notna().sum())} from annualrevenue,"
        f" CSM {int(accounts['csm_id'].notna().sum())} from the owner ({len(csms)} owners)",
        f"    {len(contacts)} contacts: role {int(contacts['role'].notna().sum())} from jobtitle"
        f" ({', '.join(f'{n} {r}' for r, n in roles.items())}),"
        f" timezone {int(contacts['timezone'].notna().sum())} from hs_timezone",
    ]


def crm_write_counts(requests: list[tuple[str, str, dict | None]]) -> dict[str, int]:
    """What a stand-in HubSpot received (method, path, body): objects batch-updated per
    type, batches, and deals created."""
    counts = {"companies": 0, "contacts": 0, "batches": 0, "deals": 0}
    for method, path, body in requests:
        parts = path.strip("/").split("/")
        if method == "POST" and parts[4:] == ["batch", "update"] and parts[3] in counts:
            counts[parts[3]] += len(body["inputs"])
            counts["batches"] += 1
        elif method == "POST" and parts == ["crm", "v3", "objects", "deals"]:
            counts["deals"] += 1
    return counts


def crm_write_lines(nightly: dict[str, int], rerun: dict[str, int],
                    rerun_push: dict[str, int], rerun_deals: dict[str, int]) -> list[str]:
    """The health push and expansion deal lines: what the nightly sent to the stand-in,
    then what a second run sent (nothing: incremental and once per cooldown)."""
    return [
        f"  health push (HubSpot stand-in): {nightly['companies']} companies,"
        f" {nightly['contacts']} contacts updated in {nightly['batches']} batches;"
        f" rerun: {rerun['companies'] + rerun['contacts']} changes sent"
        f" ({rerun_push['unchanged']} unchanged, incremental)",
        f"  expansion deals (HubSpot stand-in): {nightly['deals']} deals created with the"
        f" evidence; rerun: {rerun['deals']} created, {rerun_deals['in_cooldown']} in"
        " cooldown (no duplicates)",
    ]


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
