"""Audience expressions: grammar, precedence, evaluation over contacts, parse errors."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cadence.candidates.campaign_touches import split_campaign_audiences
from cadence.contract.audience import AudienceError, audience_mask, parse_audience

CONTACTS = pd.DataFrame({
    "contact_id": ["c1", "c2", "c3", "c4"],
    "account_id": ["smb1", "smb1", "mm1", "risky_mm"],
    "role": ["admin", "user", "champion", None],
})
SEGMENTS = pd.DataFrame({
    "account_id": ["smb1", "mm1", "risky_mm", "risky_mm"],
    "segment_key": ["smb", "mid_market", "mid_market", "at_risk"],
})


def selected(expression: str) -> list[str]:
    return CONTACTS.loc[audience_mask(expression, CONTACTS, SEGMENTS), "contact_id"].tolist()


@pytest.mark.parametrize(("expression", "contacts"), [
    ("all", ["c1", "c2", "c3", "c4"]),
    ("smb", ["c1", "c2"]),
    ("role:admin", ["c1"]),
    ("(smb or mid_market) and not at_risk", ["c1", "c2", "c3"]),
    ("smb or mid_market and at_risk", ["c1", "c2", "c4"]),  # and binds tighter than or
    ("not smb and not at_risk", ["c3"]),  # not binds tighter than and
    ("not (smb or at_risk)", ["c3"]),
    ("mid_market AND NOT role:champion", ["c4"]),
    ("renewal", []),
])
def test_expressions_select_contacts_by_segment_and_role(expression, contacts):
    assert selected(expression) == contacts


@pytest.mark.parametrize(("expression", "position", "problem"), [
    ("smb or", 6, "expression ended"),
    ("(smb or mid_market", 18, "missing ')'"),
    ("smb mid_market", 4, "unexpected 'mid_market'"),
    ("smb and and at_risk", 8, "found 'and'"),
    ("mid_markt", 0, "unknown segment"),
    ("role:cto", 0, "unknown role"),
    ("smb & at_risk", 4, "unexpected character '&'"),
    ("   ", 3, "empty expression"),
])
def test_parse_errors_name_the_position(expression, position, problem):
    with pytest.raises(AudienceError) as error:
        parse_audience(expression)
    assert error.value.position == position and problem in str(error.value)


KEYS = ["smb", "mid_market", "at_risk"]


@st.composite
def expressions(draw, depth=3):
    if depth == 0 or draw(st.booleans()):
        return draw(st.sampled_from(KEYS))
    kind = draw(st.sampled_from(["and", "or", "not", "paren"]))
    if kind == "not":
        return f"not {draw(expressions(depth - 1))}"
    if kind == "paren":
        return f"({draw(expressions(depth - 1))})"
    return f"{draw(expressions(depth - 1))} {kind} {draw(expressions(depth - 1))}"


@settings(max_examples=60, deadline=None)
@given(expressions())
def test_precedence_matches_boolean_logic(expression):
    # Python's not/and/or have the same precedence as audience expressions.
    memberships = SEGMENTS.groupby("account_id")["segment_key"].agg(set)
    expected = [eval(expression, {}, {k: k in memberships.get(account, set()) for k in KEYS})
                for account in CONTACTS["account_id"]]
    assert audience_mask(expression, CONTACTS, SEGMENTS).tolist() == expected


def test_bad_audience_becomes_a_quarantine_row_not_a_silent_drop():
    campaigns = pd.DataFrame([
        {"campaign_id": "ok", "audience": "smb and not at_risk"},
        {"campaign_id": "broken", "audience": "smb and (at_risk"},
    ])
    valid, rejects = split_campaign_audiences(campaigns)
    assert valid["campaign_id"].tolist() == ["ok"]
    assert rejects.to_dict("records") == [{
        "entity": "campaigns_audience",
        "row": '{"audience": "smb and (at_risk", "campaign_id": "broken"}',
        "rule": "campaigns.audience: does not parse: missing ')' at position 16 in"
                " 'smb and (at_risk'",
    }]
