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

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cadence.contract.entities import ENTITIES, ENTITY_ORDER
from cadence.contract.errors import RetryCannotHelp
from cadence.quality.consent_rows import CONSENT_ENTITIES, normalise_consent_rows
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

RAW_ROW = "_raw_row"  # a raw row's DuckDB rowid, read along for the copy of valid rows


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


def _read_raw(warehouse, table: str, numbered: bool) -> pd.DataFrame:
    """The rows of ``table``. ``numbered`` (DuckDB only): each row's ``rowid`` as
    ``_raw_row`` and the contract columns as categoricals, so passing rows can be copied in
    SQL and the usage table's millions of rows take a few bytes a value."""
    if warehouse.dialect != "duckdb":
        return warehouse.read_table(table)
    with warehouse.engine.connect() as conn:
        driver = conn.connection.driver_connection
        if not numbered:
            # DuckDB hands over Arrow columns, which become pandas' Arrow-backed strings
            # as they are: ~4x less CPU than .df(), ~40x less than row tuples.
            return driver.sql(f"select * from {table}").to_arrow_table().to_pandas()
        # One column at a time, dictionary-encoded as it arrives: only one column's
        # strings are ever held. Scans keep insertion order (DuckDB's
        # preserve_insertion_order), so the columns line up row by row.
        names = [c for c in driver.sql(f"select * from {table} limit 0").columns
                 if c not in ("_loaded_at", "_run_id")]
        columns = {RAW_ROW: driver.sql(f"select rowid from {table}").to_arrow_table()
                   .column(0).to_numpy()}
        for name in names:
            values = driver.sql(f"select {name} from {table}").to_arrow_table().column(0)
            columns[name] = values.dictionary_encode().to_pandas()
        return pd.DataFrame(columns)


def _copy_valid_rows(warehouse, name: str, rejected_rows: pd.Series) -> None:
    """Replace ``validated_<name>`` with the rows of ``raw_<name>`` whose ``rowid`` is not
    in ``rejected_rows``, in the warehouse (DuckDB): the usage table's millions of rows are
    not copied through pandas and back."""
    raw, validated = f"raw_{name}", validated_table(name)
    rejected = pd.DataFrame({"raw_row": rejected_rows.to_numpy(dtype="int64")})
    with warehouse.engine.begin() as conn:
        driver = conn.connection.driver_connection
        driver.register("_cadence_rejected", rejected)
        try:
            driver.execute(f"delete from {validated}")
            driver.execute(f"insert into {validated} by name select * from {raw} "
                           "where rowid not in (select raw_row from _cadence_rejected)")
        finally:
            driver.unregister("_cadence_rejected")


def _named_ids(raw: dict[str, pd.DataFrame], reference: str) -> pa.Array:
    """Every value of the columns of ``raw`` that reference ``reference``, once."""
    values = [frame[column.name].dropna() for name, frame in raw.items()
              for column in ENTITIES[name].columns if column.references == reference]
    if not values:
        return pa.array([], type=pa.large_string())
    return pa.array(np.asarray(pd.concat(values).unique(), dtype=object),
                    type=pa.large_string())


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
        # Consent rows are normalised first, so a trailing blank cannot let a send through;
        # their (few) valid rows are written as normalised, the others' copied in SQL.
        read = _read_raw(warehouse, table, numbered=name not in CONSENT_ENTITIES)
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
        if RAW_ROW in outcome.frame.columns:
            _copy_valid_rows(warehouse, name, outcome.frame.loc[~outcome.passed, RAW_ROW])
        else:
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
