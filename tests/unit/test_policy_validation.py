"""Policy refuses early: every bad timezone, tier, entity, channel, template, class and
range in policy.yml fails on load, naming its dotted key, before any task writes a row."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from cadence.policy import PolicyError, load_policy, parse_policy

SHIPPED = Path(__file__).resolve().parents[2] / "include" / "config" / "policy.yml"


@pytest.fixture(scope="module")
def shipped() -> dict:
    return yaml.safe_load(SHIPPED.read_text())


def _with(data: dict, dotted: str, value) -> dict:
    data = copy.deepcopy(data)
    *parents, last = dotted.split(".")
    node = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


def test_the_shipped_policy_loads():
    assert load_policy(SHIPPED).planner.timing.default_timezone == "UTC"


BAD = [
    # (what, dotted key to set, bad value, dotted path the message names)
    ("timezone", "planner.timing.default_timezone", "Mars/Base",
     "planner.timing.default_timezone"),
    ("timezone as a path", "planner.timing.default_timezone", "../../etc/passwd",
     "planner.timing.default_timezone"),
    ("tier key", "planner.tier_limits", {"tech_tuch": {"all_channels_per_7_days": 2}},
     "planner.tier_limits.tech_tuch"),
    ("tier in a cadence", "candidates.tier_cadences.strategic_qbr.tiers", ["strategik"],
     "candidates.tier_cadences.strategic_qbr.tiers.0"),
    ("tier in a trigger", "candidates.behaviour_triggers.at_risk_csm_alert.tiers", ["smbb"],
     "candidates.behaviour_triggers.at_risk_csm_alert.tiers.0"),
    ("signal of a trigger", "candidates.behaviour_triggers.at_risk_check_in.signal", "at-risk",
     "candidates.behaviour_triggers.at_risk_check_in.signal"),
    ("entity key", "quality.entity_thresholds", {"contact": 0.1},
     "quality.entity_thresholds.contact"),
    ("entity of a source", "sources.entities", {"acounts": "hubspot"}, "sources.entities"),
    ("channel key", "handoff.channel_providers", {"e-mail": "outbox"},
     "handoff.channel_providers.e-mail"),
    ("provider", "handoff.channel_providers", {"email": "mailchimp"},
     "handoff.channel_providers.email"),
    ("human channel", "planner.human_channels", ["call", "zoom"], "planner.human_channels.1"),
    ("channel skipped for fading contacts", "candidates.lighter_cadence.skip_channels",
     ["mail"], "candidates.lighter_cadence.skip_channels.0"),
    ("message type", "candidates.lighter_cadence.skip_message_types", ["promo"],
     "candidates.lighter_cadence.skip_message_types.0"),
    ("unsubscribe group category", "handoff.sendgrid.asm_groups", {"promo": 101},
     "handoff.sendgrid.asm_groups.promo"),
    ("check-in template", "planner.conflicts.checkin_templates", ["csm_checkin"],
     "planner.conflicts.checkin_templates"),
    ("SMS class", "planner.sms_classes", ["urgnet"], "planner.sms_classes"),
    ("CSM capacity template", "planner.csm_capacity.first_templates", ["QBR"],
     "planner.csm_capacity.first_templates"),
    ("CSM task type", "csm_tasks.minutes", {"qbrs": 60}, "csm_tasks.minutes.qbrs"),
    ("tech-touch task type", "csm_tasks.no_human_exceptions", {"renewal": {"min_arr": 1}},
     "csm_tasks.no_human_exceptions.renewal"),
    ("tier without humans", "csm_tasks.no_human_tiers", ["tech"], "csm_tasks.no_human_tiers.0"),
    ("queue timezone", "csm_tasks.pooled_queue.timezone", "Mars/Olympus",
     "csm_tasks.pooled_queue.timezone"),
    ("queue id that is a path", "csm_tasks.pooled_queue.id", "../x",
     "csm_tasks.pooled_queue.id"),
    ("id pattern that is no regular expression", "csm_tasks.id_pattern", "([a-z]",
     "csm_tasks.id_pattern"),
    ("talking point fact", "csm_tasks.talking_points",
     [{"fact": "mood", "below": 1, "say": "x"}], "csm_tasks.talking_points.0"),
    ("priority class", "candidates.tier_cadences.strategic_qbr.priority_class", "vip",
     "candidates.tier_cadences"),
    ("account status", "candidates.active_statuses", ["active", "paying"],
     "candidates.active_statuses.1"),
    ("renewal status", "candidates.renewal_timeline.stop_statuses", ["signed"],
     "candidates.renewal_timeline.stop_statuses.0"),
    ("role", "candidates.primary_roles", ["owner"], "candidates.primary_roles.0"),
    ("touch status", "candidates.counted_statuses", ["planned"],
     "candidates.counted_statuses.0"),
    ("health band", "candidates.behaviour_triggers.promoter_advocacy_ask.require_bands",
     ["gold"], "candidates.behaviour_triggers.promoter_advocacy_ask.require_bands.0"),
    ("announcement date", "planner.conflicts.announcement_dates", ["2026-13-01"],
     "planner.conflicts.announcement_dates.0"),
    ("weekday", "planner.timing.preferred_weekdays", ["tues"],
     "planner.timing.preferred_weekdays"),
    ("preference frequency", "planner.preference_frequencies", {"daily": 1},
     "planner.preference_frequencies.daily"),
    ("unknown key", "planner.limits.email_per_week", 2, "planner.limits.email_per_week"),
    # ranges
    ("threshold below 0", "quality.reject_rate_threshold", -1, "quality.reject_rate_threshold"),
    ("entity threshold below 0", "quality.entity_thresholds", {"contacts": -1},
     "quality.entity_thresholds.contacts"),
    ("threshold above 1", "quality.entity_thresholds", {"usage_daily": 5},
     "quality.entity_thresholds.usage_daily"),
    ("share above 1", "planner.limits.promotional_max_share", 1.5,
     "planner.limits.promotional_max_share"),
    ("negative cap", "planner.limits.email_per_7_days", -1, "planner.limits.email_per_7_days"),
    ("negative tier cap", "planner.tier_limits.tech_touch.all_channels_per_7_days", -2,
     "planner.tier_limits.tech_touch.all_channels_per_7_days"),
    ("negative CSM capacity", "planner.csm_capacity.default_weekly_capacity", -5,
     "planner.csm_capacity.default_weekly_capacity"),
    ("zero-day preference frequency", "planner.preference_frequencies.weekly", 0,
     "planner.preference_frequencies.weekly"),
    ("negative priority", "candidates.priorities.promotional", -20,
     "candidates.priorities.promotional"),
    ("negative trigger step", "candidates.behaviour_triggers.inactive_re_engagement.steps_days",
     [0, -7], "candidates.behaviour_triggers.inactive_re_engagement.steps_days.1"),
    ("zero task minutes", "csm_tasks.minutes.qbr", 0, "csm_tasks.minutes.qbr"),
]


@pytest.mark.parametrize(("what", "key", "value", "path"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_key_fails_on_load_naming_its_dotted_path(shipped, what, key, value, path):
    with pytest.raises(PolicyError) as raised:
        parse_policy(_with(shipped, key, value), source="policy.yml")
    assert f"policy.yml: {path}" in str(raised.value), str(raised.value)


def test_a_martian_timezone_fails_when_the_file_is_loaded(tmp_path, shipped):
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(_with(shipped, "planner.timing.default_timezone",
                                         "Mars/Base")))
    with pytest.raises(PolicyError, match=r"planner\.timing\.default_timezone: .*Mars/Base"):
        load_policy(path)


def test_default_template_lists_may_name_rules_the_file_left_out():
    # Only the file's own cadences: the default check-in and CSM-capacity templates of
    # the planner name rules it dropped, which is not the file's typo.
    policy = parse_policy({"candidates": {"tier_cadences": {"weekly_smb_call": {
        "tiers": ["smb"], "every_days": 7, "channel": "call", "template_id": "smb_call",
        "priority_class": "relationship_human"}}}})
    assert "qbr" in policy.planner.csm_capacity.first_templates


def test_every_error_is_listed_at_once(shipped):
    data = _with(shipped, "planner.timing.default_timezone", "Mars/Base")
    data = _with(data, "quality.entity_thresholds", {"contacts": -1})
    with pytest.raises(PolicyError) as raised:
        parse_policy(data, source="policy.yml")
    assert "planner.timing.default_timezone" in str(raised.value)
    assert "quality.entity_thresholds.contacts" in str(raised.value)
