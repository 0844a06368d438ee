"""Account health (DESIGN §6): the ``health`` policy section and the nightly glue that
builds ``account_health`` with the SQL models of ``include/sql``.

The scoring itself is SQL (``int_account_facts`` -> ``int_health_components`` ->
``account_health``); the formulas are documented in ``include/sql/intermediate/schema.yml``.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator

from cadence.contract.policy_section import Section
from cadence.contract.warehouse import Warehouse
from cadence.models.runner import build_models

if TYPE_CHECKING:
    from cadence.policy import Policy

# The models score_account_health builds, in any order (the runner sorts them).
HEALTH_MODELS = [
    "int_account_daily_usage",
    "int_account_facts",
    "int_health_components",
    "account_health",
]


class HealthWeights(Section):
    """Weight of each component in the score; they must sum to 1."""

    product_usage: float = Field(0.25, ge=0, le=1)
    adoption_breadth: float = Field(0.15, ge=0, le=1)
    engagement: float = Field(0.15, ge=0, le=1)
    support: float = Field(0.15, ge=0, le=1)
    sentiment: float = Field(0.15, ge=0, le=1)
    commercial: float = Field(0.15, ge=0, le=1)

    @model_validator(mode="after")
    def _sum_to_one(self) -> HealthWeights:
        total = sum(self.model_dump().values())
        if abs(total - 1) > 1e-6:
            raise ValueError(f"weights must sum to 1, they sum to {total:g}")
        return self


class HealthPolicy(Section):
    """Targets, penalties, weights and bands of the health score."""

    weights: HealthWeights = HealthWeights()
    green_min_score: float = Field(70, ge=0, le=100)
    red_below_score: float = Field(40, ge=0, le=100)
    # product usage: average daily active users per seat that scores 100
    active_users_per_seat_target: float = Field(0.6, gt=0)
    usage_trend_share: float = Field(0.3, ge=0, le=1)
    # adoption breadth: distinct features used in 30 days that score 100
    features_target: int = Field(5, gt=0)
    # engagement: logins per seat in 30 days that score 100
    logins_per_seat_target: float = Field(40, gt=0)
    message_engagement_share: float = Field(0.3, ge=0, le=1)
    # support: points taken off 100 per ticket
    open_p1_penalty: float = Field(40, ge=0)
    open_p2_penalty: float = Field(20, ge=0)
    low_csat_penalty: float = Field(25, ge=0)
    # sentiment without any NPS response in the lookback
    neutral_sentiment: float = Field(50, ge=0, le=100)
    nps_lookback_days: int = Field(180, gt=0)
    # commercial: an open renewal closer than this loses points linearly down to 0
    renewal_risk_days: int = Field(90, gt=0)

    @model_validator(mode="after")
    def _bands_ordered(self) -> HealthPolicy:
        if self.red_below_score > self.green_min_score:
            raise ValueError("red_below_score must not exceed green_min_score")
        return self

    def sql_params(self) -> dict[str, Any]:
        """The section as bound SQL parameters ``health_<key>`` (weights as
        ``health_weight_<component>``)."""
        values = self.model_dump(exclude={"weights"})
        params = {f"health_{key}": value for key, value in values.items()}
        params.update({f"health_weight_{k}": v for k, v in self.weights.model_dump().items()})
        return params


def score_account_health(warehouse: Warehouse, policy: Policy, as_of: date) -> dict[str, int]:
    """DAG task ``score_account_health``: rebuild the ``as_of`` partition of
    ``account_health`` (and its intermediate models) from the staged sources as known on
    ``as_of``. Needs ``build_staging`` first. Returns rows per model."""
    return build_models(warehouse, policy, as_of, HEALTH_MODELS)
