"""The ``planner`` policy section: caps, spacing, mix, timing, blackouts, conflicts and CSM
capacity (DESIGN §8), with per-tier overrides of the contact and account limits."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt, field_validator

from cadence.contract.policy_section import Section
from cadence.contract.policy_types import Channel, IsoDate, Tier, Timezone

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Limits(Section):
    """Per-contact and per-account limits of non-transactional touches (rules 4, 5, 7)."""

    email_per_7_days: int = Field(2, ge=0)
    email_per_30_days: int = Field(8, ge=0)
    in_app_per_day: int = Field(1, ge=0)
    sms_per_7_days: int = Field(1, ge=0)
    all_channels_per_7_days: int = Field(3, ge=0)
    account_per_7_days: int = Field(10, ge=0)
    min_days_between_touches: int = Field(1, ge=0)
    min_days_between_promotional: int = Field(7, ge=0)
    promotional_max_share: float = Field(0.2, ge=0, le=1)
    promotional_share_window_days: int = Field(30, ge=1)


class LimitsOverride(Section):
    """A tier's changes to :class:`Limits`; unset keys keep the default."""

    email_per_7_days: int | None = Field(None, ge=0)
    email_per_30_days: int | None = Field(None, ge=0)
    in_app_per_day: int | None = Field(None, ge=0)
    sms_per_7_days: int | None = Field(None, ge=0)
    all_channels_per_7_days: int | None = Field(None, ge=0)
    account_per_7_days: int | None = Field(None, ge=0)
    min_days_between_touches: int | None = Field(None, ge=0)
    min_days_between_promotional: int | None = Field(None, ge=0)
    promotional_max_share: float | None = Field(None, ge=0, le=1)
    promotional_share_window_days: int | None = Field(None, ge=1)


class Blackout(Section):
    """Days a kind of touch never goes, every year, e.g. no QBR 15 Dec–5 Jan."""

    name: str
    start: str  # MM-DD, inclusive
    end: str  # MM-DD, inclusive; may be earlier than start (wraps over new year)
    templates: list[str] = Field(default_factory=list)  # empty: every non-transactional touch

    @field_validator("start", "end")
    @classmethod
    def _month_day(cls, value: str) -> str:
        month, _, day = value.partition("-")
        if not (month.isdigit() and day.isdigit() and 1 <= int(month) <= 12
                and 1 <= int(day) <= 31):
            raise ValueError(f"expected MM-DD, got {value!r}")
        return value


class Timing(Section):
    """When a touch may go in the contact's local time (rule 8)."""

    send_hour: int = Field(10, ge=0, le=23)  # preferred local send time
    business_start_hour: int = Field(9, ge=0, le=23)
    business_end_hour: int = Field(17, ge=1, le=24)  # a touch may start before this hour
    preferred_weekdays: list[str] = Field(default_factory=lambda: ["tue", "wed", "thu"])
    business_weekdays: list[str] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    default_timezone: Timezone = "UTC"  # neither the contact nor the account has one
    blackouts: list[Blackout] = Field(default_factory=lambda: [
        Blackout(name="year-end", start="12-15", end="01-05",
                 templates=["qbr", "business_review"])])

    @field_validator("preferred_weekdays", "business_weekdays")
    @classmethod
    def _weekdays(cls, value: list[str]) -> list[str]:
        unknown = [day for day in value if day not in WEEKDAYS]
        if unknown:
            raise ValueError(f"unknown weekdays {unknown}; use {list(WEEKDAYS)}")
        return value


class Conflicts(Section):
    """Situations in which a touch must not go (rule 6)."""

    low_csat_max: int = Field(2, ge=1, le=5)
    days_after_low_csat: int = Field(3, ge=0)
    checkin_templates: list[str] = Field(
        default_factory=lambda: ["csm_check_in", "mid_market_check_in", "onboarding_check_in",
                                 "smb_quarterly_check_in", "supportive_check_in"])
    announcement_templates: list[str] = Field(default_factory=list)  # major launches
    announcement_dates: list[IsoDate] = Field(default_factory=list)


class CsmCapacity(Section):
    """CSM weekly capacity and levelling (rule 9)."""

    default_weekly_capacity: int = Field(25, ge=0)  # CSMs without weekly_capacity
    first_templates: list[str] = Field(
        default_factory=lambda: ["qbr", "business_review", "renewal_discussion",
                                 "renewal_escalation"])


class PlannerPolicy(Section):
    """Everything the planner decides by (DESIGN §8)."""

    horizon_days: int = Field(28, ge=1, le=366)
    shards: int = Field(4, ge=1, le=1024)
    limits: Limits = Limits()
    tier_limits: dict[Tier, LimitsOverride] = Field(default_factory=dict)
    timing: Timing = Timing()
    conflicts: Conflicts = Conflicts()
    csm_capacity: CsmCapacity = CsmCapacity()
    human_channels: list[Channel] = Field(default_factory=lambda: ["call", "meeting"])
    # DESIGN §6: SMS is rare and urgent. Only touches of these priority classes (policy
    # ``classes``) may go by SMS; any other SMS candidate is suppressed (rule 1).
    sms_classes: list[str] = Field(
        default_factory=lambda: ["transactional", "lifecycle_critical"])
    # DESIGN §7: the preference frequency a contact chose, as touches per days.
    preference_frequencies: dict[Literal["weekly", "biweekly", "monthly", "quarterly"],
                                 PositiveInt] = Field(default_factory=lambda: {
        "weekly": 7, "biweekly": 14, "monthly": 30, "quarterly": 91})

    def human_channel_params(self) -> dict[str, str]:
        """The human channels bound as ``:channel_1``, ``:channel_2``... for the SQL files
        that list them (rendered with ``channels``)."""
        return {f"channel_{k}": c for k, c in enumerate(self.human_channels, start=1)}

    def limits_for(self, tier: str | None) -> Limits:
        """The limits of a tier: the defaults with the tier's overrides applied."""
        override = self.tier_limits.get(tier or "")
        if override is None:
            return self.limits
        changes = {k: v for k, v in override.model_dump().items() if v is not None}
        return self.limits.model_copy(update=changes)
