"""Field mapping: CRM records -> rows of a DESIGN §4 entity, as the policy says.

Values are normalised to the contract's text forms (dates ``YYYY-MM-DD``, timestamps ISO
UTC); a record whose id is missing or whose date does not parse is rejected with the rule
it broke, never dropped silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import pandas as pd

from cadence.connectors.policy import ObjectMapping, TextRule
from cadence.contract.entities import Entity, iana_timezones
from cadence.contract.errors import RetryCannotHelp


class MappingError(RetryCannotHelp, ValueError):
    """The policy maps a column to a property the CRM does not have, or to an unknown
    cadence column."""


class MalformedRecord(ValueError):
    """A CRM record that cannot become a row; the message is the rule it broke."""


@dataclass
class CrmRecord:
    """One CRM object as fetched: id, last-modified time, properties, associated ids."""

    record_id: str
    modified_at: pd.Timestamp
    properties: dict[str, str | None]
    associations: dict[str, list[str]] = field(default_factory=dict)


def check_mapping(
    mapping: ObjectMapping, available: Iterable[str], entity: Entity, policy_key: str
) -> None:
    """Raise :class:`MappingError` naming the policy key when a mapped property is not
    among ``available`` (what the CRM describes) or a column is not in the contract."""
    known = set(available)
    for column, prop in mapping.columns.items():
        if column not in entity.column_names:
            raise MappingError(
                f"{policy_key}.columns.{column}: {entity.name} has no column {column!r}"
                f" (columns: {entity.column_names})"
            )
        if prop not in known:
            raise MappingError(
                f"{policy_key}.columns.{column}: the CRM has no property {prop!r}"
                f" ({len(known)} properties described)"
            )
    for column, prop in mapping.defaults.items():
        if column not in entity.column_names:
            raise MappingError(f"{policy_key}.defaults.{column}: {entity.name} has no column"
                               f" {column!r} (columns: {entity.column_names})")
        if prop not in known:
            raise MappingError(f"{policy_key}.defaults.{column}: the CRM has no property"
                               f" {prop!r} ({len(known)} properties described)")
    for column, rules in mapping.rules.items():
        if column not in mapping.defaults:
            raise MappingError(f"{policy_key}.rules.{column}: rules apply to a column read"
                               f" from defaults; defaults has no {column!r}")
        allowed = entity.column(column).values
        for n, rule in enumerate(rules):
            if allowed and rule.value not in allowed:
                raise MappingError(f"{policy_key}.rules.{column}.{n}.value: {rule.value!r} is"
                                   f" not one of {list(allowed)}")
    for prop in mapping.only:
        if prop not in known:
            raise MappingError(f"{policy_key}.only.{prop}: the CRM has no property {prop!r}")


def is_missing(value: object) -> bool:
    """Whether a scalar is NULL in any of pandas' spellings (None, NaN, NA, NaT)."""
    return value is None or (isinstance(value, float | type(pd.NA) | type(pd.NaT))
                             and bool(pd.isna(value)))


def parse_time(value: object, what: str) -> pd.Timestamp:
    """A CRM timestamp (ISO-8601 or epoch milliseconds) in UTC; :class:`MalformedRecord`
    naming ``what`` when it does not parse."""
    text = "" if is_missing(value) else str(value).strip()
    if not text:
        raise MalformedRecord(f"{what} is missing")
    try:
        if text.isdigit():
            return pd.Timestamp(int(text), unit="ms", tz="UTC")
        stamp = pd.Timestamp(text)
    except (ValueError, OverflowError):
        raise MalformedRecord(f"{what} {text!r} is not a date or timestamp") from None
    if pd.isna(stamp):
        raise MalformedRecord(f"{what} is missing")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


@cache
def _zone_names() -> dict[str, str]:
    # HubSpot's hs_timezone spells America/New_York as america_slash_new_york.
    return {name.lower(): name for name in iana_timezones()}


def canonical_timezone(text: str) -> str:
    """An IANA zone name as the tz database spells it (``europe/berlin``, HubSpot's
    ``europe_slash_berlin``); text that names no zone is returned unchanged, for
    validation to quarantine."""
    key = text.strip().lower().replace("_slash_", "/").replace(" ", "_")
    return _zone_names().get(key, text)


def _tz_table(name: str) -> list[list[str]]:
    text = resources.files("tzdata").joinpath("zoneinfo", name).read_text("utf-8")
    return [line.split("\t") for line in text.splitlines()
            if line and not line.startswith("#")]


# Country names CRMs hold that the tz database's iso3166.tab spells otherwise.
COUNTRY_ALIASES = {"united kingdom": "GB", "great britain": "GB", "england": "GB",
                   "scotland": "GB", "wales": "GB", "northern ireland": "GB",
                   "united states of america": "US", "usa": "US", "u.s.a.": "US",
                   "the netherlands": "NL", "holland": "NL", "south korea": "KR",
                   "korea": "KR", "russia": "RU", "czech republic": "CZ", "uae": "AE",
                   "vietnam": "VN", "türkiye": "TR", "turkey": "TR"}


@cache
def _country_codes() -> dict[str, str]:
    codes: dict[str, str] = {}
    for code, name, *_ in _tz_table("iso3166.tab"):
        codes[code.lower()] = code
        codes[name.lower()] = code
        codes[re.sub(r"\s*\(.*\)$", "", name).lower()] = code  # "Korea (South)" -> Korea
    return {**codes, **COUNTRY_ALIASES}


def canonical_country(text: str) -> str:
    """An ISO-3166 alpha-2 code from a code in any case or an English country name
    (``de``, ``Germany``, ``United States``); anything else unchanged, for validation to
    quarantine."""
    return _country_codes().get(" ".join(text.split()).lower(), text)


@cache
def country_zones() -> dict[str, str]:
    """Country code -> its main zone: the first the tz database's zone.tab lists for it
    (America/New_York for US, Europe/Berlin for DE)."""
    zones: dict[str, str] = {}
    for code, _coordinates, zone, *_ in _tz_table("zone.tab"):
        zones.setdefault(code, zone)
    return zones


def classify(text: object, rules: list[TextRule]) -> str | None:
    """The value of the first rule whose pattern occurs in ``text`` (case-insensitive);
    None when none does or the text is empty."""
    if is_missing(text) or not str(text).strip():
        return None
    return next((rule.value for rule in rules
                 if re.search(rule.match, str(text), re.IGNORECASE)), None)


def _normalise(value: object, kind: str, what: str) -> str | None:
    if is_missing(value) or (isinstance(value, str) and not value.strip()):
        return None
    if kind == "date":
        return parse_time(value, what).date().isoformat()
    if kind == "timestamp":
        return parse_time(value, what).isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if kind == "timezone":
        return canonical_timezone(str(value))
    if kind == "country":
        return canonical_country(str(value))
    return str(value)


def keep(record: CrmRecord, mapping: ObjectMapping) -> bool:
    """Whether the record passes the mapping's ``only`` filter (case-insensitive)."""
    return all(
        str(record.properties.get(prop, "")).lower() == wanted.lower()
        for prop, wanted in mapping.only.items()
    )


def map_record(
    record: CrmRecord, mapping: ObjectMapping, entity: Entity, fixed: dict[str, str | None]
) -> dict[str, str | None]:
    """One entity row from a record: ``fixed`` columns (ids, associations) plus every mapped
    property, translated by ``values`` and normalised to the column's kind; a column the
    mapped (custom) property leaves empty takes its standard ``defaults`` property (free
    text through ``rules``), an account without a timezone its country's main zone."""
    row: dict[str, str | None] = dict(fixed)

    def value(column: str, raw: object, prop: str) -> str | None:
        if raw is not None:
            raw = mapping.values.get(column, {}).get(str(raw), raw)
        return _normalise(raw, entity.column(column).kind, f"{prop} ({column})")

    for column, prop in mapping.columns.items():
        row[column] = value(column, record.properties.get(prop), prop)
    for column, prop in mapping.defaults.items():
        if row.get(column) is None:
            raw = record.properties.get(prop)
            if column in mapping.rules:
                raw = classify(raw, mapping.rules[column])
            row[column] = value(column, raw, prop)
    if mapping.timezone_from_country and row.get("timezone") is None and row.get("country"):
        row["timezone"] = country_zones().get(str(row["country"]))
    return row


def map_records(
    records: Iterable[CrmRecord],
    mapping: ObjectMapping,
    entity: Entity,
    fixed: Callable[[CrmRecord], dict[str, str | None]],
) -> tuple[pd.DataFrame, list[tuple[CrmRecord, str]]]:
    """Rows of ``entity`` (every contract column, text; unmapped ones NULL) and the records
    rejected with their rule. ``fixed`` gives the columns that do not come from properties
    (ids, associations)."""
    rows, rejected = [], []
    for record in records:
        if not keep(record, mapping):
            continue
        try:
            rows.append(map_record(record, mapping, entity, fixed(record)))
        except MalformedRecord as exc:
            rejected.append((record, str(exc)))
    frame = pd.DataFrame(rows, columns=entity.column_names, dtype=object)
    return frame.where(frame.notna(), None), rejected


RENEWAL_COLUMNS = ("renewal_date", "arr", "renewal_status", "contract_start")
_OPEN = ("open", "committed")


def join_renewals(accounts: pd.DataFrame, renewals: pd.DataFrame) -> pd.DataFrame:
    """Accounts with the columns of their current renewal (deal or opportunity): the open
    one closing first, else the one that closed last. Renewal values win where present."""
    if renewals.empty or "account_id" not in renewals:
        return accounts
    ranked = renewals.assign(
        _closed=~renewals.get("renewal_status", pd.Series(index=renewals.index)).isin(_OPEN),
        _date=renewals.get("renewal_date", pd.Series(index=renewals.index)).fillna(""),
    )
    # Open renewals first by nearest date; closed ones after, most recent first.
    ranked["_order"] = ranked["_date"].where(~ranked["_closed"], "")
    ranked = ranked.sort_values(["_closed", "_order", "_date"], ascending=[True, True, False])
    current = ranked.drop_duplicates("account_id").set_index("account_id")
    out = accounts.copy()
    for column in RENEWAL_COLUMNS:
        if column not in current:
            continue
        from_renewal = out["account_id"].map(current[column])
        out[column] = from_renewal.where(from_renewal.notna(), out.get(column))
    return out.astype(object).where(out.notna(), None)
