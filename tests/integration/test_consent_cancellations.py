"""Which scheduled touches the hourly consent step cancels (DESIGN §8 rule 1), rule by rule
and edge by edge, on both warehouses; and, over random worlds, that the warehouse's
decision (``handoff/forbidden_touches.sql``) is the one :func:`forbidden_reasons` makes for
the touches dispatch is about to send."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadence.handoff import store
from cadence.handoff.consent import (
    COLUMNS,
    add_suppressions,
    cancel_forbidden,
    forbidden_reasons,
    read_contacts,
    read_suppressions,
)
from tests.integration.handoff_fixtures import (
    PLAN_DATE,
    at,
    calendar,
    seed_calendar,
    seed_people,
    touch,
)

NOW = at("10:10")


def _consent(warehouse, rows: list[tuple]) -> None:
    """The consent table as the sync leaves it: (email, contact_id, reason, scope) rows,
    merged in its order."""
    frame = pd.DataFrame(rows, columns=["email", "contact_id", "reason", "scope"]).assign(
        source="files", created_at=pd.Timestamp(at("09:00")),
        synced_at=pd.Timestamp(at("09:05")))
    warehouse.execute("delete from consent_suppressions")
    add_suppressions(warehouse, frame.astype({"email": object, "contact_id": object,
                                              "scope": object})[COLUMNS])


# touch id -> (contact, channel, message_type, category, the detail that cancels it or None)
CASES = {
    # unsubscribe scope all, named by email (the contact's has capitals and blanks):
    # everything but transactional, a touch without a message type included
    "u_all_email": ("c1", "email", "educational", "educational", "unsubscribe (scope all)"),
    "u_all_in_app": ("c1", "in_app", "promotional", "promotional", "unsubscribe (scope all)"),
    "u_all_untyped": ("c1", "sms", None, None, "unsubscribe (scope all)"),
    "u_all_receipt": ("c1", "email", "transactional", "operational", None),
    # unsubscribe scope marketing, by contact id: promotional and educational only
    "u_mkt_promo": ("c2", "sms", "promotional", "promotional", "unsubscribe (scope marketing)"),
    "u_mkt_tips": ("c2", "email", "educational", "educational",
                   "unsubscribe (scope marketing)"),
    "u_mkt_relationship": ("c2", "email", "relationship", "relationship", None),
    "u_mkt_operational": ("c2", "email", "operational", "operational", None),
    "u_mkt_receipt": ("c2", "email", "transactional", "operational", None),
    # unsubscribe scope email: non-transactional email only
    "u_email_email": ("c3", "email", "relationship", "relationship",
                      "unsubscribe (scope email)"),
    "u_email_in_app": ("c3", "in_app", "educational", "educational", None),
    "u_email_receipt": ("c3", "email", "transactional", "operational", None),
    # bounce (by email) and spam report (by contact id): any email, transactional included
    "bounce_email": ("c4", "email", "educational", "educational", "bounce (scope email)"),
    "bounce_receipt": ("c4", "email", "transactional", "operational", "bounce (scope email)"),
    "bounce_in_app": ("c4", "in_app", "educational", "educational", None),
    "spam_receipt": ("c5", "email", "transactional", "operational",
                     "spam_report (scope email)"),
    "spam_sms": ("c5", "sms", "promotional", "promotional", None),
    # erasure (by contact id), do_not_contact (by email): everything
    "erased_receipt": ("c6", "in_app", "transactional", "operational",
                       "erasure (scope all)"),
    "dnc_sms_receipt": ("c7", "sms", "transactional", "operational",
                        "do_not_contact (scope all)"),
    # a never preference: that category on that channel, not transactional
    "never_promo_email": ("c8", "email", "promotional", "promotional",
                          "opt_out (scope promotional/email)"),
    "never_promo_in_app": ("c8", "in_app", "promotional", "promotional", None),
    "never_tips_email": ("c8", "email", "educational", "educational", None),
    "never_receipt": ("c8", "email", "transactional", "promotional", None),
    # several forbid: the strongest names the reason; as strong, the contact id's first
    "strongest": ("c9", "email", "promotional", "promotional", "erasure (scope all)"),
    "erasure_over_dnc": ("c15", "email", "educational", "educational",
                         "erasure (scope all)"),
    "dnc_over_spam": ("c16", "email", "educational", "educational",
                      "do_not_contact (scope all)"),
    "spam_over_bounce": ("c17", "email", "educational", "educational",
                         "spam_report (scope email)"),
    "bounce_over_unsubscribe": ("c18", "email", "educational", "educational",
                                "bounce (scope email)"),
    "unsubscribe_over_never": ("c19", "email", "promotional", "promotional",
                               "unsubscribe (scope email)"),
    "by_id_first": ("c10", "email", "educational", "educational",
                    "unsubscribe (scope marketing)"),
    # a contact no longer staged is still found by contact id, not by an email
    "unstaged_by_id": ("c99", "email", "educational", "educational",
                       "unsubscribe (scope all)"),
    "unstaged_by_email": ("c98", "email", "educational", "educational", None),
    # a contact without an email; an address that is nearly the contact's
    "no_email": ("c11", "email", "educational", "educational", None),
    "near_miss": ("c12", "email", "educational", "educational", None),
    # a suppression without a scope still forbids what its reason forbids (fails closed)
    "no_scope_erasure": ("c13", "in_app", "educational", "educational", "erasure (scope )"),
    "no_scope_unsubscribe": ("c14", "email", "educational", "educational", None),
}
SUPPRESSIONS = [
    ("c1@example.com", None, "unsubscribe", "all"),
    (None, "c2", "unsubscribe", "marketing"),
    (None, "c3", "unsubscribe", "email"),
    ("c4@example.com", None, "bounce", "email"),
    (None, "c5", "spam_report", "email"),
    (None, "c6", "erasure", "all"),
    ("c7@example.com", None, "do_not_contact", "all"),
    (None, "c8", "opt_out", "promotional/email"),
    (None, "c9", "unsubscribe", "all"), ("c9@example.com", None, "bounce", "email"),
    (None, "c9", "erasure", "all"), (None, "c9", "opt_out", "promotional/email"),
    ("c10@example.com", None, "unsubscribe", "all"), (None, "c10", "unsubscribe", "marketing"),
    ("c15@example.com", None, "do_not_contact", "all"), (None, "c15", "erasure", "all"),
    (None, "c16", "spam_report", "email"), ("c16@example.com", None, "do_not_contact", "all"),
    ("c17@example.com", None, "bounce", "email"), (None, "c17", "spam_report", "email"),
    (None, "c18", "unsubscribe", "all"), ("c18@example.com", None, "bounce", "email"),
    (None, "c19", "opt_out", "promotional/email"), (None, "c19", "unsubscribe", "email"),
    (None, "c99", "unsubscribe", "all"), ("c98@example.com", None, "unsubscribe", "all"),
    ("c11@example.com", None, "unsubscribe", "all"),
    ("c12@example.co", None, "unsubscribe", "all"),
    (None, "c13", "erasure", None), (None, "c14", "unsubscribe", None),
]


def _case_world(warehouse) -> None:
    seed_people(warehouse, contacts=19)
    staged = warehouse.read_table("stg_contacts")
    staged.loc[staged["contact_id"] == "c1", "email"] = "  C1@Example.COM "
    staged.loc[staged["contact_id"] == "c11", "email"] = None
    warehouse.write_frame("stg_contacts", staged, replace_all=True)
    rows = [touch(t, contact, at("10:30"), channel=channel, message_type=kind,
                  category=category)
            for t, (contact, channel, kind, category, _) in CASES.items()]
    # what the step leaves alone though c1 unsubscribed: a touch no longer scheduled, one
    # handed to a provider, and those of another plan
    rows += [{**touch("sent", "c1", at("09:30")), "status": "sent"},
             {**touch("batched", "c1", at("10:30")), "batch_id": "b1"}]
    seed_calendar(warehouse, rows)
    for day, name in ((PLAN_DATE - timedelta(days=1), "yesterday"),
                      (PLAN_DATE + timedelta(days=1), "tomorrow")):
        seed_calendar(warehouse, [touch(name, "c1", at("10:30", day), plan_date=day)], day)
    _consent(warehouse, SUPPRESSIONS[:-2])
    # rows the sync never writes: no scope (written directly)
    warehouse.write_frame("consent_suppressions", pd.DataFrame({
        "email": [None, None], "contact_id": ["c13", "c14"],
        "reason": ["erasure", "unsubscribe"], "scope": [None, None], "source": "direct",
        "created_at": pd.Timestamp(at("09:00")), "synced_at": pd.Timestamp(at("09:05"))}))


def test_each_rule_cancels_what_it_forbids_and_nothing_else(any_warehouse, policy):
    _case_world(any_warehouse)
    expected = {t: case[-1] for t, case in CASES.items() if case[-1]}
    result = cancel_forbidden(any_warehouse, policy, NOW)
    assert result == {"plan_date": PLAN_DATE.isoformat(), "cancelled": len(expected)}
    cal = calendar(any_warehouse)
    cancelled = cal[cal["status"] == "cancelled"]
    assert dict(cancelled["reason"]) == {t: f"consent: {d}" for t, d in expected.items()}
    assert set(cal.drop(index=list(expected))["status"]) == {"scheduled", "sent"}
    assert cal.loc["sent", "status"] == "sent"
    decisions = any_warehouse.read_table("calendar_decisions").set_index("touch_id")
    assert len(decisions) == len(cal)  # still one decision per touch
    suppressed = decisions[decisions["decision"] == "suppressed"]
    assert dict(suppressed["detail"]) == expected
    assert set(suppressed["rule"]) == {"1.consent"}
    assert set(decisions.drop(index=list(expected))["decision"]) == {"scheduled"}
    # a second run finds nothing more to cancel
    assert cancel_forbidden(any_warehouse, policy, NOW)["cancelled"] == 0


def test_before_the_first_staging_contact_ids_still_cancel(warehouse, policy):
    seed_calendar(warehouse, [touch("by_id", "c1", at("10:30")),
                              touch("by_email", "c2", at("10:30"))])
    _consent(warehouse, [(None, "c1", "unsubscribe", "all"),
                         ("c2@example.com", None, "unsubscribe", "all")])
    assert cancel_forbidden(warehouse, policy, NOW)["cancelled"] == 1
    assert calendar(warehouse).loc["by_id", "status"] == "cancelled"


def test_without_a_plan_or_consent_nothing_is_cancelled(warehouse, policy):
    assert cancel_forbidden(warehouse, policy, NOW) == {"plan_date": None, "cancelled": 0}
    seed_people(warehouse)
    seed_calendar(warehouse, [touch("t1", "c1", at("10:30"))])
    assert cancel_forbidden(warehouse, policy, NOW)["cancelled"] == 0
    assert set(calendar(warehouse)["status"]) == {"scheduled"}


# -- the warehouse decides as forbidden_reasons does -------------------------------------
CONTACTS = ["c1", "c2", "c3"]
world = st.fixed_dictionaries({
    "emails": st.lists(st.sampled_from(["{c}@example.com", " {C}@Example.com", None,
                                        "shared@example.com"]),
                       min_size=len(CONTACTS), max_size=len(CONTACTS)),
    "touches": st.lists(st.tuples(
        st.sampled_from([*CONTACTS, "c4", None]),
        st.sampled_from(["email", "in_app", "sms", None]),
        st.sampled_from(["educational", "promotional", "relationship", "operational",
                         "transactional", None]),
        st.sampled_from(["educational", "promotional", "operational", None]),
        st.sampled_from(["scheduled", "scheduled", "scheduled", "sent"])),
        min_size=1, max_size=25),
    "suppressions": st.lists(st.tuples(
        st.sampled_from(["c1@example.com", "c2@example.com", "shared@example.com",
                         "c4@example.com", None]),
        st.sampled_from([*CONTACTS, "c4", None]),
        st.sampled_from(["erasure", "do_not_contact", "spam_report", "bounce",
                         "unsubscribe", "opt_out", "complaint"]),
        st.sampled_from(["all", "marketing", "email", "promotional/email",
                         "educational/in_app", "operational/sms", "/email", None])),
        max_size=10),
})


def test_the_warehouse_cancels_what_forbidden_reasons_forbids(warehouse, policy):
    @settings(max_examples=80, deadline=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(spec=world)
    def check(spec):
        seed_people(warehouse, len(CONTACTS))
        staged = warehouse.read_table("stg_contacts")
        staged["email"] = [e and e.format(c=c, C=c.upper())
                           for c, e in zip(CONTACTS, spec["emails"], strict=True)]
        warehouse.write_frame("stg_contacts", staged, replace_all=True)
        seed_calendar(warehouse, [
            {**touch(f"t{n:02}", contact, at("10:30"), channel=channel, message_type=kind,
                     category=category), "status": status}
            for n, (contact, channel, kind, category, status) in enumerate(spec["touches"])])
        _consent(warehouse, [s for s in spec["suppressions"] if s[0] or s[1]])
        touches = store.read(warehouse, "scheduled_touches", plan_date=PLAN_DATE)
        reasons = forbidden_reasons(touches, read_contacts(warehouse),
                                    read_suppressions(warehouse))
        expected = dict(zip(touches["touch_id"][reasons.notna()],
                            reasons[reasons.notna()], strict=True))

        assert cancel_forbidden(warehouse, policy, NOW)["cancelled"] == len(expected)
        decisions = warehouse.read_table("calendar_decisions").set_index("touch_id")
        suppressed = decisions[decisions["decision"] == "suppressed"]
        assert dict(suppressed["detail"]) == expected
        cal = calendar(warehouse)
        assert set(cal.index[cal["status"] == "cancelled"]) == set(expected)

    check()
