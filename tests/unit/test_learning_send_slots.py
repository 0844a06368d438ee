"""Send-time optimisation and the learned promotional mix, on small hand-made histories."""

from __future__ import annotations

from datetime import date

import pandas as pd

from cadence.learning.mix import learn_mix, mix_overrides
from cadence.learning.policy import MixLearning, SendTimeLearning
from cadence.learning.send_slots import learn_send_slots, slot_counts, steer_send_times
from cadence.planner.policy import PlannerPolicy, Timing

AS_OF = date(2026, 12, 1)  # a Tuesday
TIMING = Timing()
RULES = SendTimeLearning(min_contact_delivered=4, min_contact_opens=2,
                         min_segment_delivered=6, min_segment_opens=3)


def sent(contact, opens, delivered=6, tier="mid_market", zone="Europe/Berlin"):
    """``delivered`` emails to ``contact``; ``opens`` are the first-open times (UTC)."""
    rows = []
    for i in range(delivered):
        rows.append({"touch_id": f"{contact}-{i}", "contact_id": contact, "account_id": "a1",
                     "channel": "email", "message_type": "educational", "timezone": zone,
                     "delivered": 1, "opened": int(i < len(opens)),
                     "first_open_at": pd.Timestamp(opens[i]) if i < len(opens) else pd.NaT,
                     "tier": tier})
    return pd.DataFrame(rows)


def test_a_contacts_best_local_hour_of_week_is_learned():
    # Berlin is UTC+1 in November: 13:xxZ on Tuesdays is 14:00 local.
    history = sent("c1", ["2026-11-10 13:05Z", "2026-11-17 13:40Z", "2026-11-19 08:10Z"])
    slots = learn_send_slots(history, TIMING, RULES, AS_OF)
    mine = slots[slots["scope"] == "contact"].iloc[0]
    assert (mine["key"], mine["weekday"], mine["hour"]) == ("c1", 1, 14)
    assert (mine["opens_in_slot"], mine["delivered"]) == (2, 6)


def test_opens_outside_business_hours_and_thin_histories_teach_nothing():
    night = sent("c2", ["2026-11-10 22:00Z", "2026-11-17 22:30Z", "2026-11-18 22:10Z"])
    thin = sent("c3", ["2026-11-10 13:05Z", "2026-11-17 13:40Z"], delivered=3)
    slots = learn_send_slots(pd.concat([night, thin]), TIMING, RULES, AS_OF)
    assert slots[slots["scope"] == "contact"].empty


def calendar_row(touch_id, contact, hour=10, message_type="educational", channel="email"):
    local = pd.Timestamp(f"2026-12-03 {hour:02d}:00")  # a Thursday
    return {"touch_id": touch_id, "contact_id": contact, "account_id": "a1",
            "channel": channel, "message_type": message_type, "status": "scheduled",
            "timezone": "Europe/Berlin", "local_send_at": local,
            "scheduled_at": local.tz_localize("Europe/Berlin").tz_convert("UTC"),
            "reason": "placed"}


def steer(rows, windows=None):
    calendar = pd.DataFrame(rows)
    history = pd.concat([
        sent("c1", ["2026-11-10 13:05Z", "2026-11-17 13:40Z"]),
        sent("c9", ["2026-11-12 14:05Z", "2026-11-19 14:20Z", "2026-11-26 14:30Z"])])
    slots = learn_send_slots(history, TIMING, RULES, AS_OF)
    if windows is None:
        windows = pd.DataFrame(columns=["touch_id", "earliest_at", "latest_at"])
    return steer_send_times(calendar, windows, slots, pd.Series({"a1": "mid_market"}),
                            TIMING, RULES)


def test_the_learned_hour_moves_the_touch_on_its_planned_day_and_says_why():
    out, text = steer([calendar_row("t1", "c1"), calendar_row("t2", "c7")])
    first = out.iloc[0]
    assert first["local_send_at"] == pd.Timestamp("2026-12-03 14:00")
    assert first["scheduled_at"] == pd.Timestamp("2026-12-03 13:00Z")
    assert text[0].startswith("send time 14:00 learned from this contact's opens (Tue 14:00")
    # c7 has no history: its tier segment's slot (Thu 15:00 local, from c9 and c1).
    assert "learned from the mid_market segment's opens" in text[1]
    assert out.iloc[1]["local_send_at"].hour == 15


def test_the_policy_slot_stays_without_history_outside_the_window_and_for_transactional():
    rows = [calendar_row("t1", "c1"), calendar_row("t2", "c1", message_type="transactional"),
            calendar_row("t3", "c1", hour=11)]
    windows = pd.DataFrame({"touch_id": ["t1"],
                            "earliest_at": [pd.Timestamp("2026-12-03 08:00Z")],
                            "latest_at": [pd.Timestamp("2026-12-03 11:00Z")]})
    out, text = steer(rows, windows)
    assert out.iloc[0]["local_send_at"].hour == 10
    assert "from policy: the slot learned from this contact's opens" in text[0]
    assert "outside the touch's window" in text[0]
    assert list(text[1:]) == ["", ""]  # transactional and own-time touches are not touched
    assert (out["scheduled_at"].iloc[1:] == pd.DataFrame(rows)["scheduled_at"].iloc[1:]).all()
    empty = pd.DataFrame(columns=["scope", "key", "weekday", "hour", "delivered",
                                  "opens_in_slot"])
    _, text = steer_send_times(pd.DataFrame([calendar_row("t4", "c5")]),
                               windows, empty, pd.Series({"a1": "smb"}), TIMING, RULES)
    assert text[0] == "send time 10:00 from policy: too little engagement history for a " \
                      "learned slot"


def test_the_promotional_share_follows_engagement_inside_the_bounds():
    def messages(tier, kind, n, opened):
        return pd.DataFrame({"touch_id": [f"{tier}{kind}{i}" for i in range(n)],
                             "tier": tier, "message_type": kind, "delivered": 1,
                             "opened": [int(i < opened) for i in range(n)]})
    history = pd.concat([
        messages("smb", "promotional", 60, 30), messages("smb", "educational", 60, 15),
        messages("mid_market", "promotional", 60, 3), messages("mid_market", "educational",
                                                               60, 30),
        messages("enterprise", "promotional", 10, 9), messages("enterprise", "educational",
                                                               60, 6)])
    mix = learn_mix(history, PlannerPolicy(), MixLearning(), AS_OF).set_index("tier")
    assert mix.loc["smb", "learned_share"] == 0.3  # 0.2 x 2 capped at max_share
    assert mix.loc["mid_market", "learned_share"] == 0.1  # 0.2 x 0.1 floored at min_share
    assert "enterprise" not in mix.index  # too few promotional deliveries to learn from
    overrides = mix_overrides(mix.reset_index())
    assert overrides["planner"]["tier_limits"]["smb"] == {"promotional_max_share": 0.3}


def test_the_sample_engagement_teaches_a_lower_promotional_share():
    # The demo's generator opens offers less than tips (MESSAGE_TYPE_OPEN); the mix
    # learned from its events follows, inside the bounds.
    from cadence.devtools.sample_engagement import engagement_for_sent

    n = 400
    kinds = ["promotional", "educational"] * (n // 2)
    sends = pd.DataFrame({
        "touch_id": [f"t{i}" for i in range(n)], "contact_id": [f"c{i}" for i in range(n)],
        "channel": "email", "template_id": "tpl", "message_type": kinds, "batch_id": "b",
        "send_at": pd.Timestamp("2026-11-17 10:00", tz="UTC")})
    events = engagement_for_sent(sends, {}, 7, pd.Timestamp("2026-12-01", tz="UTC"))
    seen = events.groupby("touch_id")["event"].agg(set)
    history = sends.assign(
        tier="smb",
        delivered=sends["touch_id"].map(lambda t: int("delivered" in seen.get(t, set()))),
        opened=sends["touch_id"].map(lambda t: int("open" in seen.get(t, set()))))
    mix = learn_mix(history, PlannerPolicy(), MixLearning(), AS_OF).set_index("tier")
    rates = mix.loc["smb", ["promotional_open_rate", "educational_open_rate"]]
    assert rates["promotional_open_rate"] < 0.8 * rates["educational_open_rate"]
    assert MixLearning().min_share <= mix.loc["smb", "learned_share"] < 0.2


def test_the_next_plan_runs_under_the_learned_share(warehouse, policy):
    from cadence.learning.mix import MIX_COLUMNS
    from cadence.learning.steps import planning_policy

    learned = pd.DataFrame([{"tier": "smb", "promotional_delivered": 95,
                             "promotional_open_rate": 0.27, "educational_delivered": 630,
                             "educational_open_rate": 0.46, "policy_share": 0.2,
                             "learned_share": 0.12, "as_of_date": AS_OF}], columns=MIX_COLUMNS)
    warehouse.write_frame("learned_mix", learned.astype({"as_of_date": "object"}))
    planned = planning_policy(warehouse, policy, AS_OF)
    assert planned.planner.limits_for("smb").promotional_max_share == 0.12
    assert planned.planner.limits_for("mid_market").promotional_max_share == \
        policy.planner.limits_for("mid_market").promotional_max_share
    # another day's plan has no learned share of its own: the policy's holds
    later = planning_policy(warehouse, policy, date(2026, 12, 2))
    assert later.planner.limits_for("smb").promotional_max_share == 0.2


def test_steering_in_the_warehouse_moves_says_why_and_a_rerun_changes_nothing(
        any_warehouse, policy):
    # The nightly step on DuckDB and PostgreSQL: a contact's learned hour moves its emails,
    # the others say the policy slot stays; reason and decision detail say so once, even
    # when the step is run again.
    from cadence.learning.steps import apply_learned_send_slots
    from cadence.planner.steps import list_shards, plan_calendar_shard
    from tests.unit.test_planner_sharding import AS_OF as PLAN_DATE
    from tests.unit.test_planner_sharding import seed

    seed(any_warehouse)
    for shard in list_shards(any_warehouse, policy, PLAN_DATE):
        plan_calendar_shard(any_warehouse, policy, PLAN_DATE, shard)
    any_warehouse.write_frame("learned_send_slots", pd.DataFrame({
        "scope": ["contact"], "key": ["acc3_c"], "weekday": [1], "hour": [14],
        "delivered": [8], "opens_in_slot": [5], "open_rate": [0.625],
        "as_of_date": [PLAN_DATE]}), replace_all=True)

    def emails():
        calendar = any_warehouse.read_table("communication_calendar")
        decisions = any_warehouse.read_table("calendar_decisions").set_index("touch_id")
        mail = calendar[(calendar["channel"] == "email")
                        & (calendar["status"] == "scheduled")].set_index("touch_id")
        return mail.assign(detail=mail.index.map(decisions["detail"])).sort_index()

    summary = apply_learned_send_slots(any_warehouse, policy, PLAN_DATE)
    first = emails()
    mine = first[first["contact_id"] == "acc3_c"]
    assert summary["steered"] == len(mine) > 0
    assert (pd.to_datetime(mine["local_send_at"]).dt.hour == 14).all()
    assert mine["reason"].str.contains("send time 14:00 learned from this contact's opens").all()
    assert mine["detail"].str.contains("learned from this contact's opens").all()
    others = first[first["contact_id"] != "acc3_c"]
    assert (pd.to_datetime(others["local_send_at"]).dt.hour == 10).all()
    assert (others["reason"].str.count("send time 10:00 from policy") == 1).all()
    assert (others["detail"].str.count("send time 10:00 from policy") == 1).all()
    apply_learned_send_slots(any_warehouse, policy, PLAN_DATE)
    again = emails()
    pd.testing.assert_frame_equal(again[["reason", "detail", "scheduled_at"]],
                                  first[["reason", "detail", "scheduled_at"]])


def test_the_steering_summary_counts_each_slot_its_texts_name():
    far = pd.DataFrame({"touch_id": ["t3"], "earliest_at": [pd.NaT],
                        "latest_at": [pd.Timestamp("2026-12-03 10:00Z")]})
    _, text = steer([calendar_row("t1", "c1"), calendar_row("t2", "c7"),
                     calendar_row("t3", "c1"), calendar_row("t4", "c1", hour=9)], far)
    # t3's learned slot is past its window: a policy text naming the slot it refused
    assert "from policy: the slot learned from this contact" in text[2]
    assert slot_counts(text[text != ""]) == {"by_contact_slot": 1, "by_segment_slot": 1,
                                             "policy_slot": 1}
    assert slot_counts(pd.Series([], dtype=object)) == {
        "by_contact_slot": 0, "by_segment_slot": 0, "policy_slot": 0}
