"""Fixtures of the contract tests: the providers' official OpenAPI documents, read from
``../shared/contracts`` beside the repository (or ``CADENCE_CONTRACTS_DIR``)."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
from jsonschema import Draft7Validator, Draft202012Validator

REPO_ROOT = Path(__file__).resolve().parents[2]


def contracts_dir() -> Path | None:
    """Where the contracts are, or None when neither place has them."""
    for candidate in (REPO_ROOT.parent / "shared" / "contracts",
                      Path(os.environ.get("CADENCE_CONTRACTS_DIR", "/nonexistent"))):
        if (candidate / "sendgrid" / "tsg_mail_v3.json").exists():
            return candidate
    return None


def _nullable_to_null_type(node):
    # OpenAPI 3.0 `nullable` is not JSON Schema: turn it into a "null" type (README advice).
    if isinstance(node, dict):
        node = {k: _nullable_to_null_type(v) for k, v in node.items()}
        if node.pop("nullable", False) and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        return node
    if isinstance(node, list):
        return [_nullable_to_null_type(v) for v in node]
    return node


def _root_or_skip() -> Path:
    root = contracts_dir()
    if root is None:
        message = "shared/contracts not found beside the repo nor at CADENCE_CONTRACTS_DIR"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return root


@pytest.fixture(scope="session")
def official_examples():
    """``official_examples(file, pointer)`` -> the ``examples`` values of the media type
    at that JSON pointer (e.g. an error response), as the provider documents them."""
    root = _root_or_skip()

    def read(file: str, pointer: str) -> dict[str, dict]:
        node = json.loads((root / file).read_text())
        for part in pointer.strip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return {name: example["value"] for name, example in node["examples"].items()}

    return read


@pytest.fixture(scope="session")
def contract():
    """``contract(file, pointer)`` -> a validator of the schema at that JSON pointer
    (Draft 2020-12 for SendGrid's OpenAPI 3.1, Draft 7 for OpenAPI 3.0 files)."""
    root = _root_or_skip()
    cache: dict[str, dict] = {}

    def build(file: str, pointer: str):
        if file not in cache:
            cache[file] = json.loads((root / file).read_text())
        doc = copy.deepcopy(cache[file])
        if file.startswith("sendgrid/"):
            return Draft202012Validator({**doc, "$ref": "#" + pointer})
        return Draft7Validator({**_nullable_to_null_type(doc), "$ref": "#" + pointer})

    return build
