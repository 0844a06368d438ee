"""Policy sections ``learning`` (what engagement may steer) and ``experiments`` (cadence
experiments: population, arms overriding part of the policy, holdout, dates)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field, field_validator, model_validator

from cadence.contract.policy_section import Section


class SendTimeLearning(Section):
    """The preferred send slot learned from opens: per contact with enough history, else
    per tier segment, else the policy slot (``planner.timing.send_hour``)."""

    enabled: bool = True
    channels: list[str] = Field(default_factory=lambda: ["email", "in_app"])
    lookback_days: int = Field(90, ge=7)
    min_contact_delivered: int = Field(5, ge=1)  # delivered messages before a contact's own slot
    min_contact_opens: int = Field(2, ge=1)  # opens in the best slot before it counts
    min_segment_delivered: int = Field(40, ge=1)
    min_segment_opens: int = Field(5, ge=1)


class MixLearning(Section):
    """The promotional share cap (``planner.limits.promotional_max_share``) per tier follows
    how promotional mail engages compared with educational mail, inside these bounds."""

    enabled: bool = True
    lookback_days: int = Field(60, ge=7)
    min_delivered: int = Field(50, ge=1)  # of each message type in the tier
    min_share: float = Field(0.1, ge=0, le=1)
    max_share: float = Field(0.3, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> MixLearning:
        if self.min_share > self.max_share:
            raise ValueError("min_share must not exceed max_share")
        return self


class LearningPolicy(Section):
    """Policy section ``learning``."""

    send_time: SendTimeLearning = SendTimeLearning()
    mix: MixLearning = MixLearning()


class Arm(Section):
    """One arm: its share of the population and the policy keys it overrides (a nested
    mapping deep-merged onto the policy, e.g. ``planner: {limits: {email_per_7_days: 3}}``)."""

    share: float = Field(gt=0, le=1)
    overrides: dict[str, Any] = Field(default_factory=dict)


class Experiment(Section):
    """A cadence experiment: accounts of ``population`` (an audience expression over tier,
    stage and signal segments) are assigned by a stable hash of account id and ``salt``;
    ``holdout_share`` of them get only transactional and lifecycle touches."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    population: str = "all"
    start: date
    end: date
    salt: str = ""  # default: the id; change it to reshuffle a rerun experiment
    holdout_share: float = Field(0.0, ge=0, lt=1)
    arms: dict[str, Arm]
    min_sample_per_arm: int = Field(100, ge=1)  # delivered messages before a readout counts
    metric_weeks: int = Field(8, ge=1)

    @field_validator("arms")
    @classmethod
    def _arms(cls, value: dict[str, Arm]) -> dict[str, Arm]:
        if len(value) < 2:
            raise ValueError("an experiment needs at least two arms")
        if "holdout" in value:
            raise ValueError("'holdout' is reserved for the holdout share")
        return value

    @model_validator(mode="after")
    def _shares(self) -> Experiment:
        total = sum(arm.share for arm in self.arms.values()) + self.holdout_share
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"arm shares plus holdout_share must add up to 1, not {total:g}")
        if self.end < self.start:
            raise ValueError("end is before start")
        return self

    def running(self, day: date) -> bool:
        """Whether the experiment assigns accounts on ``day``."""
        return self.start <= day <= self.end
