"""The Great Expectations suite of each entity, derived from the source contract.

Every rule of :mod:`cadence.contract.entities` becomes one expectation: required columns present
and not null, unique keys, value sets, formats (email, ISO dates and timestamps, numbers,
booleans, IANA timezones, ISO-3166 countries), numeric ranges and references to the
validated rows of the parent entity. Checks GX cannot express on the text column itself
run on a computed helper column (``__<column>__<check>``); each :class:`Check` remembers the
contract column and says what failed, so quarantine rules name the column. A check is either
about one value of one column (judged once per distinct value) or about a whole row.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import pandas as pd

from cadence.contract.emails import EMAIL
from cadence.contract.entities import Column, Entity, iana_timezones

# Non-capturing groups only: GX runs these through pandas ``str.contains``.
DATE = r"^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])$"
TIMESTAMP = (r"^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?:[T ](?:[01]\d|2[0-3]):[0-5]\d"
             r"(?::[0-5]\d(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?)?$")
NUMBER = r"^-?\d+(?:\.\d+)?$"
INTEGER = r"^-?\d+$"
BOOLEAN = r"^(?i:true|false|yes|no|1|0)$"
# An identifier names files (CSM task lists are written under their csm_id) and URLs: no
# path separators, blanks or control characters, and not "." or "..".
IDENTIFIER = r"^(?!\.\.?$)[^/\\\s\x00-\x1f\x7f]+$"
# Free text may hold tabs and line breaks, never other control characters (terminal
# escapes, NUL) that would reach task lists, payloads and logs.
PLAIN_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
# No name, id or comment a message or a task list carries is longer; a longer value (a
# pasted file, a runaway export) rejects its row instead of reaching every table.
MAX_VALUE_CHARS = 100_000
# Kinds whose format does not bound the length already (a date or a zone name does).
UNBOUNDED_KINDS = ("id", "text", "email", "number", "integer", "json")
FORMATS = {"id": (IDENTIFIER, "identifier without path separators, blanks or control"
                              " characters"),
           "text": (PLAIN_TEXT, "text without control characters"),
           "email": (EMAIL, "email address"), "date": (DATE, "ISO-8601 date"),
           "timestamp": (TIMESTAMP, "ISO-8601 timestamp"), "number": (NUMBER, "number"),
           "integer": (INTEGER, "integer"), "bool": (BOOLEAN, "boolean")}


# Columns holding an expression of the audience grammar (DESIGN §4): a row whose
# expression does not parse is rejected.
AUDIENCE_COLUMNS = {("campaigns", "audience")}


@dataclass(frozen=True)
class Check:
    """One expectation and the contract column (or columns) it guards."""

    expectation: object  # a great_expectations expectation
    columns: tuple[str, ...]
    detail: str = ""  # what a helper-column check means, e.g. "valid calendar date"
    keep_first: bool = False  # a uniqueness check: the first row of a key stays valid
    # Judges whole rows (a unique key, one of several columns present); every other check
    # judges each value of its one column on its own, so its verdict on a value holds for
    # every row holding that value.
    per_row: bool = False

    @property
    def type(self) -> str:
        """The expectation type, e.g. ``expect_column_values_to_match_regex``."""
        return self.expectation.expectation_type

    def rule(self, entity: str) -> str:
        """The quarantine rule: ``contacts.email: expect_column_values_to_match_regex``."""
        column = "+".join(self.columns)
        suffix = f" ({self.detail})" if self.detail else ""
        return f"{entity}.{column}: {self.type}{suffix}"


@cache
def iso_countries() -> frozenset[str]:
    """ISO-3166 alpha-2 country codes, from the tz database's own ``iso3166.tab``."""
    text = resources.files("tzdata").joinpath("zoneinfo", "iso3166.tab").read_text("utf-8")
    return frozenset(line.split("\t", 1)[0] for line in text.splitlines()
                     if line and not line.startswith("#"))


def _helper(column: str, check: str) -> str:
    return f"__{column}__{check}"


def value_helper_columns(entity: Entity, column: Column, values: pd.Series,
                         parent_ids: dict[str, set[str]]) -> dict[str, pd.Series]:
    """The computed columns the helper checks of ``column`` read, for ``values`` (any
    values of that column: the validation passes its distinct values); ``parent_ids`` as
    for :func:`checks_for`."""
    helpers = {}
    if column.references:
        # A value set of every parent id (a million contacts) would be copied and
        # serialised by GX several times per expectation; one hashed lookup is linear.
        known = values.isin(parent_ids.get(column.references, set()))
        helpers[_helper(column.name, "known")] = _yes_no(values, known)
    if column.kind in ("date", "timestamp"):
        # The format regex catches the shape; this catches days that do not exist.
        parsed = pd.to_datetime(values, format="ISO8601", errors="coerce", utc=True)
        helpers[_helper(column.name, "calendar")] = _yes_no(values, parsed.notna())
    if column.min is not None or column.max is not None:
        helpers[_helper(column.name, "value")] = pd.to_numeric(values, errors="coerce")
    if (entity.name, column.name) in AUDIENCE_COLUMNS:
        helpers[_helper(column.name, "parses")] = _yes_no(values, _audience_parses(values))
    return helpers


def row_helper_columns(entity: Entity, frame: pd.DataFrame) -> dict[str, pd.Series]:
    """The computed columns of the checks that judge a whole row (one of several columns
    present), for ``frame`` (the entity's rows)."""
    if not entity.one_of:
        return {}
    present = frame[list(entity.one_of)].notna().any(axis=1)
    return {_helper("_".join(entity.one_of), "present"): present.where(present, None)}


def _audience_parses(values: pd.Series) -> pd.Series:
    from cadence.contract.audience import AudienceError, parse_audience

    parses = {}
    for expression in values.dropna().unique():
        try:
            parse_audience(expression)
            parses[expression] = True
        except AudienceError:
            parses[expression] = False
    return values.map(parses).fillna(True).astype(bool)


def _yes_no(values: pd.Series, ok: pd.Series) -> pd.Series:
    result = pd.Series("yes", index=values.index, dtype=object)
    result[~ok] = "no"
    result[values.isna()] = None  # empty values are the not-null check's business
    return result


def checks_for(entity: Entity) -> list[Check]:
    """The checks of ``entity``; a reference is judged on the helper column
    :func:`value_helper_columns` fills from the parent's validated ids."""
    import great_expectations as gx

    expect = gx.expectations
    checks: list[Check] = []
    for column in entity.columns:
        name = column.name
        checks.append(Check(expect.ExpectColumnToExist(column=name), (name,)))
        if column.required:
            checks.append(Check(expect.ExpectColumnValuesToNotBeNull(column=name), (name,)))
        checks.extend(_value_checks(entity.name, column))
    if len(entity.key) == 1:
        checks.append(Check(expect.ExpectColumnValuesToBeUnique(column=entity.key[0]),
                            entity.key, keep_first=True, per_row=True))
    elif entity.key:
        checks.append(Check(expect.ExpectCompoundColumnsToBeUnique(column_list=list(entity.key)),
                            entity.key, keep_first=True, per_row=True))
    if entity.one_of:
        helper = _helper("_".join(entity.one_of), "present")
        checks.append(Check(expect.ExpectColumnValuesToNotBeNull(column=helper), entity.one_of,
                            detail=" or ".join(entity.one_of) + " required", per_row=True))
    return checks


def _value_checks(entity_name: str, column: Column) -> list[Check]:
    import great_expectations as gx

    expect = gx.expectations
    name = column.name
    checks: list[Check] = []
    if column.kind in UNBOUNDED_KINDS:
        checks.append(Check(expect.ExpectColumnValueLengthsToBeBetween(
            column=name, max_value=MAX_VALUE_CHARS), (name,),
            detail=f"at most {MAX_VALUE_CHARS:,} characters"))
    if column.values:
        checks.append(Check(expect.ExpectColumnValuesToBeInSet(
            column=name, value_set=list(column.values)), (name,)))
    if column.kind in FORMATS:
        regex, what = FORMATS[column.kind]
        checks.append(Check(expect.ExpectColumnValuesToMatchRegex(column=name, regex=regex),
                            (name,), detail=what))
    if column.kind in ("date", "timestamp"):
        checks.append(Check(expect.ExpectColumnValuesToBeInSet(
            column=_helper(name, "calendar"), value_set=["yes"]), (name,),
            detail="valid calendar date"))
    if column.kind == "timezone":
        checks.append(Check(expect.ExpectColumnValuesToBeInSet(
            column=name, value_set=sorted(iana_timezones())), (name,), detail="IANA timezone"))
    if column.kind == "country":
        checks.append(Check(expect.ExpectColumnValuesToBeInSet(
            column=name, value_set=sorted(iso_countries())), (name,),
            detail="ISO-3166 alpha-2"))
    if column.min is not None or column.max is not None:
        checks.append(Check(expect.ExpectColumnValuesToBeBetween(
            column=_helper(name, "value"), min_value=column.min, max_value=column.max), (name,),
            detail=_range(column)))
    if (entity_name, name) in AUDIENCE_COLUMNS:
        checks.append(Check(expect.ExpectColumnValuesToBeInSet(
            column=_helper(name, "parses"), value_set=["yes"]), (name,),
            detail="audience expression parses"))
    if column.references:
        checks.append(Check(expect.ExpectColumnValuesToBeInSet(
            column=_helper(name, "known"), value_set=["yes"]), (name,),
            detail=f"references validated {column.references}"))
    return checks


def _range(column: Column) -> str:
    def fmt(x: float) -> str:
        return str(int(x)) if float(x).is_integer() else str(x)

    if column.max is None:
        return f">= {fmt(column.min)}"
    if column.min is None:
        return f"<= {fmt(column.max)}"
    return f"{fmt(column.min)}..{fmt(column.max)}"
