"""Reading the project's YAML (policy, data dictionary, layer schemas).

Every task starts by reading the policy and the data dictionary; PyYAML's pure-Python
parser spends seconds a task on them, LibYAML's C parser (shipped in PyYAML's wheels) a
tenth of that, with the same safe constructors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str) -> Any:
    """``text`` parsed as YAML with the safe constructors (``yaml.safe_load``)."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader


def read_yaml(path: str | Path) -> Any:
    """The YAML file at ``path``, parsed with :func:`parse_yaml`."""
    return parse_yaml(Path(path).read_text())
