"""The base every policy section builds on, kept apart from :mod:`cadence.policy` so the
section modules (planner, candidates, handoff, ...) and the whole-file model can import
each other in any order."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from cadence.contract.errors import RetryCannotHelp


class PolicyError(RetryCannotHelp, ValueError):
    """The policy file is missing, unreadable or breaks a rule; the message names the key."""


class Section(BaseModel):
    """Base of every policy section: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def deep_merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in: mappings merge key by key, anything else
    (numbers, lists, texts) replaces the base value."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
