"""A policy with part of it overridden: what-if scenarios and experiment arms name only the
keys they change, deep-merged onto the base policy and validated like the file itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


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


def policy_with(policy, overrides: Mapping[str, Any], source: str = "overrides"):
    """A new validated policy: ``policy`` with ``overrides`` deep-merged in; a bad key
    fails with its dotted path, prefixed by ``source``."""
    from cadence.policy import parse_policy

    if not overrides:
        return policy
    # Only the keys the policy file set: defaults stay defaults (unset), as in the file.
    base = policy.model_dump(mode="python", exclude_unset=True)
    return parse_policy(deep_merge(base, overrides), source=source)
