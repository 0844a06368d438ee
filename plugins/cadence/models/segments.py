"""Segments (DESIGN §6): the ``segments`` policy section, the nightly glue that builds the
SCD2 ``segment_membership`` and the reader every later step uses.

Membership is SQL: ``segment_daily`` snapshots each day's segments and
``segment_membership`` is rebuilt from all snapshots, so reruns and backfills in any order
give the same history.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd
from pydantic import Field, model_validator

from cadence.contract.policy_section import Section
from cadence.contract.warehouse import Warehouse
from cadence.models.runner import build_models

if TYPE_CHECKING:
    from cadence.policy import Policy

SEGMENT_MODELS = ["segment_daily", "segment_membership"]
NAMED_STRATEGIC_TABLE = "segment_named_strategic_accounts"


class SegmentPolicy(Section):
    """Thresholds of tiers, stages and signals."""

    # tiers: ARR at or above each threshold; named accounts are strategic whatever their ARR
    strategic_min_arr: float = Field(500_000, ge=0)
    enterprise_min_arr: float = Field(100_000, ge=0)
    mid_market_min_arr: float = Field(25_000, ge=0)
    smb_min_arr: float = Field(5_000, ge=0)
    strategic_accounts: tuple[str, ...] = ()
    # stages
    onboarding_days: int = Field(90, gt=0)
    adoption_days: int = Field(365, gt=0)
    renewal_window_days: int = Field(90, ge=0)
    # signals
    at_risk_score_drop: float = Field(15, gt=0)
    expansion_seat_share: float = Field(0.9, gt=0)
    expansion_engagement_min: float = Field(90, ge=0, le=100)
    promoter_min_score: int = Field(9, ge=0, le=10)
    promoter_window_hours: int = Field(48, gt=0)
    detractor_max_score: int = Field(6, ge=0, le=10)
    silent_days: int = Field(30, gt=0)
    inactive_days: int = Field(14, gt=0, le=60)  # logins are looked back 60 days

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> SegmentPolicy:
        arr = [self.strategic_min_arr, self.enterprise_min_arr, self.mid_market_min_arr,
               self.smb_min_arr]
        if arr != sorted(arr, reverse=True):
            raise ValueError("tier ARR thresholds must decrease from strategic to smb")
        if self.adoption_days <= self.onboarding_days:
            raise ValueError("adoption_days must be greater than onboarding_days")
        return self

    def sql_params(self) -> dict[str, Any]:
        """The section as bound SQL parameters ``segment_<key>``; the named strategic
        accounts go to a table instead (:func:`write_named_strategic_accounts`)."""
        values = self.model_dump(exclude={"strategic_accounts"})
        return {f"segment_{key}": value for key, value in values.items()}


def write_named_strategic_accounts(warehouse: Warehouse, policy: Policy) -> int:
    """Replace the parameter table of accounts named strategic in policy."""
    names = pd.DataFrame(
        {"account_id": pd.Series(list(policy.segments.strategic_accounts), dtype="object")}
    )
    return warehouse.write_frame(NAMED_STRATEGIC_TABLE, names, replace_all=True)


def assign_segments(warehouse: Warehouse, policy: Policy, as_of: date) -> dict[str, int]:
    """DAG task ``assign_segments``: snapshot the segments of ``as_of`` and rebuild the SCD2
    ``segment_membership``. Needs ``score_account_health`` of the same date first. Returns
    rows per model."""
    write_named_strategic_accounts(warehouse, policy)
    return build_models(warehouse, policy, as_of, SEGMENT_MODELS)


def segments_at(warehouse: Warehouse, as_of: date) -> pd.DataFrame:
    """The segments of every account on ``as_of`` (account_id, segment_type, segment_key)."""
    return warehouse.read_frame(warehouse.render("queries/segments_at.sql"), {"as_of": as_of})
