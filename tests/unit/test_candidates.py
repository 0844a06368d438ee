"""Touch candidates: each source proposes what the policy says, deterministically."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadence.candidates.generate import generate_candidates, generate_touch_candidates
from cadence.candidates.inputs import COLUMNS, CandidateInputs, InputError
from cadence.contract.tables import TOUCH_CANDIDATES, touch_id, touch_ids
from cadence.policy import parse_policy

AS_OF = date(2026, 3, 2)


def frame(name: str, rows: list[dict]) -> pd.DataFrame:
    """A hand-made input frame with every expected column (missing ones null)."""
    return pd.DataFrame(rows, columns=list(COLUMNS[name]))


def account(account_id: str, tier: str, **values) -> dict:
    row = {"account_id": account_id, "name": f"Company {account_id}", "country": "DE",
           "timezone": "Europe/Berlin", "arr": 120000.0, "plan": "pro", "csm_id": "csm1",
           "contract_start": "2024-06-10", "renewal_date": "2027-06-10",
           "seats_purchased": 50, "status": "active", "renewal_status": "open", "tier": tier}
    row.update(values)
    return row


def contacts_of(account_id: str) -> list[dict]:
    return [
        {"contact_id": f"{account_id}-champ", "account_id": account_id, "first_name": "Ada",
         "role": "champion", "timezone": None, "is_primary": True},
        {"contact_id": f"{account_id}-admin", "account_id": account_id, "first_name": "Bo",
         "role": "admin", "timezone": None, "is_primary": False},
        {"contact_id": f"{account_id}-user", "account_id": account_id, "first_name": "Cy",
         "role": "user", "timezone": None, "is_primary": False},
    ]


def make_inputs(accounts: list[dict], signals: list[tuple[str, str, str]] = (),
                health: list[dict] = (), campaigns: list[dict] = (),
                open_tickets: list[dict] = (), nps: list[dict] = (),
                history: list[dict] = ()) -> CandidateInputs:
    """Inputs for the given accounts (each with three contacts and its tier segment) and
    extra signal segments (account_id, segment_key, valid_from)."""
    segments = [{"account_id": a["account_id"], "segment_type": "tier",
                 "segment_key": a["tier"], "valid_from": "2024-06-10"} for a in accounts]
    segments += [{"account_id": a, "segment_type": "signal", "segment_key": k, "valid_from": v}
                 for a, k, v in signals]
    return CandidateInputs(
        accounts=frame("accounts", accounts),
        contacts=frame("contacts", [c for a in accounts for c in contacts_of(a["account_id"])]),
        health=frame("health", list(health) or [
            {"account_id": a["account_id"], "score": 80.0, "band": "green",
             "score_delta_14d": 1.0} for a in accounts]),
        segments=frame("segments", segments),
        usage=frame("usage", [{"account_id": a["account_id"], "active_users": 40,
                               "seats_used": 45, "logins": 300} for a in accounts]),
        campaigns=frame("campaigns", list(campaigns)),
        csms=frame("csms", [{"csm_id": "csm1", "name": "Carla CSM", "timezone": "Europe/Berlin",
                             "weekly_capacity": 25}]),
        open_tickets=frame("open_tickets", list(open_tickets)),
        latest_nps=frame("latest_nps", list(nps)),
        history=frame("history", list(history)),
    )


def rule(candidates: pd.DataFrame, rule_id: str) -> pd.DataFrame:
    return candidates[candidates["rule_id"] == rule_id].sort_values("earliest_at")


def days(series: pd.Series) -> list[date]:
    return sorted({d.date() for d in series})


def test_frame_has_exactly_the_contract_columns_and_the_plan_date(policy):
    candidates = generate_candidates(make_inputs([account("a1", "strategic")]), policy, AS_OF)
    assert list(candidates.columns) == list(TOUCH_CANDIDATES)
    assert len(candidates) and (candidates["plan_date"] == AS_OF).all()
    assert candidates["touch_id"].is_unique


def test_strategic_account_gets_biweekly_calls_and_a_qbr_for_its_csm(policy):
    candidates = generate_candidates(make_inputs([account("a1", "strategic")]), policy, AS_OF)
    calls = rule(candidates, "tier_cadences.strategic_check_in_call")
    ends = calls["latest_at"].tolist()
    # Every 14 days from contract start: 2 March, 16 March and 30 March (its lead meets
    # the 28-day horizon).
    assert [d.date() for d in ends] == [date(2026, 3, 6), date(2026, 3, 20), date(2026, 4, 3)]
    assert set(calls["channel"]) == {"call"} and set(calls["csm_id"]) == {"csm1"}
    assert set(calls["contact_id"]) == {"a1-champ"}  # human touches go to the primary
    qbr = rule(candidates, "tier_cadences.strategic_qbr")
    assert len(qbr) == 1 and qbr["channel"].iloc[0] == "meeting"
    assert qbr["priority"].iloc[0] > calls["priority"].max()
    assert (qbr["latest_at"] - qbr["earliest_at"]).iloc[0] >= pd.Timedelta(days=21)


def with_executive(inputs: CandidateInputs, account_id: str) -> CandidateInputs:
    from dataclasses import replace

    sponsor = frame("contacts", [{"contact_id": f"{account_id}-exec", "account_id": account_id,
                                  "first_name": "Eve", "role": "executive", "timezone": None,
                                  "is_primary": False}])
    return replace(inputs, contacts=pd.concat([inputs.contacts, sponsor], ignore_index=True))


def test_executive_business_review_meets_the_sponsor_twice_a_year(policy):
    inputs = with_executive(make_inputs([account("a1", "strategic"),
                                         account("a2", "enterprise")]), "a1")
    candidates = generate_candidates(inputs, policy, AS_OF)
    ebr = rule(candidates, "tier_cadences.executive_business_review")
    # Only a1 has an executive sponsor: the meeting is with them, not the champion, and
    # is the CSM's task; a2 (no executive contact) gets none.
    assert ebr["contact_id"].tolist() == ["a1-exec"]
    assert ebr[["channel", "csm_id"]].iloc[0].tolist() == ["meeting", "csm1"]
    # Contract start 2024-06-10 + 75 days, every 6 months: 2026-02-24, still in its window.
    assert ebr["latest_at"].iloc[0].date() == date(2026, 3, 24)
    later = generate_candidates(inputs, policy, date(2026, 5, 1))
    assert rule(later, "tier_cadences.executive_business_review").empty  # next: August


def test_strategic_accounts_get_a_monthly_operations_review(policy):
    candidates = generate_candidates(make_inputs([account("a1", "strategic"),
                                                  account("a2", "enterprise")]), policy, AS_OF)
    review = rule(candidates, "tier_cadences.strategic_operations_review")
    assert review["contact_id"].tolist() == ["a1-champ"]  # strategic only, primary contact
    assert review["channel"].iloc[0] == "meeting"
    assert review["earliest_at"].iloc[0].date() == date(2026, 3, 5)  # 8 March, 3 days' lead


def test_tier_without_human_cadence_gets_no_calls(policy):
    candidates = generate_candidates(make_inputs([account("a1", "tech_touch")]), policy, AS_OF)
    assert not candidates["channel"].isin(["call", "meeting"]).any()
    assert "tier_cadences.tech_touch_product_tips" in set(candidates["rule_id"])


def test_consecutive_nights_propose_the_same_touch_ids(policy):
    inputs = make_inputs([account("a1", "strategic"), account("a2", "mid_market")])
    today = generate_candidates(inputs, policy, AS_OF)
    tomorrow = generate_candidates(inputs, policy, AS_OF + timedelta(days=1))
    cadence = today[today["rule_id"].str.startswith("tier_cadences.")]
    still_open = cadence[cadence["latest_at"] >= pd.Timestamp(AS_OF + timedelta(days=1),
                                                              tz="UTC")]
    assert set(still_open["touch_id"]) <= set(tomorrow["touch_id"])


def test_same_inputs_give_an_identical_frame(policy):
    inputs = make_inputs([account("a1", "strategic"), account("a2", "smb",
                                                              contract_start="2026-02-27")],
                         signals=[("a1", "at_risk", "2026-03-01")])
    pd.testing.assert_frame_equal(generate_candidates(inputs, policy, AS_OF),
                                  generate_candidates(inputs, policy, AS_OF))


def test_an_experiment_arms_accounts_get_the_same_candidates_from_their_own_inputs(policy):
    # Each arm generates from its accounts' inputs only: it must propose, for them, exactly
    # what generating for every account proposes.
    inputs = make_inputs(
        [account("a1", "strategic"), account("a2", "mid_market"),
         account("a3", "smb", contract_start="2026-02-27")],
        signals=[("a2", "expansion_ready", "2026-03-01"), ("a3", "at_risk", "2026-03-01")],
        nps=[{"contact_id": "a2-user", "score": 10, "responded_at": "2026-03-01T15:00:00Z"}],
        campaigns=[webinar()])
    every = generate_candidates(inputs, policy, AS_OF)
    mine = generate_candidates(inputs.of_accounts(pd.Series(["a2", "a3"])), policy, AS_OF)
    expected = every[every["account_id"].isin(["a2", "a3"])].reset_index(drop=True)
    assert set(expected["source"]) >= {"campaign", "trigger"}
    # Same rows and values; a text column may hold pandas strings instead of objects.
    pd.testing.assert_frame_equal(mine, expected, check_dtype=False)


def test_touch_id_is_the_shared_deterministic_id(policy):
    candidates = generate_candidates(make_inputs([account("a1", "strategic")]), policy, AS_OF)
    call = rule(candidates, "tier_cadences.strategic_check_in_call").iloc[0]
    intended = (call["latest_at"] - pd.Timedelta(days=4)).date()  # window_days = 4
    assert call["touch_id"] == touch_id("a1-champ", "tier_cadences.strategic_check_in_call",
                                        intended)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.text()), st.text(min_size=1),
                          st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1))),
                min_size=1, max_size=20))
def test_touch_ids_of_a_column_are_the_touch_id_of_each_row(rows):
    contacts, keys, days = zip(*rows, strict=True)
    intended = pd.Series(pd.to_datetime(list(days)))
    assert touch_ids(pd.Series(contacts, dtype=object), pd.Series(keys, dtype=object),
                     intended) == [touch_id(c, k, d) for c, k, d in rows]


def test_renewal_60_days_out_gets_the_csm_renewal_discussion(policy):
    renewal = (AS_OF + timedelta(days=60)).isoformat()
    candidates = generate_candidates(
        make_inputs([account("a1", "mid_market", renewal_date=renewal)]), policy, AS_OF)
    talk = rule(candidates, "renewal_timeline.renewal_discussion")
    assert len(talk) == 1
    assert talk.iloc[0][["channel", "csm_id", "contact_id", "source"]].tolist() == [
        "call", "csm1", "a1-champ", "renewal"]
    assert talk["priority"].iloc[0] > rule(candidates, "tier_cadences.mid_market_nurture")[
        "priority"].max()


def test_committed_renewal_stops_the_timeline(policy):
    renewal = (AS_OF + timedelta(days=20)).isoformat()
    open_ = generate_candidates(make_inputs([account("a1", "smb", renewal_date=renewal)]),
                                policy, AS_OF)
    assert {"renewal_timeline.urgent_message", "renewal_timeline.escalation"} <= set(
        open_["rule_id"])
    committed = generate_candidates(make_inputs([account("a1", "smb", renewal_date=renewal,
                                                         renewal_status="committed")]),
                                    policy, AS_OF)
    assert not (committed["source"] == "renewal").any()


def test_escalation_is_urgent_and_keeps_the_accounts_csm_for_manager_routing(policy):
    # The manager is found from csms.manager_id when the task is made (cadence.outputs.csm_tasks).
    renewal = (AS_OF + timedelta(days=7)).isoformat()
    candidates = generate_candidates(make_inputs([account("a1", "smb", renewal_date=renewal)]),
                                     policy, AS_OF)
    escalation = rule(candidates, "renewal_timeline.escalation")
    assert escalation["urgent"].all() and escalation["csm_id"].notna().all()
    assert policy.candidates.renewal_timeline.steps["escalation"].to_manager


def expansion_inputs(history=()):
    return make_inputs([account("a1", "mid_market")],
                       signals=[("a1", "expansion_ready", "2026-03-01")], history=history)


def test_expansion_email_and_csm_task_for_mid_market(policy):
    candidates = generate_candidates(expansion_inputs(), policy, AS_OF)
    assert len(rule(candidates, "behaviour_triggers.expansion_csm_task")) == 1
    emails = rule(candidates, "behaviour_triggers.expansion_email")
    assert set(emails["contact_id"]) == {"a1-admin"}  # audience: admin, executive, billing


def test_expansion_cooldown_respected_from_history(policy):
    sent = [{"touch_id": "t_old", "contact_id": "a1-champ", "account_id": "a1",
             "rule_id": "behaviour_triggers.expansion_csm_task", "intent": "x",
             "channel": "call", "scheduled_at": "2026-02-10T10:00:00Z", "status": "sent"}]
    candidates = generate_candidates(expansion_inputs(sent), policy, AS_OF)
    assert rule(candidates, "behaviour_triggers.expansion_csm_task").empty
    long_ago = [dict(sent[0], scheduled_at="2026-01-10T10:00:00Z")]
    candidates = generate_candidates(expansion_inputs(long_ago), policy, AS_OF)
    assert len(rule(candidates, "behaviour_triggers.expansion_csm_task")) == 1


def promoter_inputs(band="green", open_tickets=()):
    return make_inputs(
        [account("a1", "smb")],
        health=[{"account_id": "a1", "score": 50.0, "band": band, "score_delta_14d": 0.0}],
        nps=[{"contact_id": "a1-user", "score": 10, "responded_at": "2026-03-01T15:00:00Z"}],
        open_tickets=open_tickets)


def test_promoter_ask_goes_to_the_respondent_within_48_hours(policy):
    asks = rule(generate_candidates(promoter_inputs(), policy, AS_OF), "behaviour_triggers"
                ".promoter_advocacy_ask")
    assert asks["contact_id"].tolist() == ["a1-user"]
    assert asks["latest_at"].iloc[0] <= pd.Timestamp("2026-03-03T23:59:59Z")


def test_promoter_ask_only_when_green_and_no_open_ticket(policy):
    ticket = [{"ticket_id": "k1", "account_id": "a1", "contact_id": None, "priority": "p3",
               "opened_at": "2026-02-28T09:00:00Z"}]
    for inputs in (promoter_inputs(band="yellow"), promoter_inputs(open_tickets=ticket)):
        candidates = generate_candidates(inputs, policy, AS_OF)
        assert rule(candidates, "behaviour_triggers.promoter_advocacy_ask").empty


def test_at_risk_brings_a_csm_alert_and_a_supportive_not_promotional_email(policy):
    candidates = generate_candidates(
        make_inputs([account("a1", "smb")], signals=[("a1", "at_risk", "2026-03-02")]),
        policy, AS_OF)
    alert = rule(candidates, "behaviour_triggers.at_risk_csm_alert")
    email = rule(candidates, "behaviour_triggers.at_risk_check_in")
    assert alert["channel"].tolist() == ["call"] and alert["csm_id"].tolist() == ["csm1"]
    assert len(email) == 2 and set(email["message_type"]) == {"relationship"}


def test_onboarding_journey_days_after_contract_start(policy):
    candidates = generate_candidates(
        make_inputs([account("a1", "enterprise", contract_start="2026-02-27")]), policy, AS_OF)
    journey = candidates[candidates["source"] == "lifecycle"]
    firsts = journey.groupby("rule_id")["latest_at"].min()
    # welcome (day 1, window 2) is still open on 2 March; day 3, 7 and 14 follow; with no
    # login in the usage yet, the first-login milestone (due day 3) gets its nudge.
    assert set(firsts.index) == {f"onboarding_journey.{k}" for k in
                                 ("welcome", "setup_reminder", "training_webinar_invite",
                                  "check_in", "milestones.first_login")}


def webinar(**values):
    row = {"campaign_id": "web1", "team": "marketing", "message_type": "educational",
           "channel": "email", "template_id": "webinar_march", "audience": "mid_market",
           "window_start": "2026-03-01T00:00:00Z", "window_end": "2026-03-31T00:00:00Z",
           "intent": None, "priority": 3, "event_at": "2026-03-20T15:00:00Z",
           "approved": True}
    row.update(values)
    return row


def test_webinar_invite_14_days_and_reminders_7_and_1_day_before(policy):
    inputs = make_inputs([account("a1", "mid_market"), account("a2", "smb")],
                         campaigns=[webinar()])
    candidates = generate_candidates(inputs, policy, AS_OF)
    sends = candidates[candidates["source"] == "campaign"]
    assert set(sends["account_id"]) == {"a1"}  # audience: mid_market
    first_day = sends.groupby("rule_id")["earliest_at"].min().dt.date.to_dict()
    assert first_day == {"campaigns.webinar_invite": date(2026, 3, 6),
                         "campaigns.webinar_reminder_7d": date(2026, 3, 13),
                         "campaigns.webinar_reminder_1d": date(2026, 3, 19)}
    assert set(sends["intent"]) == {"webinar_march", "webinar_march:reminder_7d",
                                    "webinar_march:reminder_1d"}  # intent defaults to template
    assert (sends["latest_at"] <= pd.Timestamp("2026-03-20T15:00:00Z")).all()


def test_unapproved_campaign_is_held_awaiting_approval_and_bad_audience_proposes_nothing(
        policy):
    inputs = make_inputs([account("a1", "mid_market")], campaigns=[
        webinar(campaign_id="c1", approved=False), webinar(campaign_id="c2", audience="smb or")])
    candidates = generate_candidates(inputs, policy, AS_OF)
    sends = candidates[candidates["source"] == "campaign"]
    assert len(sends) == 9  # invite and two reminders to each of the three contacts
    assert sends["hold"].str.startswith("awaiting approval: campaign c1 is not approved").all()
    assert candidates.loc[candidates["source"] != "campaign", "hold"].isna().all()


def test_approved_campaign_is_not_held_and_approval_can_be_switched_off(policy):
    inputs = make_inputs([account("a1", "mid_market")], campaigns=[webinar(approved=False)])
    off = parse_policy({"candidates": {"campaigns": {"require_approval": False}}})
    assert generate_candidates(inputs, off, AS_OF)["hold"].isna().all()
    approved = make_inputs([account("a1", "mid_market")], campaigns=[webinar()])
    assert generate_candidates(approved, policy, AS_OF)["hold"].isna().all()


def test_minimum_cadence_touches_only_contacts_nobody_else_touches(policy):
    # Strategic cadences address the champion and the admin, never the plain user.
    inputs = make_inputs([account("a1", "strategic", contract_start="2024-06-03")])
    candidates = generate_candidates(inputs, policy, AS_OF)
    light = rule(candidates, "minimum_cadence")
    assert light["contact_id"].tolist() == ["a1-user"]
    # 30-day grid from contract start: 2024-06-03 + 22 * 30 days = 2026-03-25.
    assert light["earliest_at"].iloc[0].date() == date(2026, 3, 25)


def test_sent_touches_are_not_proposed_again(policy):
    inputs = make_inputs([account("a1", "strategic")])
    first = generate_candidates(inputs, policy, AS_OF).iloc[0]
    sent = [{"touch_id": first["touch_id"], "contact_id": first["contact_id"],
             "account_id": "a1", "rule_id": first["rule_id"], "intent": first["intent"],
             "channel": first["channel"], "scheduled_at": "2026-03-02T09:00:00Z",
             "status": "sent"}]
    again = generate_candidates(make_inputs([account("a1", "strategic")], history=sent), policy,
                                AS_OF)
    assert first["touch_id"] not in set(again["touch_id"])


def test_fading_contact_gets_a_lighter_cadence(policy):
    """A contact the engagement run flagged (emails keep going unopened) stops getting
    educational and promotional email; human and relationship touches stay."""
    from dataclasses import replace

    inputs = make_inputs([account("a1", "strategic")])
    before = generate_candidates(inputs, policy, AS_OF)
    fading = replace(inputs, fading_contacts=pd.DataFrame({"contact_id": ["a1-admin"]}))
    after = generate_candidates(fading, policy, AS_OF)
    skipped = before[~before["touch_id"].isin(after["touch_id"])]
    assert len(skipped) > 0
    assert set(skipped["contact_id"]) == {"a1-admin"}
    assert set(skipped["message_type"]) <= {"educational", "promotional"}
    assert set(skipped["channel"]) == {"email"}
    kept = after[after["contact_id"] == "a1-admin"]
    assert set(kept["message_type"]) == {"relationship"}  # the value report still goes


def test_payload_carries_real_personalization(policy):
    candidates = generate_candidates(make_inputs([account("a1", "strategic")]), policy, AS_OF)
    payload = json.loads(rule(candidates, "tier_cadences.strategic_check_in_call")
                         ["payload"].iloc[0])
    assert payload["first_name"] == "Ada" and payload["company_name"] == "Company a1"
    assert payload["csm_name"] == "Carla CSM" and payload["active_users"] == 40
    assert payload["hours_saved_30d"] == 30.0 and payload["renewal_date"] == "2027-06-10"
    assert payload["health_band"] == "green"


def test_policy_change_needs_no_code_change():
    policy = parse_policy({"candidates": {"tier_cadences": {"weekly_smb_call": {
        "tiers": ["smb"], "every_days": 7, "channel": "call", "template_id": "smb_call",
        "priority_class": "relationship_human", "window_days": 0}}}})
    candidates = generate_candidates(make_inputs([account("a1", "smb")]), policy, AS_OF)
    assert set(candidates["rule_id"]) >= {"tier_cadences.weekly_smb_call"}
    assert len(rule(candidates, "tier_cadences.weekly_smb_call")) == 4


def load_marts(warehouse, inputs: CandidateInputs) -> None:
    """Write hand-made inputs as the marts the glue reads (typed like the SQL models)."""
    norm = inputs.normalized()
    as_dates = {"contract_start", "renewal_date", "valid_from"}

    def typed(df: pd.DataFrame) -> pd.DataFrame:
        df = df.copy()
        for column in as_dates & set(df.columns):
            df[column] = df[column].dt.date
        return df

    warehouse.write_frame("stg_accounts", typed(norm.accounts),
                          replace_all=True)
    warehouse.write_frame("stg_contacts", norm.contacts.assign(email="x@example.com"),
                          replace_all=True)
    warehouse.write_frame("account_health", norm.health.assign(as_of_date=AS_OF),
                          replace_all=True)
    warehouse.write_frame("segment_membership", typed(norm.segments).assign(is_current=True),
                          replace_all=True)
    usage = norm.usage.assign(usage_date=AS_OF, feature=None, events=0.0)
    warehouse.write_frame("stg_usage_daily", usage, replace_all=True)
    warehouse.write_frame("stg_campaigns", norm.campaigns, replace_all=True)
    warehouse.write_frame("stg_csms", norm.csms, replace_all=True)
    tickets = norm.open_tickets.assign(status="open")
    tickets["closed_at"] = pd.Series(pd.NaT, index=tickets.index, dtype="datetime64[ns, UTC]")
    warehouse.write_frame("stg_support_tickets", tickets, replace_all=True)
    warehouse.write_frame("stg_nps_responses", norm.latest_nps.assign(response_id="r1"),
                          replace_all=True)


def test_glue_writes_candidates_and_audience_rejects_idempotently(any_warehouse, policy):
    inputs = make_inputs(
        [account("a1", "strategic"), account("a2", "mid_market")],
        signals=[("a2", "expansion_ready", "2026-03-01")],
        nps=[{"contact_id": "a1-user", "score": 10, "responded_at": "2026-03-01T15:00:00Z"}],
        open_tickets=[{"ticket_id": "k1", "account_id": "a2", "contact_id": None,
                       "priority": "p2", "opened_at": "2026-02-20T09:00:00Z"}],
        campaigns=[webinar(), webinar(campaign_id="bad", audience="(smb or")])
    load_marts(any_warehouse, inputs)
    for _ in range(2):  # a rerun replaces the partition
        summary = generate_touch_candidates(any_warehouse, policy, AS_OF, run_id="run-1")
    expected = generate_candidates(inputs, policy, AS_OF)
    written = any_warehouse.read_table("touch_candidates", {"plan_date": AS_OF})
    assert summary["candidates"] == len(expected) == len(written)
    assert set(written["touch_id"]) == set(expected["touch_id"])
    quarantine = any_warehouse.read_table("quarantine", {"entity": "campaigns_audience"})
    assert len(quarantine) == 1 and quarantine["run_id"].tolist() == ["run-1"]
    assert quarantine["rule"].iloc[0].startswith("campaigns.audience: does not parse: ")
    assert json.loads(quarantine["row"].iloc[0])["campaign_id"] == "bad"


def test_glue_reads_the_latest_engagement_flags_for_the_lighter_cadence(any_warehouse, policy):
    from datetime import datetime

    from cadence.candidates.inputs import read_candidate_inputs

    load_marts(any_warehouse, make_inputs([account("a1", "strategic")]))
    assert read_candidate_inputs(any_warehouse, AS_OF).fading_contacts.empty  # no table yet
    flagged_at = pd.Timestamp(datetime(2026, 2, 1), tz="UTC")
    flags = pd.DataFrame({"contact_id": ["a1-admin", "a1-user"],
                          "as_of_date": [AS_OF - timedelta(days=3), AS_OF - timedelta(days=1)],
                          "sends_without_open": [5, 6], "last_open_at": [flagged_at] * 2,
                          "flag": ["lighter_cadence"] * 2})
    any_warehouse.write_frame("engagement_flags", flags)
    fading = read_candidate_inputs(any_warehouse, AS_OF).fading_contacts
    assert fading["contact_id"].tolist() == ["a1-user"]  # only the latest run's flags


def test_mid_market_check_in_alternates_call_and_email_month_to_month(policy):
    candidates = generate_candidates(make_inputs([account("a1", "mid_market")]), policy, AS_OF,
                                     horizon_days=62)
    check_ins = rule(candidates, "tier_cadences.mid_market_check_in")
    assert check_ins["channel"].tolist() in (["call", "email"], ["email", "call"])
    assert set(check_ins["contact_id"]) == {"a1-champ"}
    call = check_ins[check_ins["channel"] == "call"]
    assert call["csm_id"].tolist() == ["csm1"]
    assert check_ins.loc[check_ins["channel"] == "email", "csm_id"].isna().all()


def test_smb_onboarding_is_daily_in_week_one_then_weekly(policy):
    candidates = generate_candidates(
        make_inputs([account("a1", "smb", contract_start="2026-02-27")]), policy, AS_OF)
    daily = rule(candidates, "tier_cadences.smb_onboarding_daily")
    assert days(daily.drop_duplicates("earliest_at")["earliest_at"]) == [
        date(2026, 3, d) for d in range(2, 7)]  # days 3..7 after 27 Feb
    weekly = rule(candidates, "tier_cadences.smb_onboarding_weekly")
    assert days(weekly["earliest_at"]) == [date(2026, 3, 13), date(2026, 3, 20),
                                           date(2026, 3, 27)]  # day 14, 21, 28


def test_bad_input_names_frame_row_and_column(policy):
    inputs = make_inputs([account("a1", "smb"), account("a2", "smb", contract_start="soon")])
    with pytest.raises(InputError, match=r"accounts row 1 \(account_id='a2'\): contract_start"
                                         r" 'soon' is not a date"):
        generate_candidates(inputs, policy, AS_OF)
    missing = make_inputs([account("a1", "smb", renewal_date=None)])
    with pytest.raises(InputError, match="accounts row 0 .*renewal_date None is empty"):
        generate_candidates(missing, policy, AS_OF)


def nps_policy(**rules):
    return parse_policy({"candidates": {"nps_survey": {
        "template_id": "nps_survey", "audience": "not role:billing", "window_days": 5,
        "every_days": 28, **rules}}})


def surveys(inputs, policy, as_of=AS_OF) -> pd.DataFrame:
    return rule(generate_candidates(inputs, policy, as_of), "nps_survey")


def test_nps_survey_asks_every_contact_once_a_period_by_email_on_a_stable_day(policy):
    # A 28-day period inside a 28-day horizon: every contact is asked, once or twice.
    inputs = make_inputs([account("a1", "mid_market")])
    asked = surveys(inputs, nps_policy())
    assert set(asked["contact_id"]) == {"a1-champ", "a1-admin", "a1-user"}
    assert set(asked["channel"]) == {"email"} and asked["csm_id"].isna().all()
    gaps = asked.groupby("contact_id")["earliest_at"].diff().dropna()
    assert (gaps == pd.Timedelta(days=28)).all()
    # The next night proposes the same surveys (the day is a stable hash of the contact).
    tomorrow = surveys(inputs, nps_policy(), AS_OF + timedelta(days=1))
    assert set(asked.loc[asked["earliest_at"].dt.date > AS_OF + timedelta(days=1),
                         "touch_id"]) <= set(tomorrow["touch_id"])
    # The shipped program is quarterly: never two surveys to a contact in the horizon.
    shipped = surveys(inputs, policy)
    assert shipped["contact_id"].is_unique


def test_nps_survey_keeps_away_from_tickets_onboarding_week_one_and_recent_answers():
    from dataclasses import replace

    inputs = make_inputs([account("a1", "mid_market"), account("a2", "mid_market"),
                          account("a3", "mid_market", contract_start="2026-03-01"),
                          account("a4", "mid_market")],
                         nps=[{"contact_id": "a4-champ", "score": 8,
                               "responded_at": "2026-02-20T10:00:00Z"}])
    tickets = frame("recent_tickets", [
        # a1: a ticket closed the day before the plan date -> no survey for 30 days
        {"ticket_id": "k1", "account_id": "a1", "contact_id": "a1-user",
         "opened_at": "2026-02-20T10:00:00Z", "closed_at": "2026-03-01T10:00:00Z"},
        # a2: one closed long ago does not count
        {"ticket_id": "k2", "account_id": "a2", "contact_id": "a2-user",
         "opened_at": "2025-12-01T10:00:00Z", "closed_at": "2025-12-03T10:00:00Z"},
    ])
    asked = surveys(replace(inputs, recent_tickets=tickets), nps_policy())
    assert not (asked["account_id"] == "a1").any()
    assert set(asked.loc[asked["account_id"] == "a2", "contact_id"]) == {
        "a2-champ", "a2-admin", "a2-user"}
    # a3 started on 1 March: nothing in its first 7 days.
    assert (asked.loc[asked["account_id"] == "a3", "earliest_at"].dt.date
            >= date(2026, 3, 8)).all()
    # a4's champion answered on 20 February: not asked again within 60 days.
    assert set(asked.loc[asked["account_id"] == "a4", "contact_id"]) == {"a4-admin", "a4-user"}
    # An open ticket keeps every survey of its account away while it is open.
    open_ticket = frame("recent_tickets", [{"ticket_id": "k3", "account_id": "a2",
                                            "opened_at": "2026-03-02T08:00:00Z"}])
    asked = surveys(replace(inputs, recent_tickets=open_ticket), nps_policy())
    assert not (asked["account_id"] == "a2").any()


def usage_rows(account_id: str, *rows) -> pd.DataFrame:
    """Onboarding usage: (day, feature, logins, events)."""
    return frame("onboarding_usage", [
        {"account_id": account_id, "usage_date": d, "feature": f, "logins": lo, "events": ev,
         "active_users": 1} for d, f, lo, ev in rows])


def test_stalled_milestone_gets_its_nudge_and_reached_ones_none(policy):
    from dataclasses import replace

    # Started 12 days ago, logged in on day 1, never set up an integration: setup (due
    # day 10) stalled, so its nudge goes; first value waits for setup.
    inputs = make_inputs([account("a1", "mid_market", contract_start="2026-02-18")])
    stalled = replace(inputs, onboarding_usage=usage_rows(
        "a1", ("2026-02-19", None, 3, 40), ("2026-02-19", "dashboards", 2, 10)))
    nudges = generate_candidates(stalled, policy, AS_OF)
    nudges = nudges[nudges["rule_id"].str.startswith("onboarding_journey.milestones.")]
    assert set(nudges["rule_id"]) == {"onboarding_journey.milestones.setup_done"}
    assert nudges["latest_at"].dt.date.max() == date(2026, 3, 3)  # due 28 Feb + 3 days
    # Setup done on day 11: the setup nudge stops; first value is due on day 21.
    advanced = replace(inputs, onboarding_usage=usage_rows(
        "a1", ("2026-02-19", None, 3, 40), ("2026-03-01", "integrations", 1, 5)))
    later = generate_candidates(advanced, policy, AS_OF)
    assert set(later.loc[later["rule_id"].str.startswith("onboarding_journey.milestones."),
                         "rule_id"]) == {"onboarding_journey.milestones.first_value"}
    value = rule(later, "onboarding_journey.milestones.first_value")
    assert value[["channel", "contact_id"]].values.tolist() == [["call", "a1-champ"]]
    # Without any usage the first milestone (login, due day 3) stalled long ago: none.
    assert not generate_candidates(inputs, policy, AS_OF)["rule_id"].str.startswith(
        "onboarding_journey.milestones.").any()


def test_a_step_is_not_sent_once_its_milestone_is_reached(policy):
    from dataclasses import replace

    inputs = make_inputs([account("a1", "smb", contract_start="2026-02-28")])
    before = rule(generate_candidates(inputs, policy, AS_OF),
                  "onboarding_journey.setup_reminder")
    assert len(before)  # day 3, 3 March
    done = replace(inputs, onboarding_usage=usage_rows(
        "a1", ("2026-03-01", "integrations", 1, 4)))
    assert rule(generate_candidates(done, policy, AS_OF),
                "onboarding_journey.setup_reminder").empty


def test_a_step_naming_an_unknown_milestone_is_rejected_naming_the_key():
    from cadence.policy import PolicyError

    with pytest.raises(PolicyError, match=r"onboarding_journey\.steps\.welcome\."
                                          r"until_milestone: 'setup' is not one of"):
        parse_policy({"candidates": {"onboarding_journey": {"steps": {"welcome": {
            "template_id": "w", "day": 1, "until_milestone": "setup"}}}}})
