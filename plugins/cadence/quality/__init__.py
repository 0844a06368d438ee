"""Quality: Great Expectations validation of the raw sources (DESIGN §4).

``raw_<entity>`` -> ``validated_<entity>`` (rows that passed, same text columns),
``quarantine`` (every rejected row with the rules it broke) and ``validation_results``
(one row per entity and expectation). A run fails, after quarantine is written, when an
entity's reject rate passes its policy threshold.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cadence.contract.entities import ENTITIES, ENTITY_ORDER
from cadence.contract.errors import RetryCannotHelp
from cadence.quality.consent_rows import normalise_consent_rows
from cadence.quality.validation import (
    REFERENCED,
    EntityValidation,
    ValidationFailed,
    validate_entities,
)

__all__ = [
    "EntityValidation",
    "QualityError",
    "ValidationFailed",
    "reject_rate_breaches",
    "validate_entities",
    "validate_sources",
    "validated_table",
]

log = logging.getLogger(__name__)



class QualityError(RetryCannotHelp, RuntimeError):
    """An entity's reject rate passed its threshold; the message names entity, rate and
    threshold, and the rejected rows are already in ``quarantine``."""


def validated_table(entity: str) -> str:
    """Name of the table holding the validated rows of ``entity``."""
    return f"validated_{entity}"


def reject_rate_breaches(outcomes: dict[str, EntityValidation], policy) -> list[str]:
    """One message per entity whose reject rate passes ``policy.quality.threshold``."""
    return [
        f"{name}: {o.rejected} of {o.rows} rows rejected ({o.rate:.2%}), threshold "
        f"{policy.quality.threshold(name):.2%}; see quarantine"
        for name, o in outcomes.items()
        if o.rate > policy.quality.threshold(name)
    ]


def _read_raw(warehouse, table: str) -> pd.DataFrame:
    if warehouse.dialect == "duckdb":
        # DuckDB hands over columnar results directly: ~10x faster than row tuples on the
        # millions of usage rows.
        with warehouse.engine.connect() as conn:
            return conn.connection.driver_connection.execute(f"select * from {table}").df()
    return warehouse.read_table(table)


def _named_ids(raw: dict[str, pd.DataFrame], reference: str) -> pa.Array:
    """Every value of the columns of ``raw`` that reference ``reference``, once."""
    values = [frame[column.name].dropna() for name, frame in raw.items()
              for column in ENTITIES[name].columns if column.references == reference]
    if not values:
        return pa.array([], type=pa.large_string())
    return pa.array(pd.concat(values).unique(), type=pa.large_string())


def validate_sources(warehouse, policy, run_id: str, as_of: date,
                     entities: Sequence[str] | None = None) -> dict[str, dict]:
    """Validate every ``raw_<entity>`` (or only ``entities``) and write
    ``validated_<entity>``, ``quarantine`` and ``validation_results`` (partition
    ``as_of_date`` + entity). Per entity: rows, valid, rejected, rate. Raises
    :class:`QualityError` after writing when a threshold is passed.

    References to a parent outside ``entities`` are checked against its last validated rows.
    """
    names = [n for n in ENTITY_ORDER if entities is None or n in entities]
    raw, as_written = {}, {}
    for name in names:
        table = f"raw_{name}"
        if not warehouse.table_exists(table):
            raise ValidationFailed(f"{name}: table {table} missing; run the extract first")
        # Consent rows are normalised first, so a trailing blank cannot let a send through.
        read = _read_raw(warehouse, table)
        raw[name] = normalise_consent_rows(name, read)
        if raw[name] is not read:
            as_written[name] = read
    known_ids = {}
    for reference in REFERENCED:
        parent, column = reference.split(".")
        # Only the parent ids the rows name decide the check, and pandas' isin takes its
        # time per id it is given: the hourly's preferences name 400k of a million contacts.
        if parent in raw or not warehouse.table_exists(validated_table(parent)):
            continue
        named = _named_ids(raw, reference)
        if len(named):
            ids = warehouse.read_columns(
                f"select distinct {column} from {validated_table(parent)}")[column]
            ids = pa.array(ids.dropna(), type=pa.large_string())
            known_ids[reference] = set(ids.filter(pc.is_in(ids, value_set=named)).to_pylist())
    outcomes = validate_entities(raw, run_id, as_of, known_ids, as_written)
    summary: dict[str, dict] = {}
    for name, outcome in outcomes.items():
        valid = outcome.valid.copy()
        valid["_loaded_at"] = pd.to_datetime(valid["_loaded_at"], utc=True)
        warehouse.write_frame(validated_table(name), valid, replace_all=True)
        partition = {"as_of_date": as_of, "entity": name}
        warehouse.write_frame("quarantine", outcome.quarantine, replace_where=partition)
        warehouse.write_frame("validation_results", outcome.results, replace_where=partition)
        summary[name] = {"rows": outcome.rows, "valid": len(outcome.valid),
                         "rejected": outcome.rejected, "rate": round(outcome.rate, 6)}
    breaches = reject_rate_breaches(outcomes, policy)
    if breaches:
        raise QualityError("reject rate above threshold\n" + "\n".join(breaches))
    return summary
