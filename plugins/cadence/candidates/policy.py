"""The ``candidates`` policy section: every cadence, journey, timeline, trigger and campaign
rule that turns data into touch candidates (DESIGN §7).

Defaults are drawn from DESIGN §7; ``include/config/policy.yml`` spells them out so CS ops
can change a cadence, a template or a priority without a code change. Each rule's key is
the ``rule_id`` its candidates carry.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, NonNegativeInt, field_validator, model_validator

from cadence.contract.audience import AudienceError, parse_audience
from cadence.contract.policy_section import Section
from cadence.contract.policy_types import Band, Signal, Tier

Channel = Literal["email", "in_app", "sms", "call", "meeting"]
MessageType = Literal["transactional", "educational", "relationship", "promotional", "operational"]
Category = Literal["educational", "relationship", "promotional", "operational"]
Team = Literal["marketing", "sales", "support", "cs", "product", "leadership"]
Recipients = Literal["primary", "audience", "nps_respondent"]
AccountStatus = Literal["active", "trial", "churned"]
RenewalStatus = Literal["open", "committed", "renewed", "lost"]
Role = Literal["admin", "champion", "executive", "user", "billing"]
# communication_calendar statuses (include/sql/outputs.yml)
TouchStatus = Literal["scheduled", "sent", "cancelled", "failed", "unknown", "dropped"]

HUMAN_CHANNELS = ("call", "meeting")

# DESIGN §8 rule 10: transactional > operational critical > renewal > relationship (human)
# > at_risk support > educational > promotional. Relationship and operational emails sit
# between at_risk support and educational.
DEFAULT_PRIORITIES = {
    "transactional": 100,
    "operational_critical": 90,
    "renewal": 80,
    "relationship_human": 70,
    "at_risk_support": 60,
    "relationship": 50,
    "operational": 45,
    "educational": 40,
    "promotional": 20,
}


class TouchSpec(Section):
    """What one rule's touches are: who sends what, on which channel, with which window."""

    team: Team = "cs"
    message_type: MessageType = "relationship"
    category: Category | None = None  # preference category; defaults from message_type
    channel: Channel = "email"
    # When given, occurrences (or sequence steps) cycle through these channels in order.
    channels: list[Channel] = Field(default_factory=list)
    template_id: str
    intent: str | None = None  # defaults to the rule key
    priority_class: str = "relationship"
    priority_boost: int = Field(0, ge=0, le=9)  # within its class, e.g. QBRs over check-ins
    lead_days: int = Field(0, ge=0)  # may go this many days before the intended date
    window_days: int = Field(7, ge=0)  # may go until this many days after the intended date
    urgent: bool = False  # may go on weekends and holidays
    recipients: Recipients = "audience"  # human channels always go to the primary contact
    audience: str = "all"  # audience expression over the account's segments and the role
    task_type: str | None = None  # CSM task type of the human touches of this rule
    # Human touches (and recipients: primary) go to the account's contact of this role
    # instead of the primary contact, e.g. the executive sponsor of an executive business
    # review; an account without such a contact gets none.
    to_role: Role | None = None

    @field_validator("audience")
    @classmethod
    def _audience_parses(cls, value: str) -> str:
        try:
            parse_audience(value)
        except AudienceError as exc:
            raise ValueError(f"does not parse: {exc}") from None
        return value

    def resolved_category(self) -> str:
        """The preference category (transactional messages count as operational)."""
        if self.category:
            return self.category
        return "operational" if self.message_type == "transactional" else self.message_type


class Frequency(Section):
    """How often a touch recurs: a cadence rule's interval, or the one an account asked
    for instead of the tier's (``account_overrides``)."""

    every_days: int | None = Field(None, ge=1)
    every_months: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _one_interval(self) -> Frequency:
        if (self.every_days is None) == (self.every_months is None):
            raise ValueError("give exactly one of every_days and every_months")
        return self


class CadenceRule(TouchSpec, Frequency):
    """A recurring touch per tier, anchored on the account's contract start so every night
    proposes the same intended dates (and therefore the same touch ids)."""

    tiers: list[Tier]
    offset_days: int = 0  # first occurrence this many days after contract_start
    from_day: int = Field(0, ge=0)  # active from this many days after contract_start
    until_day: int | None = None  # ... until this day (inclusive); None = for ever


class OnboardingStep(TouchSpec):
    """A touch this many days after contract_start."""

    day: int = Field(ge=0)
    # Not sent once the account has reached this milestone (a key of ``milestones``).
    until_milestone: str | None = None


class Milestone(Section):
    """An onboarding milestone, reached on the first usage day whose ``metric`` (of the
    ``feature``'s rows, or of the account totals when no feature is named) is at least
    ``at_least``. Expected by ``due_day`` after contract_start: when it is the first
    milestone not reached by then (the step that stalled), its ``nudge`` goes."""

    feature: str | None = None
    metric: Literal["logins", "events", "active_users"] = "logins"
    at_least: float = Field(1, gt=0)
    due_day: int = Field(ge=0)
    nudge: TouchSpec | None = None


class OnboardingJourney(Section):
    """The lifecycle journey of a new account (DESIGN §7), advanced by milestones read
    from usage (in order: each is expected after the one before)."""

    milestones: dict[str, Milestone] = Field(default_factory=dict)
    nudge_until_day: int = Field(90, ge=0)  # no milestone nudge after this day

    steps: dict[str, OnboardingStep] = Field(default_factory=lambda: {
        "welcome": OnboardingStep(day=1, template_id="onboarding_welcome",
                                  message_type="operational", priority_class="operational",
                                  window_days=2),
        "setup_reminder": OnboardingStep(day=3, template_id="onboarding_setup_reminder",
                                         message_type="operational",
                                         priority_class="operational", window_days=2,
                                         audience="role:admin or role:champion"),
        "training_webinar_invite": OnboardingStep(day=7, template_id="training_webinar_invite",
                                                  message_type="educational",
                                                  priority_class="educational", window_days=3),
        "check_in": OnboardingStep(day=14, template_id="onboarding_check_in",
                                   recipients="primary", window_days=5),
    })

    @model_validator(mode="after")
    def _known_milestones(self) -> OnboardingJourney:
        for key, step in self.steps.items():
            if step.until_milestone is not None and step.until_milestone not in self.milestones:
                raise ValueError(f"steps.{key}.until_milestone: {step.until_milestone!r} is not"
                                 f" one of milestones ({', '.join(self.milestones) or 'none'})")
        return self


class RenewalStep(TouchSpec):
    """A touch this many days before renewal_date."""

    days_before: int = Field(ge=0)
    to_manager: bool = False  # the task goes to the CSM's manager (csms.manager_id)


class RenewalTimeline(Section):
    """The renewal timeline; it stops once the renewal is committed or renewed."""

    stop_statuses: list[RenewalStatus] = Field(default_factory=lambda: ["committed", "renewed"])
    steps: dict[str, RenewalStep] = Field(default_factory=lambda: {
        "value_summary": RenewalStep(days_before=90, template_id="renewal_value_summary",
                                     priority_class="renewal", window_days=14,
                                     audience="role:admin or role:executive or role:champion"),
        "renewal_discussion": RenewalStep(days_before=60, channel="call",
                                          template_id="renewal_discussion",
                                          priority_class="renewal", window_days=14,
                                          task_type="renewal_discussion"),
        "proposal": RenewalStep(days_before=30, team="sales", template_id="renewal_proposal",
                                priority_class="renewal", window_days=7,
                                audience="role:executive or role:billing or role:champion"),
        "urgent_message": RenewalStep(days_before=14, template_id="renewal_urgent",
                                      priority_class="renewal", window_days=3, urgent=True,
                                      recipients="primary"),
        "escalation": RenewalStep(days_before=7, channel="call", template_id="renewal_escalation",
                                  priority_class="renewal", priority_boost=5, window_days=3,
                                  urgent=True, to_manager=True, task_type="renewal_escalation"),
    })


class TriggerRule(TouchSpec):
    """Touches started by a behaviour signal (a segment key) or by an NPS response."""

    signal: Signal | None = None  # segment key whose start anchors the sequence
    tiers: list[Tier] | None = None  # None = every tier
    # days after the signal start
    steps_days: list[NonNegativeInt] = Field(default_factory=lambda: [0])
    cooldown_days: int = Field(0, ge=0)  # no episode when one was planned or sent this recently
    cooldown_scope: Literal["contact", "account"] = "contact"
    require_bands: list[Band] | None = None  # health bands the account must be in
    require_no_open_ticket: bool = False
    nps_min_score: int = Field(9, ge=0, le=10)  # nps_respondent recipients only
    nps_within_hours: int = Field(48, ge=1)

    @model_validator(mode="after")
    def _anchor(self) -> TriggerRule:
        if self.signal is None and self.recipients != "nps_respondent":
            raise ValueError("a trigger needs a signal unless it answers NPS responses")
        return self


def _default_triggers() -> dict[str, TriggerRule]:
    human_tiers = ["strategic", "enterprise", "mid_market", "smb"]
    return {
        "at_risk_csm_alert": TriggerRule(signal="at_risk", tiers=human_tiers, channel="call",
                                         template_id="risk_outreach",
                                         priority_class="relationship_human", window_days=3,
                                         cooldown_days=14, cooldown_scope="account",
                                         task_type="risk_outreach"),
        "at_risk_check_in": TriggerRule(signal="at_risk", template_id="supportive_check_in",
                                        priority_class="at_risk_support", window_days=3,
                                        cooldown_days=14,
                                        audience="role:admin or role:champion"),
        "inactive_re_engagement": TriggerRule(signal="inactive", message_type="educational",
                                              channels=["email", "in_app", "email"],
                                              steps_days=[0, 7, 14], template_id="re_engagement",
                                              priority_class="educational", window_days=4,
                                              cooldown_days=30),
        "expansion_email": TriggerRule(signal="expansion_ready", team="sales",
                                       message_type="promotional", template_id="expansion_offer",
                                       priority_class="promotional", window_days=7,
                                       cooldown_days=30, cooldown_scope="account",
                                       audience="role:admin or role:executive or role:billing"),
        "expansion_csm_task": TriggerRule(signal="expansion_ready",
                                          tiers=["strategic", "enterprise", "mid_market"],
                                          channel="call", template_id="expansion_conversation",
                                          priority_class="relationship_human", window_days=7,
                                          cooldown_days=30, cooldown_scope="account",
                                          task_type="expansion_conversation"),
        "promoter_advocacy_ask": TriggerRule(recipients="nps_respondent",
                                             template_id="advocacy_ask", window_days=2,
                                             cooldown_days=90, require_bands=["green"],
                                             require_no_open_ticket=True),
        "onboarding_milestone_celebration": TriggerRule(signal="adoption",
                                                        template_id="onboarding_celebration",
                                                        window_days=7,
                                                        audience="role:admin or role:champion"),
    }


def _default_tier_cadences() -> dict[str, CadenceRule]:
    top = ["strategic", "enterprise"]
    buyers = "role:admin or role:executive or role:champion"
    return {
        "strategic_check_in_call": CadenceRule(tiers=top, every_days=14, channel="call",
                                               template_id="csm_check_in",
                                               priority_class="relationship_human",
                                               lead_days=2, window_days=4,
                                               task_type="check_in_call"),
        "strategic_qbr": CadenceRule(tiers=top, every_months=3, offset_days=21, channel="meeting",
                                     template_id="qbr", priority_class="relationship_human",
                                     priority_boost=5, lead_days=7, window_days=21,
                                     task_type="qbr"),
        "strategic_value_report": CadenceRule(tiers=top, every_months=1, offset_days=7,
                                              template_id="monthly_value_report",
                                              priority_class="relationship", window_days=5,
                                              audience=buyers),
        "mid_market_check_in": CadenceRule(tiers=["mid_market"], every_months=1,
                                           channels=["call", "email"],
                                           template_id="mid_market_check_in",
                                           priority_class="relationship_human", window_days=7,
                                           recipients="primary", task_type="check_in_call"),
        "mid_market_business_review": CadenceRule(tiers=["mid_market"], every_months=6,
                                                  offset_days=45, channel="meeting",
                                                  template_id="business_review",
                                                  priority_class="relationship_human",
                                                  priority_boost=5, lead_days=7, window_days=21,
                                                  task_type="business_review"),
        "mid_market_nurture": CadenceRule(tiers=["mid_market"], every_months=1, offset_days=14,
                                          message_type="educational", team="marketing",
                                          template_id="nurture", priority_class="educational",
                                          window_days=7),
        "smb_onboarding_daily": CadenceRule(tiers=["smb"], every_days=1, from_day=1, until_day=7,
                                            message_type="educational",
                                            template_id="smb_onboarding_daily",
                                            priority_class="educational", window_days=0),
        "smb_onboarding_weekly": CadenceRule(tiers=["smb"], every_days=7, from_day=14,
                                             until_day=90, message_type="educational",
                                             template_id="smb_onboarding_weekly",
                                             priority_class="educational", window_days=3),
        "smb_quarterly_check_in": CadenceRule(tiers=["smb"], every_months=3, from_day=90,
                                              template_id="smb_quarterly_check_in",
                                              priority_class="relationship", window_days=7,
                                              audience="role:admin or role:champion"),
        "tech_touch_product_tips": CadenceRule(tiers=["tech_touch"], every_months=1,
                                               offset_days=10, channel="in_app", team="product",
                                               message_type="educational",
                                               template_id="product_tips",
                                               priority_class="educational", window_days=7),
    }


class WebinarStep(Section):
    """An invitation or reminder sent this many days before a campaign's event."""

    days_before: int = Field(ge=0)
    window_days: int = Field(ge=0)
    intent_suffix: str = ""  # reminders are their own intents, or dedup would merge them


class CampaignRules(Section):
    """How approved campaign rows become candidates."""

    require_approval: bool = True
    # A campaign's own priority (0..n) orders it within its message type's class.
    max_priority_boost: int = Field(9, ge=0, le=9)
    webinar_steps: dict[str, WebinarStep] = Field(default_factory=lambda: {
        "webinar_invite": WebinarStep(days_before=14, window_days=6),
        "webinar_reminder_7d": WebinarStep(days_before=7, window_days=5,
                                           intent_suffix=":reminder_7d"),
        "webinar_reminder_1d": WebinarStep(days_before=1, window_days=0,
                                           intent_suffix=":reminder_1d"),
    })


class MinimumCadence(TouchSpec):
    """A light value touch for every contact of a paying account nobody else touches."""

    period_days: int = Field(30, ge=1)
    paying_statuses: list[AccountStatus] = Field(default_factory=lambda: ["active"])


class LighterCadence(Section):
    """What a contact flagged by the engagement run (emails keep going unopened) stops
    getting, so fading contacts are not pushed further away."""

    skip_message_types: list[MessageType] = Field(
        default_factory=lambda: ["promotional", "educational"])
    skip_channels: list[Channel] = Field(default_factory=lambda: ["email"])


ChangeKind = Literal["left", "bounced", "role_changed", "replaced"]


class ChampionChangeRule(TouchSpec):
    """Touches started by a change of the account's key contact (its champion or primary
    contact), addressed to the new key contact, on days after the change was seen."""

    kinds: list[ChangeKind] = Field(default_factory=lambda: list(get_args(ChangeKind)))
    tiers: list[Tier] | None = None  # None = every tier
    steps_days: list[NonNegativeInt] = Field(default_factory=lambda: [0])


def _default_champion_change() -> dict[str, ChampionChangeRule]:
    return {
        "csm_task": ChampionChangeRule(channel="call", template_id="champion_change",
                                       priority_class="relationship_human", priority_boost=5,
                                       window_days=5, task_type="champion_change",
                                       tiers=["strategic", "enterprise", "mid_market", "smb"]),
        "introduction": ChampionChangeRule(template_id="champion_introduction",
                                           steps_days=[1, 8], window_days=4),
    }


class NpsSurvey(TouchSpec):
    """The NPS survey: each contact of the audience is asked every ``every_days`` by email,
    on a day of the period spread by a stable hash of the contact (so consecutive nights
    propose the same touch), never in the account's first days and never close to a
    support ticket or to the contact's own last answer. Answers flow back through the
    ``nps_responses`` source."""

    enabled: bool = True
    every_days: int = Field(91, ge=7)
    tiers: list[Tier] | None = None  # None = every tier
    not_in_first_days: int = Field(7, ge=0)  # onboarding week one: no survey
    # No survey when the account had a ticket open, opened or closed this few days before.
    days_after_ticket: int = Field(30, ge=0)
    days_after_answer: int = Field(60, ge=0)  # nor when the contact answered this recently


DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _month_day(value: str | None) -> str | None:
    if value is None:
        return value
    month, _, day = value.partition("-")
    if not (len(value) == 5 and month.isdigit() and day.isdigit()
            and 1 <= int(month) <= 12 and 1 <= int(day) <= DAYS_IN_MONTH[int(month) - 1]):
        raise ValueError(f"expected MM-DD, got {value!r}")
    return value


class Season(Section):
    """A period of the year when the touches of some rules are skipped (``skip``), thinned
    to one in ``keep_one_in`` of a recurring cadence (``lighten``, tier cadence rules) or
    move past its end (``move``): fixed dates (``start``/``end``, MM-DD, may wrap over the
    new year) or the days around each account's fiscal year end."""

    industries: list[str] = Field(default_factory=list)  # accounts of these industries ...
    accounts: list[str] = Field(default_factory=list)  # ... or these; neither: every account
    start: str | None = None
    end: str | None = None
    fiscal_year_end: bool = False  # around seasons.fiscal_year_ends of the account instead
    days_before: int = Field(14, ge=0)
    days_after: int = Field(7, ge=0)
    rules: list[str] = Field(min_length=1)  # rule_id patterns (fnmatch) it changes
    channels: list[Channel] = Field(default_factory=list)  # only these; empty: every channel
    action: Literal["skip", "lighten", "move"]
    keep_one_in: int | None = Field(None, ge=2)  # lighten: 2 = every other occurrence goes

    @field_validator("start", "end")
    @classmethod
    def _month_days(cls, value: str | None) -> str | None:
        return _month_day(value)

    @model_validator(mode="after")
    def _one_period(self) -> Season:
        if self.fiscal_year_end == (self.start is not None or self.end is not None):
            raise ValueError("give start and end, or fiscal_year_end: true")
        if not self.fiscal_year_end and (self.start is None or self.end is None):
            raise ValueError("give both start and end")
        if (self.action == "lighten") != (self.keep_one_in is not None):
            raise ValueError("keep_one_in (2 or more) goes with action lighten, and only there")
        if self.action == "lighten":
            if self.channels:
                raise ValueError("lighten thins a rule's whole cadence: channels are for skip"
                                 " and move")
            other = [p for p in self.rules if not p.startswith("tier_cadences.")]
            if other:
                raise ValueError(f"lighten thins recurring cadences: rules must be"
                                 f" tier_cadences.* patterns, not {other}")
        return self

    def describe(self) -> str:
        """The period in words, for decision texts."""
        if self.fiscal_year_end:
            return (f"{self.days_before} days before to {self.days_after} days after the "
                    "account's fiscal year end")
        return f"{self.start} to {self.end}"


class Seasons(Section):
    """The ``candidates.seasons`` section: seasonal periods and the accounts' fiscal year
    ends (account_id -> MM-DD)."""

    periods: dict[str, Season] = Field(default_factory=dict)
    fiscal_year_ends: dict[str, str] = Field(default_factory=dict)

    @field_validator("fiscal_year_ends")
    @classmethod
    def _dates(cls, value: dict[str, str]) -> dict[str, str]:
        for account, month_day in value.items():
            try:
                _month_day(month_day)
            except ValueError as exc:
                raise ValueError(f"{account}: {exc}") from None
        return value


class AccountOverride(Section):
    """What one account asked for (``candidates.account_overrides.<account_id>``): its own
    frequency per cadence rule (a ``tier_cadences`` key), months without touches of some
    channels (moved past them) and the channel its digital touches prefer."""

    frequency: dict[str, Frequency] = Field(default_factory=dict)
    blackout_months: list[int] = Field(default_factory=list)
    blackout_channels: list[Channel] = Field(default_factory=list)  # empty: every channel
    preferred_channel: Literal["email", "in_app"] | None = None

    @field_validator("blackout_months")
    @classmethod
    def _months(cls, value: list[int]) -> list[int]:
        bad = [m for m in value if not 1 <= m <= 12]
        if bad:
            raise ValueError(f"months are 1..12, got {bad}")
        if len(value) == 12:
            raise ValueError("every month blacked out: the account would get nothing")
        return sorted(set(value))

    def blackout_seasons(self) -> list[Season]:
        """The blackout months as seasons that move every touch (of the blackout channels)
        past them, one per run of consecutive months."""
        runs: list[list[int]] = []
        for month in self.blackout_months:
            if runs and runs[-1][-1] == month - 1:
                runs[-1].append(month)
            else:
                runs.append([month])
        if len(runs) > 1 and runs[0][0] == 1 and runs[-1][-1] == 12:
            runs[0] = runs.pop() + runs[0]  # December into January wraps over the year
        return [Season(start=f"{run[0]:02d}-01",
                       end=f"{run[-1]:02d}-{DAYS_IN_MONTH[run[-1] - 1]:02d}", rules=["*"],
                       channels=self.blackout_channels, action="move") for run in runs]


class CandidatesPolicy(Section):
    """The ``candidates`` policy section (DESIGN §7)."""

    priorities: dict[str, NonNegativeInt] = Field(default_factory=lambda: dict(DEFAULT_PRIORITIES))
    # Accounts in these statuses get cadences, journeys, timelines and triggers.
    active_statuses: list[AccountStatus] = Field(default_factory=lambda: ["active", "trial"])
    # Who answers for an account when no contact is flagged primary, in this order.
    primary_roles: list[Role] = Field(
        default_factory=lambda: ["champion", "admin", "executive", "user", "billing"])
    # History statuses that count as a touch (cooldowns, minimum cadence); sent ones are
    # facts and never proposed again.
    counted_statuses: list[TouchStatus] = Field(default_factory=lambda: ["scheduled", "sent"])
    minutes_saved_per_login: float = Field(6.0, ge=0)  # payload's hours-saved estimate
    tier_cadences: dict[str, CadenceRule] = Field(default_factory=_default_tier_cadences)
    onboarding_journey: OnboardingJourney = OnboardingJourney()
    renewal_timeline: RenewalTimeline = RenewalTimeline()
    behaviour_triggers: dict[str, TriggerRule] = Field(default_factory=_default_triggers)
    campaigns: CampaignRules = CampaignRules()
    lighter_cadence: LighterCadence = LighterCadence()
    minimum_cadence: MinimumCadence = MinimumCadence(
        template_id="value_digest", message_type="educational", priority_class="educational",
        window_days=5)
    champion_change: dict[str, ChampionChangeRule] = Field(
        default_factory=_default_champion_change)
    seasons: Seasons = Seasons()
    account_overrides: dict[str, AccountOverride] = Field(default_factory=dict)
    nps_survey: NpsSurvey = NpsSurvey(template_id="nps_survey", window_days=5,
                                      audience="not role:billing")

    @model_validator(mode="after")
    def _known_priority_classes(self) -> CandidatesPolicy:
        for key, spec in self.specs().items():
            if spec.priority_class not in self.priorities:
                raise ValueError(f"{key}: priority_class {spec.priority_class!r} is not one of"
                                 f" priorities ({', '.join(self.priorities)})")
        missing = [t for t in ("transactional", "educational", "relationship", "promotional",
                               "operational") if t not in self.priorities]
        if missing:
            raise ValueError(f"priorities: campaigns need a class per message type: {missing}")
        return self

    @model_validator(mode="after")
    def _known_override_rules(self) -> CandidatesPolicy:
        for account, override in self.account_overrides.items():
            for key in override.frequency:
                if key not in self.tier_cadences:
                    raise ValueError(f"account_overrides.{account}.frequency.{key}: not a "
                                     f"tier_cadences rule ({', '.join(self.tier_cadences)})")
        return self

    def specs(self) -> dict[str, TouchSpec]:
        """Every rule by its rule_id (``tier_cadences.x``, ``renewal_timeline.y``, ...)."""
        specs: dict[str, TouchSpec] = {}
        specs.update({f"tier_cadences.{k}": v for k, v in self.tier_cadences.items()})
        specs.update({f"onboarding_journey.{k}": v
                      for k, v in self.onboarding_journey.steps.items()})
        specs.update({f"onboarding_journey.milestones.{k}": v.nudge
                      for k, v in self.onboarding_journey.milestones.items() if v.nudge})
        specs.update({f"renewal_timeline.{k}": v for k, v in self.renewal_timeline.steps.items()})
        specs.update({f"behaviour_triggers.{k}": v for k, v in self.behaviour_triggers.items()})
        specs.update({f"champion_change.{k}": v for k, v in self.champion_change.items()})
        specs["minimum_cadence"] = self.minimum_cadence
        specs["nps_survey"] = self.nps_survey
        return specs

    def priority(self, spec: TouchSpec) -> int:
        """The candidate priority of a rule: its class number plus its boost."""
        return self.priorities[spec.priority_class] + spec.priority_boost

    def task_types(self) -> dict[str, str]:
        """rule_id -> CSM task type of every rule that has human touches."""
        return {key: spec.task_type for key, spec in self.specs().items() if spec.task_type}
