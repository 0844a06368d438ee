"""Audience expressions (DESIGN §4): which contacts a campaign or rule addresses.

Grammar (``not`` binds tighter than ``and``, which binds tighter than ``or``)::

    expression := term ("or" term)*
    term       := factor ("and" factor)*
    factor     := "not" factor | "(" expression ")" | atom
    atom       := "all" | segment_key | "role:" role

A segment key matches contacts whose account is in that segment at the plan date; a role
matches the contact's own role. An expression that does not parse raises
:class:`AudienceError` naming the position (0-based character offset).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from cadence.contract.entities import ENTITIES

SEGMENT_KEYS = frozenset({
    "strategic", "enterprise", "mid_market", "smb", "tech_touch",  # tier
    "onboarding", "adoption", "mature", "renewal", "churned",  # stage
    "at_risk", "expansion_ready", "promoter", "detractor", "silent", "inactive",  # signal
})
ROLES = frozenset(ENTITIES["contacts"].column("role").values)
KEYWORDS = frozenset({"and", "or", "not"})

_TOKEN = re.compile(r"\s*(?:(?P<paren>[()])|(?P<word>[A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z_]\w*)?))")


class AudienceError(ValueError):
    """An audience expression that does not parse; the message names the position."""

    def __init__(self, expression: str, position: int, problem: str):
        self.expression = expression
        self.position = position
        super().__init__(f"{problem} at position {position} in {expression!r}")


@dataclass(frozen=True)
class Token:
    """A word or parenthesis and its character offset."""

    text: str
    position: int


@dataclass(frozen=True)
class Atom:
    """``all``, a segment key, or ``role:<role>``."""

    kind: str  # all, segment, role
    value: str = ""


@dataclass(frozen=True)
class Not:
    """``not <operand>``."""

    operand: Node


@dataclass(frozen=True)
class BinaryOp:
    """``<left> and <right>`` or ``<left> or <right>``."""

    operator: str  # and, or
    left: Node
    right: Node


Node = Atom | Not | BinaryOp


def tokenize(expression: str) -> list[Token]:
    """Split an expression into words and parentheses, each with its position."""
    tokens: list[Token] = []
    position = 0
    while position < len(expression):
        if expression[position:].strip() == "":
            break
        match = _TOKEN.match(expression, position)
        if not match:
            offset = position + len(expression[position:]) - len(expression[position:].lstrip())
            raise AudienceError(expression, offset,
                                f"unexpected character {expression[offset]!r}")
        kind = match.lastgroup
        tokens.append(Token(match.group(kind), match.start(kind)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, expression: str):
        self.expression = expression
        self.tokens = tokenize(expression)
        self.index = 0

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def fail(self, problem: str) -> AudienceError:
        token = self.peek()
        position = token.position if token else len(self.expression)
        return AudienceError(self.expression, position, problem)

    def take(self, text: str) -> bool:
        token = self.peek()
        if token and token.text.lower() == text:
            self.index += 1
            return True
        return False

    def parse(self) -> Node:
        if not self.tokens:
            raise self.fail("empty expression")
        node = self.expression_()
        if self.peek() is not None:
            raise self.fail(f"unexpected {self.peek().text!r}")
        return node

    def expression_(self) -> Node:
        node = self.term()
        while self.take("or"):
            node = BinaryOp("or", node, self.term())
        return node

    def term(self) -> Node:
        node = self.factor()
        while self.take("and"):
            node = BinaryOp("and", node, self.factor())
        return node

    def factor(self) -> Node:
        if self.take("not"):
            return Not(self.factor())
        if self.take("("):
            node = self.expression_()
            if not self.take(")"):
                raise self.fail("missing ')'")
            return node
        return self.atom()

    def atom(self) -> Node:
        token = self.peek()
        if token is None:
            raise self.fail("expected a segment, role or 'all' but the expression ended")
        text = token.text.lower()
        if text in KEYWORDS or text in ("(", ")"):
            raise self.fail(f"expected a segment, role or 'all', found {token.text!r}")
        if text.startswith("role:"):
            role = text.split(":", 1)[1]
            if role not in ROLES:
                raise self.fail(f"unknown role {role!r} (one of {', '.join(sorted(ROLES))})")
            node: Node = Atom("role", role)
        elif text == "all":
            node = Atom("all")
        elif text in SEGMENT_KEYS:
            node = Atom("segment", text)
        else:
            raise self.fail(f"unknown segment {token.text!r}")
        self.index += 1
        return node


@lru_cache(maxsize=256)
def parse_audience(expression: str) -> Node:
    """Parse an audience expression into a tree; raises :class:`AudienceError`."""
    return _Parser(expression or "").parse()


def audience_mask(expression: str | Node, contacts: pd.DataFrame,
                  segments: pd.DataFrame) -> np.ndarray:
    """Boolean mask over ``contacts`` (account_id, role) of those the expression selects,
    given ``segments`` (account_id, segment_key) current at the plan date."""
    node = parse_audience(expression) if isinstance(expression, str) else expression
    cache: dict[str, np.ndarray] = {}

    def segment(key: str) -> np.ndarray:
        if key not in cache:
            accounts = segments.loc[segments["segment_key"] == key, "account_id"].unique()
            cache[key] = contacts["account_id"].isin(accounts).to_numpy(dtype=bool)
        return cache[key]

    def evaluate(node: Node) -> np.ndarray:
        if isinstance(node, Not):
            return ~evaluate(node.operand)
        if isinstance(node, BinaryOp):
            left, right = evaluate(node.left), evaluate(node.right)
            return left & right if node.operator == "and" else left | right
        if node.kind == "all":
            return np.ones(len(contacts), dtype=bool)
        if node.kind == "role":
            return (contacts["role"] == node.value).fillna(False).to_numpy(dtype=bool)
        return segment(node.value)

    return evaluate(node)
