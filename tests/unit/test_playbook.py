"""The demo summary's playbook lines: one per play, counting its rules' decisions."""

from __future__ import annotations

import pandas as pd

from cadence.playbook import play_lines


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


def test_season_lines_count_skipped_and_moved_touches():
    from cadence.playbook import season_lines

    seasons = pd.DataFrame([("skipped", "held", 4), ("moved", "scheduled", 2),
                            ("moved", "deferred", 1)],
                           columns=["action", "decision", "candidates"])
    skipped, moved = season_lines(seasons)
    assert skipped.endswith("4 candidates: 4 held")
    assert moved.endswith("3 candidates: 1 deferred, 2 scheduled")
