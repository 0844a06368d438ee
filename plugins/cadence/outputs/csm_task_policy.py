"""Policy section ``csm_tasks``: how scheduled human touches become the tasks a CSM works
(DESIGN §9.6) — call hours and slot lengths, owners (managers, pooled queues), the
tech_touch exceptions, talking-point rules, the calendar feed and safe file names."""

from __future__ import annotations

import re
import string
from typing import Literal

from pydantic import Field, PositiveInt, field_validator, model_validator

from cadence.contract.policy_section import Section
from cadence.contract.policy_types import Regex, Tier, Timezone

# The facts a talking point may test and quote (columns of a task, see cadence.outputs.csm_tasks).
FACTS = ("health_score", "health_band", "score_delta_14d", "weakest_components",
         "days_to_renewal", "renewal_date", "renewal_status", "arr", "open_tickets",
         "urgent_tickets", "top_ticket_priority", "last_nps", "last_nps_comment",
         "usage_change_30d_pct", "usage_drop_30d_pct", "seats_used_pct", "task_type",
         "contact_role", "escalation_reason")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class CallHours(Section):
    """When calls may happen, on both sides of the call (local wall clock)."""

    start_hour: int = Field(9, ge=0, le=23)  # business hours of contacts and CSMs
    end_hour: int = Field(17, ge=1, le=24)  # a call ends by this hour
    # With no overlap of both business hours, the least-outside slot is sought only inside
    # these hours of the CSM (nobody is asked to call at 04:00).
    stretch_start_hour: int = Field(8, ge=0, le=23)
    stretch_end_hour: int = Field(19, ge=1, le=24)
    preferred_times: list[str] = Field(default_factory=lambda: ["10:00", "14:00"])  # contact's
    slot_minutes: int = Field(15, ge=5, le=60)  # start times are multiples of this
    business_weekdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])

    @field_validator("preferred_times")
    @classmethod
    def _hh_mm(cls, times: list[str]) -> list[str]:
        for value in times:
            if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
                raise ValueError(f"{value!r} is not a time HH:MM")
        return times

    @model_validator(mode="after")
    def _ordered(self) -> CallHours:
        if not self.start_hour < self.end_hour:
            raise ValueError("start_hour must be before end_hour")
        if not (self.stretch_start_hour <= self.start_hour
                and self.end_hour <= self.stretch_end_hour):
            raise ValueError("stretch hours must contain start_hour..end_hour")
        return self


class Queue(Section):
    """A pooled team that owns tasks nobody in particular owns."""

    id: str
    name: str
    email: str | None = None
    timezone: Timezone | None = None  # None: the queue follows the contact's business hours
    crm_owner_id: str | None = None  # the CRM user owning the queue's CRM tasks


class TechTouchTask(Section):
    """A human task type a no-human-cadence tier still gets, above an ARR."""

    min_arr: float = Field(0, ge=0)


class TalkingPoint(Section):
    """A talking point said when a fact passes a test; ``say`` may quote facts as
    ``{fact}``. Tests combine (all must hold); a missing fact never passes."""

    fact: str
    below: float | None = None
    at_least: float | None = None
    is_in: list[str] | None = None
    present: bool = False  # passes whenever the fact is known
    say: str

    @model_validator(mode="after")
    def _known(self) -> TalkingPoint:
        if self.fact not in FACTS:
            raise ValueError(f"fact {self.fact!r} is not one of {', '.join(FACTS)}")
        if self.below is None and self.at_least is None and self.is_in is None \
                and not self.present:
            raise ValueError("a talking point needs below, at_least, is_in or present")
        for _, name, _, _ in string.Formatter().parse(self.say):
            if name and name not in FACTS:
                raise ValueError(f"say quotes {{{name}}}, not one of {', '.join(FACTS)}")
        return self


class FeedPolicy(Section):
    """The live iCalendar feed of each owner (``csm_tasks/<owner>.ics``)."""

    uid_domain: str = Field("cadence.example", pattern=r"^[A-Za-z0-9.-]+$")
    alarm_minutes_before: int | None = Field(15, ge=0)  # None: no VALARM
    # CRM record URL per CRM, ``{account_id}`` filled in; used when the CRM is known.
    record_urls: dict[str, str] = Field(default_factory=lambda: {
        "hubspot": "https://app.hubspot.com/contacts/0/company/{account_id}",
        "salesforce": "https://login.salesforce.com/{account_id}"})


def _default_points() -> list[TalkingPoint]:
    return [
        TalkingPoint(fact="escalation_reason", present=True,
                     say="{escalation_reason}"),
        TalkingPoint(fact="usage_change_30d_pct", below=-20,
                     say="usage down {usage_drop_30d_pct}% in 30 days: ask what changed"
                         " in their rollout"),
        TalkingPoint(fact="urgent_tickets", at_least=1,
                     say="{urgent_tickets} urgent ticket(s) open (top {top_ticket_priority}):"
                         " check support has an owner before the call"),
        TalkingPoint(fact="days_to_renewal", below=91,
                     say="renewal in {days_to_renewal} days ({renewal_status}):"
                         " confirm the decision path"),
        TalkingPoint(fact="last_nps", below=7,
                     say="last NPS {last_nps}: follow up on \"{last_nps_comment}\""),
        TalkingPoint(fact="last_nps", below=7,
                     say="last NPS {last_nps}: ask what would make it a 9"),
        TalkingPoint(fact="health_band", is_in=["red"],
                     say="health {health_score} (red), weakest {weakest_components}:"
                         " agree a recovery plan"),
        TalkingPoint(fact="seats_used_pct", at_least=90,
                     say="{seats_used_pct}% of seats in use: explore expansion"),
        TalkingPoint(fact="last_nps", at_least=9,
                     say="promoter (NPS {last_nps}): ask for a reference"),
    ]


class CsmTasksPolicy(Section):
    """The ``csm_tasks`` policy section."""

    default_task_type: str = "follow_up"  # human touches of rules without a task_type
    # Minutes a task blocks in its owner's calendar, per task type.
    minutes: dict[str, PositiveInt] = Field(default_factory=lambda: {
        "qbr": 60, "business_review": 60, "renewal_discussion": 45, "renewal_escalation": 30})
    default_minutes: int = Field(30, ge=5)
    last_touches: int = Field(3, ge=0)  # recent touches listed with a task
    hours: CallHours = CallHours()
    # Task owners: a task whose account has no CSM, and an escalation whose CSM has no
    # manager, go to these queues, never to nobody.
    pooled_queue: Queue = Queue(id="digital_cs", name="Digital CS")
    escalation_queue: Queue = Queue(id="cs_leadership", name="CS leadership")
    # Tasks of rules with ``to_manager`` and planner decisions 'escalated' (this task type)
    # are owned by the CSM's manager (csms.manager_id).
    escalation_task_type: str = "escalation"  # a planner decision 'escalated' becomes this
    # Tiers without a human cadence get no human task, except these types above an ARR.
    no_human_tiers: list[Tier] = Field(default_factory=lambda: ["tech_touch"])
    no_human_exceptions: dict[str, TechTouchTask] = Field(default_factory=lambda: {
        "renewal_discussion": TechTouchTask(min_arr=4000)})
    talking_points: list[TalkingPoint] = Field(default_factory=_default_points)
    fallback_points: list[str] = Field(default_factory=lambda: [
        "review goals and what success looks like this quarter",
        "ask who else should be in the next conversation"])
    max_points: int = Field(4, ge=2, le=8)
    min_points: int = Field(2, ge=0, le=8)
    feed: FeedPolicy = FeedPolicy()
    # Ids that become file names (csm_id, queue ids); others are quarantined.
    id_pattern: Regex = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
    # Holiday country of a CSM whose timezone does not name one (e.g. {csm-0001: GB}).
    csm_countries: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> CsmTasksPolicy:
        if self.min_points > self.max_points:
            raise ValueError("min_points: must not exceed max_points")
        if len(self.fallback_points) < self.min_points:
            raise ValueError("fallback_points: must hold at least min_points points")
        for key in ("pooled_queue", "escalation_queue"):
            queue = getattr(self, key)
            if not re.fullmatch(self.id_pattern, queue.id) or queue.id in (".", ".."):
                raise ValueError(f"{key}.id: {queue.id!r} does not match id_pattern"
                                 " (it names the queue's files)")
        return self
