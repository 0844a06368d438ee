"""Policy: segments, cadences, caps, rules and providers are data in ``include/config``.

The YAML is validated on load with pydantic; an error names the bad key
(``policy.yml: health.weights.usage: Input should be a valid number``). Every section
forbids unknown keys, so a typo fails instead of being ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator

from cadence.candidates.policy import CandidatesPolicy
from cadence.connectors.policy import ConnectorsPolicy
from cadence.contract.policy_section import PolicyError, Section, deep_merge
from cadence.contract.policy_types import Entity, Share
from cadence.contract.yaml_files import read_yaml
from cadence.handoff.policy import HandoffPolicy
from cadence.learning.policy import Experiment, LearningPolicy
from cadence.models.account_health import HealthPolicy
from cadence.models.segments import SegmentPolicy
from cadence.outputs.csm_task_policy import CsmTasksPolicy
from cadence.planner.policy import PlannerPolicy
from cadence.planner.priority import ClassesPolicy
from cadence.sources.base import SourcesPolicy

_INNER_KEY = re.compile(r"^(?P<key>[\w-]+(?:\.[\w-]+)*): (?P<message>.*)$", re.DOTALL)

__all__ = ["Policy", "PolicyError", "Section", "load_policy", "parse_policy", "unknown_references"]


class QualityPolicy(Section):
    """Validation thresholds (DESIGN §4)."""

    reject_rate_threshold: Share = 0.05
    # Per-entity override of the threshold, e.g. {usage_daily: 0.02}.
    entity_thresholds: dict[Entity, Share] = Field(default_factory=dict)

    def threshold(self, entity: str) -> float:
        """The reject-rate threshold that fails a run for ``entity``."""
        return self.entity_thresholds.get(entity, self.reject_rate_threshold)


class Policy(Section):
    """The whole policy file."""

    quality: QualityPolicy = QualityPolicy()
    handoff: HandoffPolicy = HandoffPolicy()
    candidates: CandidatesPolicy = CandidatesPolicy()
    sources: SourcesPolicy = SourcesPolicy()
    health: HealthPolicy = HealthPolicy()
    segments: SegmentPolicy = SegmentPolicy()
    connectors: ConnectorsPolicy = ConnectorsPolicy()
    planner: PlannerPolicy = PlannerPolicy()
    classes: ClassesPolicy = ClassesPolicy()
    csm_tasks: CsmTasksPolicy = CsmTasksPolicy()
    learning: LearningPolicy = LearningPolicy()
    experiments: list[Experiment] = Field(default_factory=list)

    @field_validator("experiments")
    @classmethod
    def _unique_experiments(cls, value: list[Experiment]) -> list[Experiment]:
        ids = [e.id for e in value]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"experiment ids must be unique: {repeated}")
        return value

    def with_overrides(self, overrides: Mapping[str, Any], source: str = "overrides"
                       ) -> Policy:
        """A new validated policy: this one with ``overrides`` deep-merged in (what-if
        scenarios and experiment arms name only the keys they change); a bad key fails
        with its dotted path, prefixed by ``source``."""
        if not overrides:
            return self
        # Only the keys the policy file set: defaults stay defaults (unset), as in the file.
        base = self.model_dump(mode="python", exclude_unset=True)
        return parse_policy(deep_merge(base, overrides), source=source)


def load_policy(path: str | Path | None = None) -> Policy:
    """Read and validate the policy YAML (default: the ``CADENCE_POLICY`` setting)."""
    if path is None:
        from cadence.contract.settings import load_settings

        path = load_settings().policy_path
    path = Path(path)
    try:
        data = read_yaml(path) or {}
    except FileNotFoundError as exc:
        raise PolicyError(f"policy file not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path.name}: not valid YAML: {exc}") from exc
    return parse_policy(data, source=path.name)


def parse_policy(data: dict, source: str = "policy") -> Policy:
    """Validate a policy mapping; errors name each bad key with a dotted path."""
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: {_located(err)}" for err in exc.errors()]
        raise PolicyError("invalid policy\n" + "\n".join(lines)) from None
    unknown = unknown_references(policy)
    if unknown:
        raise PolicyError("invalid policy\n" + "\n".join(f"{source}: {u}" for u in unknown))
    _check_experiments(policy, source)
    return policy


def _located(error: dict) -> str:
    """``dotted.path: message``. A section-wide check names the key inside its section at
    the start of its message (``tier_cadences.x: ...``); that key joins the path."""
    path = [str(p) for p in error["loc"]]
    message = error["msg"].removeprefix("Value error, ")
    inner = _INNER_KEY.match(message)
    if error["type"] == "value_error" and inner:
        path.append(inner["key"])
        message = inner["message"]
    return f"{'.'.join(path) or '<root>'}: {message}"


def unknown_references(policy: Policy) -> list[str]:
    """Keys the file sets that name something another section defines (a rule's template,
    a CSM task type) but match nothing, so a typo would silently never apply. Defaults are
    not checked (a default check-in template may name a rule the file left out); blackout
    templates are not either: they may name campaign templates, which are data."""
    candidates = policy.candidates
    templates = {spec.template_id for spec in candidates.specs().values()}
    planner = policy.planner
    lists = {}
    if "checkin_templates" in planner.conflicts.model_fields_set:
        lists["planner.conflicts.checkin_templates"] = planner.conflicts.checkin_templates
    if "first_templates" in planner.csm_capacity.model_fields_set:
        lists["planner.csm_capacity.first_templates"] = planner.csm_capacity.first_templates
    problems = [
        f"{path}: template {name!r} is not the template_id of any candidates rule"
        for path, names in lists.items() for name in names if name not in templates
    ]
    problems += [f"planner.sms_classes: {name!r} is not a class of classes.order"
                 f" ({policy.classes.names})"
                 for name in planner.sms_classes if name not in policy.classes.names]
    tasks = policy.csm_tasks
    task_types = {*candidates.task_types().values(), tasks.default_task_type,
                  tasks.escalation_task_type}
    for key in ("minutes", "no_human_exceptions"):
        if key in tasks.model_fields_set:
            problems += [
                f"csm_tasks.{key}.{name}: no candidates rule has task_type {name!r}"
                for name in getattr(tasks, key) if name not in task_types
            ]
    return problems


def _check_experiments(policy: Policy, source: str) -> None:
    # Each arm's overrides must give a valid policy, and each population must parse; the
    # error names the arm's dotted key.
    from cadence.contract.audience import AudienceError, parse_audience

    if not policy.experiments:
        return
    base = {**policy.model_dump(mode="python", exclude_unset=True), "experiments": []}
    for n, experiment in enumerate(policy.experiments):
        where = f"{source}: experiments.{n}"
        try:
            parse_audience(experiment.population)
        except AudienceError as exc:
            raise PolicyError(f"invalid policy\n{where}.population: {exc}") from None
        for name, arm in experiment.arms.items():
            if arm.overrides.get("experiments") is not None:
                raise PolicyError(f"invalid policy\n{where}.arms.{name}.overrides: an arm "
                                  "cannot declare experiments")
            parse_policy(deep_merge(base, arm.overrides),
                         source=f"{where}.arms.{name}.overrides")
