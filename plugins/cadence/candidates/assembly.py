"""Shared by every candidate source: the plan context, who a rule addresses, and the
assembly of occurrences into rows of the ``touch_candidates`` contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from cadence.candidates.inputs import CandidateInputs
from cadence.candidates.policy import HUMAN_CHANNELS, CandidatesPolicy, TouchSpec
from cadence.contract.audience import audience_mask
from cadence.contract.tables import TOUCH_CANDIDATES, touch_ids

DAY = pd.Timedelta(days=1)
# Carried next to the contract columns into the payload, then dropped.
PAYLOAD_EXTRAS = ("campaign_id", "event_at")


@dataclass
class PlanContext:
    """One plan date's inputs and policy, with the lookups every source shares."""

    inputs: CandidateInputs  # normalized
    policy: CandidatesPolicy
    as_of: date
    horizon_days: int
    _audiences: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    _role_contacts: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.start = pd.Timestamp(self.as_of)  # plan date, midnight (naive = UTC)
        self.end = self.start + self.horizon_days * DAY  # exclusive
        accounts = self.inputs.accounts
        tiers = self.inputs.segments.loc[self.inputs.segments["segment_type"] == "tier",
                                         ["account_id", "segment_key"]]
        tiers = tiers.drop_duplicates("account_id").rename(columns={"segment_key": "tier"})
        active = accounts[accounts["status"].isin(self.policy.active_statuses)]
        self.active_accounts = active.merge(tiers, on="account_id", how="left")
        self.primary = primary_contacts(self.inputs.contacts, self.policy.primary_roles)

    def role_contact(self, role: str | None) -> pd.DataFrame:
        """account_id, contact_id of the contact human touches address: the primary
        contact, or with ``role`` the account's contact of that role (flagged primary
        first, then the lowest contact_id)."""
        if role is None:
            return self.primary
        if role not in self._role_contacts:
            contacts = self.inputs.contacts[self.inputs.contacts["role"] == role]
            self._role_contacts[role] = primary_contacts(contacts, [role])
        return self._role_contacts[role]

    def audience(self, expression: str) -> pd.DataFrame:
        """contact_id, account_id of the contacts an audience expression selects."""
        if expression not in self._audiences:
            contacts = self.inputs.contacts
            mask = audience_mask(expression, contacts, self.inputs.segments)
            self._audiences[expression] = contacts.loc[mask, ["contact_id", "account_id"]]
        return self._audiences[expression]

    def in_horizon(self, intended: pd.Series, spec: TouchSpec) -> pd.Series:
        """Whether a touch intended on these dates may still go inside the horizon."""
        return ((intended + spec.window_days * DAY >= self.start)
                & (intended - spec.lead_days * DAY < self.end))


def primary_contacts(contacts: pd.DataFrame, role_order: list[str]) -> pd.DataFrame:
    """The one contact per account that human touches address: the flagged primary, else
    the first by role order (champion first by default), else the lowest contact_id."""
    rank = contacts["role"].map({r: i for i, r in enumerate(role_order)}).fillna(len(role_order))
    ordered = contacts.assign(_not_primary=~contacts["is_primary"], _rank=rank)
    ordered = ordered.sort_values(["account_id", "_not_primary", "_rank", "contact_id"])
    return ordered.drop_duplicates("account_id")[["account_id", "contact_id"]]


def channel_per_step(spec: TouchSpec, step: pd.Series) -> pd.Series:
    """The channel of each occurrence: the rule's channel, or its channels in rotation."""
    if not spec.channels:
        return pd.Series(spec.channel, index=step.index, dtype=object)
    rotation = np.array(spec.channels, dtype=object)
    return pd.Series(rotation[step.to_numpy(dtype=np.int64) % len(rotation)], index=step.index)


def address(occurrences: pd.DataFrame, spec: TouchSpec, ctx: PlanContext) -> pd.DataFrame:
    """Turn account occurrences (account_id, intended, step) into one row per recipient:
    human channels and ``recipients: primary`` go to the primary contact (or the contact of
    the rule's ``to_role``), the others to the rule's audience; human touches carry the
    account's CSM."""
    rows = occurrences.assign(channel=channel_per_step(spec, occurrences["step"]))
    rows = rows.merge(ctx.inputs.accounts[["account_id", "csm_id"]], on="account_id")
    human = rows["channel"].isin(HUMAN_CHANNELS)
    if "contact_id" not in rows.columns:
        to_primary = human | (spec.recipients == "primary")
        rows = pd.concat([
            rows[to_primary].merge(ctx.role_contact(spec.to_role), on="account_id"),
            rows[~to_primary].merge(ctx.audience(spec.audience), on="account_id"),
        ], ignore_index=True)
        human = rows["channel"].isin(HUMAN_CHANNELS)
    rows["csm_id"] = rows["csm_id"].where(human, None)
    return rows


def assemble_spec(rows: pd.DataFrame, spec: TouchSpec, rule_id: str, source: str,
                  ctx: PlanContext) -> pd.DataFrame:
    """Candidates of one policy rule from addressed rows (contact_id, account_id, csm_id,
    channel, intended)."""
    return assemble(rows.assign(
        team=spec.team, message_type=spec.message_type, category=spec.resolved_category(),
        template_id=spec.template_id, intent=spec.intent or rule_id.rsplit(".", 1)[-1],
        source=source, rule_id=rule_id, id_key=rule_id, lead_days=spec.lead_days,
        window_days=spec.window_days, priority=ctx.policy.priority(spec), urgent=spec.urgent,
    ), ctx)


def spec_touches(occurrences: pd.DataFrame, spec: TouchSpec, rule_id: str, source: str,
                 ctx: PlanContext) -> pd.DataFrame:
    """Candidates of one rule from its account occurrences (account_id, intended, step)."""
    return assemble_spec(address(occurrences, spec, ctx), spec, rule_id, source, ctx)


def assemble(rows: pd.DataFrame, ctx: PlanContext) -> pd.DataFrame:
    """Rows with the touch columns plus ``intended`` (date), ``id_key`` (rule or campaign),
    and either ``lead_days``/``window_days`` or explicit ``earliest_at``/``latest_at``,
    as ``touch_candidates`` rows (payload still empty)."""
    if rows.empty:
        return empty_candidates()
    rows = rows.reset_index(drop=True)
    intended = rows["intended"]
    if "earliest_at" not in rows.columns:
        rows["earliest_at"] = (intended - rows["lead_days"] * pd.to_timedelta(1, "D")
                               ).dt.tz_localize("UTC")
        rows["latest_at"] = (intended + (rows["window_days"] + 1) * pd.to_timedelta(1, "D")
                             - pd.Timedelta(seconds=1)).dt.tz_localize("UTC")
    # A touch whose window opened before the plan date may go from the plan date on.
    rows["earliest_at"] = rows["earliest_at"].clip(lower=ctx.start.tz_localize("UTC"))
    rows["touch_id"] = touch_ids(rows["contact_id"], rows["id_key"], intended)
    rows["plan_date"] = ctx.as_of
    rows["payload"] = None
    for column in ("hold", "note"):
        if column not in rows.columns:
            rows[column] = None
    for extra in PAYLOAD_EXTRAS:
        if extra not in rows.columns:
            rows[extra] = None
    rows["priority"] = rows["priority"].astype("int64")
    rows["urgent"] = rows["urgent"].astype(bool)
    return rows[[*TOUCH_CANDIDATES, *PAYLOAD_EXTRAS]]


def empty_candidates() -> pd.DataFrame:
    """No candidates, with the contract columns (and the payload extras)."""
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in [*TOUCH_CANDIDATES,
                                                                *PAYLOAD_EXTRAS]})
    for column in ("earliest_at", "latest_at"):
        frame[column] = pd.Series(dtype="datetime64[ns, UTC]")
    frame["priority"] = frame["priority"].astype("int64")
    frame["urgent"] = frame["urgent"].astype(bool)
    return frame
