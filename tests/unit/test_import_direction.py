"""Arrows point down the flow (README "Layout"): a module of ``plugins/cadence`` imports
only from its own step or from a step earlier in the flow, so no two steps import each other
(no cycle), and the DAG files never import the dev tools. Imports under
``if TYPE_CHECKING:`` are annotations, not arrows."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "plugins" / "cadence"
DAGS = PACKAGE.parents[1] / "dags"

# The flow, earliest first. A step may import any step at or before its own rank.
FLOW: tuple[tuple[str, ...], ...] = (
    ("contract",),
    ("sources",),
    ("quality",),
    ("models",),
    ("candidates",),
    ("planner",),
    ("outputs",),
    ("providers",),
    ("handoff",),
    ("privacy",),
    ("learning",),
    ("policy",),
    ("orchestration",),
    ("devtools", "__main__"),
)
RANK = {step: rank for rank, steps in enumerate(FLOW) for step in steps}
# Packages that are part of a step: the CRM and usage connectors are sources.
PART_OF = {"connectors": "sources"}


def step_of(module: str) -> str:
    """``cadence.planner.engine`` -> ``planner``; the package itself -> ``contract``."""
    parts = module.split(".")
    step = parts[1] if len(parts) > 1 else "contract"
    return PART_OF.get(step, step)


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def cadence_imports(source: str) -> list[tuple[int, str]]:
    """(line, imported cadence module) for every import a module runs, at any depth."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names
                         if a.name.split(".")[0] == "cadence")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] == "cadence":
            if node.module == "cadence":  # ``from cadence import planner``
                found.extend((node.lineno, f"cadence.{a.name}") for a in node.names)
            else:
                found.append((node.lineno, node.module))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return found


def import_graph() -> dict[str, list[tuple[int, str]]]:
    return {module_name(p): cadence_imports(p.read_text())
            for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_step_of_the_package_has_a_place_in_the_flow():
    steps = {step_of(m) for m in import_graph()}
    assert steps <= set(RANK), f"add to FLOW: {sorted(steps - set(RANK))}"


def test_no_module_imports_from_a_later_step():
    arrows_up = [
        f"{module}:{line} imports {target} ({step_of(target)} comes after {step_of(module)})"
        for module, imports in import_graph().items()
        for line, target in imports
        if RANK[step_of(target)] > RANK[step_of(module)]]
    assert not arrows_up, "\n".join(arrows_up)


@pytest.mark.parametrize("dag_file", sorted(DAGS.glob("*.py")), ids=lambda p: p.name)
def test_dags_never_import_the_dev_tools(dag_file):
    tools = [t for _, t in cadence_imports(dag_file.read_text())
             if step_of(t) == "devtools"]
    assert not tools, f"{dag_file.name} imports {tools}"


def test_the_checker_sees_an_arrow_up_inside_a_function():
    # A late import is still an arrow: the check must not look only at the top of a file.
    source = "def f():\n    from cadence.planner.engine import plan\n"
    assert cadence_imports(source) == [(2, "cadence.planner.engine")]
    guarded = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import cadence.policy\n"
    assert cadence_imports(guarded) == []
