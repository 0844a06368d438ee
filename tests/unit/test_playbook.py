"""The demo summary's playbook lines: one per play, counting its rules' decisions."""

from __future__ import annotations

import pandas as pd

from cadence.devtools.playbook_summary import play_lines


def test_each_play_counts_its_rules_decisions_and_held_campaigns_only_when_held():
    decisions = pd.DataFrame([
        ("campaigns", "held", 7), ("campaigns.webinar_invite", "held", 2),
        ("campaigns", "scheduled", 50),
        ("tier_cadences.executive_business_review", "scheduled", 3),
        ("tier_cadences.executive_business_review", "escalated", 1),
        ("tier_cadences.strategic_qbr", "scheduled", 9),
    ], columns=["rule_id", "decision", "candidates"])
    lines = {line.split("  ")[1].strip(): line for line in play_lines(decisions)}
    assert lines["campaign rows held: awaiting approval"].endswith("9 candidates: 9 held")
    assert lines["executive business reviews (sponsor)"].endswith(
        "4 candidates: 1 escalated, 3 scheduled")
    assert lines["strategic monthly operations reviews"].endswith("0 candidates: none")


def test_season_lines_count_skipped_lightened_and_moved_touches():
    from cadence.devtools.playbook_summary import season_lines

    seasons = pd.DataFrame([("skipped", "held", 4), ("moved", "scheduled", 2),
                            ("moved", "deferred", 1), ("lightened", "held", 5)],
                           columns=["action", "decision", "candidates"])
    skipped, lightened, moved = season_lines(seasons)
    assert skipped.endswith("4 candidates: 4 held")
    assert lightened.endswith("5 candidates: 5 held")
    assert moved.endswith("3 candidates: 1 deferred, 2 scheduled")


def test_playbook_summary_reads_the_plan_on_each_warehouse(any_warehouse):
    from datetime import date

    from cadence.devtools.playbook_summary import playbook_summary

    day = date(2026, 11, 23)
    rows = [("t1", "campaigns", "held", "awaiting approval: campaign c1 is not approved"),
            ("t2", "tier_cadences.strategic_qbr", "scheduled",
             "moved past season retail (11-15 to 12-31; ...): wanted from 2026-11-28; ok"),
            ("t3", "nps_survey", "held", "season retail_light (...): lighter cadence"),
            ("t4", "tier_cadences.smb_quarterly_check_in", "deferred",
             "every 1 months: account override candidates.account_overrides.a1.frequency.x"),
            ("t5", "tier_cadences.strategic_check_in_call", "held",
             "season calls (...): lighter cadence, one in 2 of these touches goes, this one is"
             " skipped")]
    any_warehouse.write_frame("touch_candidates", pd.DataFrame({
        "touch_id": [r[0] for r in rows], "plan_date": day, "account_id": "a1",
        "rule_id": [r[1] for r in rows]}), replace_where={"plan_date": day})
    any_warehouse.write_frame("calendar_decisions", pd.DataFrame({
        "touch_id": [r[0] for r in rows], "plan_date": day, "account_id": "a1",
        "decision": [r[2] for r in rows], "rule": "x", "detail": [r[3] for r in rows]}),
        replace_where={"plan_date": day})
    text = playbook_summary(any_warehouse, day)
    lines = {line.split("  ")[1].strip(): line for line in text.splitlines()[1:]}
    assert lines["campaign rows held: awaiting approval"].endswith("1 candidates: 1 held")
    assert lines["NPS surveys (quarterly per contact, email)"].endswith("1 held")
    assert lines["seasons: touches skipped (policy candidates.seasons)"].endswith("1 held")
    assert lines["seasons: touches lightened (policy candidates.seasons)"].endswith("1 held")
    assert lines["seasons: touches moved (policy candidates.seasons)"].endswith("1 scheduled")
    assert lines["account overrides: touches changed (named)"].endswith("1 deferred")
