"""Champion change: a new key contact is seen night to night, and starts a CSM task and a
two-step introduction to the new contact."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pandas as pd

from cadence.candidates.champion_change import (
    champion_changes,
    detect_champion_changes,
    key_contacts,
)
from cadence.candidates.generate import generate_candidates
from cadence.planner.priority import touch_classes
from tests.unit.test_candidates import AS_OF, account, frame, make_inputs, rule

ROLES = ["champion", "admin", "executive", "user", "billing"]


def people(*rows) -> pd.DataFrame:
    return pd.DataFrame([{"contact_id": c, "account_id": a, "role": r, "is_primary": p,
                          "email": f"{c}@example.com", "first_name": c, "timezone": None}
                         for c, a, r, p in rows])


def test_each_kind_of_change_is_named_and_new_or_unchanged_accounts_are_not_changes():
    before = people(("c1", "a1", "champion", True), ("c1b", "a1", "admin", False),
                    ("c2", "a2", "champion", True), ("c2b", "a2", "admin", False),
                    ("c3", "a3", "champion", False), ("c3b", "a3", "admin", False),
                    ("c4", "a4", "champion", True), ("c5", "a5", "admin", True),
                    ("c6", "a6", "champion", True), ("c6b", "a6", "user", False))
    previous = key_contacts(before, pd.Series(dtype=object), ROLES)
    after = people(("c1b", "a1", "admin", False),               # c1 left
                   ("c2", "a2", "champion", True), ("c2b", "a2", "admin", False),
                   ("c3", "a3", "user", False), ("c3b", "a3", "admin", False),  # demoted
                   ("c4", "a4", "champion", True),
                   ("c6", "a6", "champion", False), ("c6b", "a6", "user", True),
                   ("c7", "a7", "admin", True))                 # a new account
    bounced = pd.Series(["c2"])
    current = key_contacts(after, bounced, ROLES)
    changes = champion_changes(previous, current, after, bounced, AS_OF)
    got = {r.account_id: (r.kind, r.previous_contact_id, r.new_contact_id)
           for r in changes.itertuples()}
    assert got == {"a1": ("left", "c1", "c1b"), "a2": ("bounced", "c2", "c2b"),
                   "a3": ("role_changed", "c3", "c3b"), "a6": ("replaced", "c6", "c6b")}
    assert (changes["changed_on"] == AS_OF).all()


def test_a_change_brings_a_csm_call_and_a_two_step_introduction_to_the_new_contact(policy):
    changed_on = AS_OF - timedelta(days=2)
    changes = frame("champion_changes", [{
        "changed_on": changed_on.isoformat(), "account_id": "a1",
        "previous_contact_id": "a1-gone", "previous_role": "champion",
        "new_contact_id": "a1-admin", "new_role": "admin", "kind": "left"}])
    inputs = replace(make_inputs([account("a1", "mid_market"), account("a2", "mid_market")]),
                     champion_changes=changes)
    candidates = generate_candidates(inputs, policy, AS_OF)
    task = rule(candidates, "champion_change.csm_task")
    assert task[["contact_id", "channel", "csm_id"]].values.tolist() == [
        ["a1-admin", "call", "csm1"]]
    intro = rule(candidates, "champion_change.introduction")
    assert intro["contact_id"].tolist() == ["a1-admin", "a1-admin"]
    assert set(intro["channel"]) == {"email"} and intro["csm_id"].isna().all()
    # Steps one and eight days after the change; the first may go from the plan date on.
    assert [d.date() for d in intro["latest_at"]] == [
        changed_on + timedelta(days=1 + 4), changed_on + timedelta(days=8 + 4)]
    # Both count as lifecycle-critical (policy classes): never dropped for caps.
    names = policy.classes.names
    assert {names[k] for k in touch_classes(pd.concat([task, intro]), policy.classes)} == {
        "lifecycle_critical"}
    # The next night proposes the same touches (anchored on the day the change was seen).
    again = generate_candidates(inputs, policy, AS_OF + timedelta(days=1))
    assert set(rule(again, "champion_change.introduction")["touch_id"]) == set(
        intro["touch_id"])


def test_nightly_detection_compares_with_the_previous_snapshot_idempotently(any_warehouse):
    day1, day2 = date(2026, 3, 1), date(2026, 3, 2)
    contacts = people(("c1", "a1", "champion", True), ("c1b", "a1", "admin", False),
                      ("c2", "a2", "champion", True))
    no_bounce = pd.DataFrame({"email": ["x@example.com"], "contact_id": [None],
                              "reason": ["bounce"], "scope": ["email"],
                              "created_at": [pd.Timestamp("2026-01-01", tz="UTC")]})
    any_warehouse.write_frame("stg_contacts", contacts, replace_all=True)
    any_warehouse.write_frame("stg_suppressions", no_bounce, replace_all=True)
    first = detect_champion_changes(any_warehouse, ROLES, day1)
    assert first["champion_changes"] == 0  # the first night has nothing to compare with
    # c1's address bounces on day 2: the admin becomes the key contact.
    bounce = no_bounce.assign(email="c1@example.com",
                              created_at=pd.Timestamp("2026-03-02T08:00", tz="UTC"))
    any_warehouse.write_frame("stg_suppressions", bounce, replace_all=True)
    for _ in range(2):  # a rerun of the day gives the same rows
        assert detect_champion_changes(any_warehouse, ROLES, day2)["by_kind"] == {"bounced": 1}
    changes = any_warehouse.read_table("champion_changes")
    assert changes[["account_id", "new_contact_id", "kind"]].values.tolist() == [
        ["a1", "c1b", "bounced"]]
    assert any_warehouse.count("key_contact_snapshots") == 4
