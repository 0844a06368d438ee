"""Rule 10: the order in which competing touches are served — by priority class first
(DESIGN §7: transactional > lifecycle-critical > relationship cadence > operational >
educational > promotional, ordered in the policy's ``classes``), then by the candidate's
priority inside its class (a campaign's boost moves it only there), ties by earlier
latest_at, then higher account ARR, then touch_id.

A touch's class comes from what it is (message type) and where it comes from (lifecycle
source, policy rule, template); a campaign may claim a protected class only where the
class lists its team.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from cadence.contract.policy_section import Section

CAMPAIGN = "campaign"  # the candidate source of campaign rows


class PriorityClass(Section):
    """One priority class and the touches it holds: a touch belongs to the first class
    (in policy order) that names its message type, source, rule (fnmatch pattern) or
    template."""

    name: str
    protected: bool = False  # never dropped for caps, spacing or mix: escalated instead
    # A touch refused on every allowed day tries moving one touch in its way when it has at
    # most this many allowed days (more costs time and rarely finds room).
    repair_days: int = Field(default=3, ge=0, le=31)
    bypasses_caps: bool = False  # rule 2: goes when due, outside caps, spacing, mix, timing
    message_types: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list)
    templates: list[str] = Field(default_factory=list)
    # Teams whose campaigns may claim this class when it is protected; others fall through
    # to the next class that holds them.
    campaign_teams: list[str] = Field(default_factory=list)


def _default_classes() -> list[PriorityClass]:
    return [
        PriorityClass(name="transactional", protected=True, bypasses_caps=True,
                      message_types=["transactional"], campaign_teams=["support"]),
        PriorityClass(name="lifecycle_critical", protected=True,
                      sources=["lifecycle", "renewal"],
                      rules=["onboarding_journey.*", "renewal_timeline.*",
                             "tier_cadences.strategic_qbr",
                             "tier_cadences.mid_market_business_review",
                             "tier_cadences.executive_business_review",
                             "behaviour_triggers.at_risk_*",
                             "behaviour_triggers.promoter_advocacy_ask",
                             "champion_change.*"],
                      templates=["qbr", "business_review", "executive_business_review"]),
        PriorityClass(name="relationship_cadence", message_types=["relationship"]),
        PriorityClass(name="operational", message_types=["operational", "transactional"]),
        PriorityClass(name="educational", message_types=["educational"]),
        PriorityClass(name="promotional", message_types=["promotional"]),
    ]


class ClassesPolicy(Section):
    """The ``classes`` policy section: priority classes, highest first."""

    order: list[PriorityClass] = Field(default_factory=_default_classes)

    @model_validator(mode="after")
    def _sound(self) -> ClassesPolicy:
        names = [c.name for c in self.order]
        if not names:
            raise ValueError("at least one class is needed")
        if len(set(names)) != len(names):
            raise ValueError(f"class names repeat: {names}")
        for c in self.order:
            if c.bypasses_caps and not c.protected:
                raise ValueError(f"{c.name}: a class that bypasses caps must be protected")
        return self

    @property
    def names(self) -> list[str]:
        """Class names, highest first."""
        return [c.name for c in self.order]

    def protected(self) -> np.ndarray:
        """Per class (by index): protected or not."""
        return np.array([c.protected for c in self.order], dtype=bool)

    def bypassing(self) -> np.ndarray:
        """Per class (by index): bypasses caps (rule 2) or not."""
        return np.array([c.bypasses_caps for c in self.order], dtype=bool)


def touch_classes(candidates: pd.DataFrame, classes: ClassesPolicy) -> np.ndarray:
    """The class index (0 = highest) of each candidate; one with no class takes the
    lowest. Uses message_type, and source, rule_id, template_id and team when present."""
    n = len(candidates)

    def column(name: str) -> tuple[np.ndarray, pd.Index]:
        # Codes into the column's distinct values (-1: missing): the class lists are
        # matched against the few distinct values, not against every row.
        if name in candidates.columns:
            codes, uniques = pd.factorize(candidates[name])
            return codes, pd.Index(uniques, dtype=object)
        return np.full(n, -1, dtype=np.int64), pd.Index([], dtype=object)

    def isin(coded: tuple[np.ndarray, pd.Index], values) -> np.ndarray:
        codes, uniques = coded
        return np.append(uniques.isin(values), False)[codes]

    message_type, source = column("message_type"), column("source")
    template, team = column("template_id"), column("team")
    rule_codes, rule_names = column("rule_id")
    campaign = isin(source, [CAMPAIGN])
    out = np.full(n, len(classes.order) - 1, dtype=np.int64)
    open_ = np.ones(n, dtype=bool)
    for index, klass in enumerate(classes.order):
        hit = (isin(message_type, klass.message_types) | isin(source, klass.sources)
               | isin(template, klass.templates))
        if klass.rules and len(rule_names):
            named = np.array([any(fnmatchcase(str(r), p) for p in klass.rules)
                              for r in rule_names], dtype=bool)
            hit |= np.append(named, False)[rule_codes]
        if klass.protected:
            hit &= ~campaign | isin(team, klass.campaign_teams)
        hit &= open_
        out[hit] = index
        open_ &= ~hit
    return out


OUTCOMES = ("scheduled", "deferred", "dropped", "escalated")


def class_outcomes(candidates: pd.DataFrame, decisions: pd.DataFrame,
                   classes: ClassesPolicy) -> pd.DataFrame:
    """Per class (highest first): candidates, and how many were scheduled, deferred,
    dropped and escalated (the other decisions: merged, suppressed, ...)."""
    klass = touch_classes(candidates, classes)
    outcome = candidates[["touch_id"]].assign(klass=klass).merge(
        decisions[["touch_id", "decision"]], on="touch_id", how="left")
    table = pd.crosstab(outcome["klass"], outcome["decision"].fillna("undecided"))
    table = table.reindex(range(len(classes.order)), fill_value=0)
    out = pd.DataFrame({"class": classes.names,
                        "protected": ["yes" if c.protected else "" for c in classes.order],
                        "candidates": table.sum(axis=1).to_numpy()})
    for name in OUTCOMES:
        out[name] = table[name].to_numpy() if name in table else 0
    out["other"] = out["candidates"] - out[list(OUTCOMES)].sum(axis=1)
    return out


def priority_rank(klass: np.ndarray, priority: np.ndarray, latest_s: np.ndarray,
                  arr: np.ndarray) -> np.ndarray:
    """Rank of each touch (0 = served first): class, then priority inside it, then earlier
    latest_at, then higher ARR. Rows must already be sorted by touch_id, so the row
    position (lexsort is stable) is the final tie-break."""
    # Class, priority and latest_at fold into one int64 key (one lexsort pass fewer) unless
    # it would overflow: a class outweighs every priority, a priority every latest_at.
    top, bottom = int(priority.max(initial=0)), int(priority.min(initial=0))
    key = klass.astype(np.int64) * (top - bottom + 1) + (top - priority)
    first, last = int(latest_s.min(initial=0)), int(latest_s.max(initial=0))
    span = last - first + 1
    if (int(key.max(initial=0)) + 1) * span < np.iinfo(np.int64).max:
        order = np.lexsort((-arr, key * span + (latest_s - first)))
    else:
        order = np.lexsort((-arr, latest_s, key))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank
