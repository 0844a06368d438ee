"""Champion change (the classic churn warning): when the contact an account's human
touches address — its champion or primary contact — leaves, changes role or starts to
bounce, the CSM gets a task and the new primary contact a two-step introduction.

Detected from contact history: each night keeps the account's key contact (the flagged
primary, else the first by ``candidates.primary_roles``, among contacts whose email has
not bounced) in ``key_contact_snapshots`` (partition as_of_date) and compares it with the
previous snapshot; a different key contact is a change, written to ``champion_changes``
(partition changed_on) with its kind:

- ``left``: the previous key contact is no longer among the account's contacts;
- ``bounced``: it is still there but its email bounced (a bounce suppression by then);
- ``role_changed``: it is still there with another role;
- ``replaced``: it is still there, same role, but another contact was made primary.

Candidates (policy ``candidates.champion_change``) are anchored on the day the change was
seen, so every night proposes the same touch ids; the first night (no previous snapshot)
sees no change.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from cadence.candidates.assembly import (
    DAY,
    PlanContext,
    address,
    assemble_spec,
    empty_candidates,
    primary_contacts,
)
from cadence.contract.warehouse import Warehouse

SNAPSHOT_COLUMNS = ["as_of_date", "account_id", "contact_id", "role"]
CHANGE_COLUMNS = ["changed_on", "account_id", "previous_contact_id", "previous_role",
                  "new_contact_id", "new_role", "kind"]


def key_contacts(contacts: pd.DataFrame, bounced: pd.Series,
                 role_order: list[str]) -> pd.DataFrame:
    """account_id, contact_id, role of each account's key contact among the contacts whose
    id is not in ``bounced``."""
    reachable = contacts[~contacts["contact_id"].isin(bounced)]
    key = primary_contacts(reachable, role_order)
    return key.merge(reachable[["contact_id", "role"]], on="contact_id", how="left")


def champion_changes(previous: pd.DataFrame, current: pd.DataFrame, contacts: pd.DataFrame,
                     bounced: pd.Series, as_of: date) -> pd.DataFrame:
    """The ``champion_changes`` rows of ``as_of``: accounts whose key contact differs from
    the previous snapshot's, with the kind of change (accounts new since then are not
    changes)."""
    pairs = previous[["account_id", "contact_id", "role"]].merge(
        current[["account_id", "contact_id", "role"]], on="account_id",
        suffixes=("_previous", "_new"))
    pairs = pairs[pairs["contact_id_previous"] != pairs["contact_id_new"]]
    still = contacts[["contact_id", "account_id", "role"]].rename(
        columns={"contact_id": "contact_id_previous", "role": "role_now"})
    pairs = pairs.merge(still, on=["account_id", "contact_id_previous"], how="left")
    present = pairs["role_now"].notna() | pairs["contact_id_previous"].isin(
        contacts["contact_id"])
    kind = np.select(
        [~present, pairs["contact_id_previous"].isin(bounced),
         pairs["role_now"].astype(object) != pairs["role_previous"].astype(object)],
        ["left", "bounced", "role_changed"], "replaced")
    return pd.DataFrame({
        "changed_on": as_of, "account_id": pairs["account_id"],
        "previous_contact_id": pairs["contact_id_previous"],
        "previous_role": pairs["role_previous"], "new_contact_id": pairs["contact_id_new"],
        "new_role": pairs["role_new"], "kind": kind,
    }, columns=CHANGE_COLUMNS).sort_values("account_id", kind="stable").reset_index(drop=True)


def detect_champion_changes(warehouse: Warehouse, role_order: list[str], as_of: date) -> dict:
    """Nightly: write today's key contacts (``key_contact_snapshots``, partition as_of_date)
    and the changes since the previous snapshot before ``as_of`` (``champion_changes``,
    partition changed_on); both replaced, so a rerun or backfill of a day is idempotent."""
    params = {"as_of": as_of, "day_end": pd.Timestamp(as_of, tz="UTC") + DAY}
    contacts = warehouse.read_frame(warehouse.render("candidates/contacts.sql"), params)
    bounced = warehouse.read_frame(warehouse.render("candidates/bounced_contacts.sql"),
                                   params)["contact_id"]
    current = key_contacts(contacts, bounced, role_order).assign(as_of_date=as_of)
    previous = pd.DataFrame(columns=SNAPSHOT_COLUMNS)
    if warehouse.table_exists("key_contact_snapshots"):
        previous = warehouse.read_frame(
            warehouse.render("candidates/previous_key_contacts.sql"), params)
    changes = champion_changes(previous, current, contacts, bounced, as_of)
    warehouse.write_frame("key_contact_snapshots", current[SNAPSHOT_COLUMNS],
                          replace_where={"as_of_date": as_of})
    warehouse.write_frame("champion_changes", changes, replace_where={"changed_on": as_of})
    return {"key_contacts": len(current), "champion_changes": len(changes),
            "by_kind": {str(k): int(v) for k, v in changes["kind"].value_counts().items()}}


def champion_change_candidates(ctx: PlanContext) -> pd.DataFrame:
    """Candidates of every ``champion_change`` rule for the changes of its kinds among
    active accounts of its tiers: each step addressed to the new key contact, human
    touches carrying the account's CSM."""
    changes = ctx.inputs.champion_changes
    frames = []
    for key, rule in ctx.policy.champion_change.items():
        accounts = ctx.active_accounts
        if rule.tiers is not None:
            accounts = accounts[accounts["tier"].isin(rule.tiers)]
        episodes = changes[changes["kind"].isin(rule.kinds)
                           & changes["account_id"].isin(accounts["account_id"])]
        if episodes.empty:
            continue
        occurrences = pd.concat([episodes.assign(
            intended=episodes["changed_on"] + days * DAY, step=step)
            for step, days in enumerate(rule.steps_days)], ignore_index=True)
        occurrences = occurrences[ctx.in_horizon(occurrences["intended"], rule)]
        if occurrences.empty:
            continue
        rows = address(occurrences.assign(contact_id=occurrences["new_contact_id"]), rule,
                       ctx)
        frames.append(assemble_spec(
            rows[["contact_id", "account_id", "csm_id", "channel", "intended"]],
            rule, f"champion_change.{key}", "trigger", ctx))
    return pd.concat(frames, ignore_index=True) if frames else empty_candidates()
