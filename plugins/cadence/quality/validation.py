"""Validate raw entities with Great Expectations and route every failing row to quarantine.

One ephemeral GX context serves a whole run. Entities are checked parents first, so a
reference (contact -> account) is checked against the parent rows that passed. Each
expectation runs with ``result_format="COMPLETE"``; its unexpected index list says which
values (checks of one column, run on its distinct values) or rows (keys, one-of) fail it.
A row failing several expectations is quarantined once, with every rule.
For a duplicate key the first row (file order) stays valid and the later ones are rejected.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date
from functools import cached_property

import numpy as np
import pandas as pd

from cadence.contract.entities import ENTITIES, ENTITY_ORDER, Entity
from cadence.contract.errors import RetryCannotHelp
from cadence.quality.expectations import (
    Check,
    checks_for,
    row_helper_columns,
    value_helper_columns,
)

log = logging.getLogger(__name__)

QUARANTINE_COLUMNS = ["entity", "row", "rule", "run_id", "as_of_date"]
RESULT_COLUMNS = ["run_id", "as_of_date", "entity", "expectation", "column_name", "rule",
                  "success", "element_count", "unexpected_count"]
# Parent columns other entities reference ("accounts.account_id", ...).
REFERENCED = sorted({c.references for e in ENTITIES.values() for c in e.columns if c.references})


class ValidationFailed(RetryCannotHelp, RuntimeError):
    """An entity could not be validated at all (a contract column is missing, or GX raised)."""


@dataclass
class EntityValidation:
    """The outcome of validating one entity."""

    entity: str
    rows: int
    frame: pd.DataFrame  # the rows judged, raw columns unchanged
    passed: np.ndarray  # per row of ``frame``, whether it passed
    quarantine: pd.DataFrame  # QUARANTINE_COLUMNS, one row per rejected source row
    results: pd.DataFrame  # RESULT_COLUMNS, one row per expectation

    @cached_property
    def valid(self) -> pd.DataFrame:
        """The rows that passed (a copy, made when first asked: the usage table's valid
        rows are copied into the warehouse without it)."""
        return self.frame[self.passed].reset_index(drop=True)

    @property
    def rejected(self) -> int:
        """Rows sent to quarantine."""
        return len(self.quarantine)

    @property
    def rate(self) -> float:
        """Share of rows rejected (0 for an empty entity)."""
        return self.rejected / self.rows if self.rows else 0.0


@dataclass(frozen=True)
class DistinctValues:
    """A column as its distinct values (null last, when present) and, per row, the position
    of its value among them."""

    values: pd.Series
    codes: np.ndarray

    @classmethod
    def of(cls, column: pd.Series) -> DistinctValues:
        """Factorise ``column`` (one pass, hashed)."""
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        if isinstance(uniques, pd.Categorical):  # judged as the text values they stand for
            uniques = uniques.astype(uniques.categories.dtype)
        values = pd.Series(uniques, name=column.name)
        missing = codes < 0
        if missing.any():
            codes[missing] = len(values)
            values = pd.concat([values, pd.Series([None], dtype=values.dtype, name=column.name)],
                               ignore_index=True)
        return cls(values, codes)

    def rows_holding(self, positions: np.ndarray) -> np.ndarray:
        """Row numbers holding any of the values at ``positions``."""
        if not len(positions):
            return np.zeros(0, dtype=np.int64)
        chosen = np.zeros(len(self.values), dtype=bool)
        chosen[positions] = True
        return np.flatnonzero(chosen[self.codes])


@dataclass
class Finding:
    """One check's GX result and the rows it found failing."""

    check: Check
    result: object  # a great_expectations ExpectationValidationResult
    rows: np.ndarray  # row numbers
    element_count: int
    unexpected_count: int


class SuiteRunner:
    """Runs entity suites in one ephemeral GX context (building one is the slow part).

    A check about single values runs on a batch of the column's distinct values (the usage
    table has millions of rows but thousands of distinct values per column), and a failing
    value fails every row holding it; checks about whole rows run on a batch of the rows,
    keys given as their value positions. No batch carries columns its checks do not read.
    """

    def __init__(self) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self._gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self._source = self.context.data_sources.add_pandas("cadence_raw")
        self._batches = (self._source.add_dataframe_asset("cadence_batch")
                         .add_batch_definition_whole_dataframe("whole"))

    def _validate(self, entity: str, checks: list[Check], data: pd.DataFrame) -> list:
        """GX results of ``checks`` (of ``entity``) on ``data``, in the order of ``checks``."""
        # A suite outside the context's store: adding expectations one by one to a stored
        # suite re-serialises the whole suite each time (quadratic in expectations). The
        # meta index ties each result back to its check.
        suite = self._gx.ExpectationSuite(name=entity, expectations=[
            check.expectation.copy(update={"meta": {"cadence_check": i}})
            for i, check in enumerate(checks)])
        batch = self._batches.get_batch(batch_parameters={"dataframe": data})
        # Batch.validate rather than a ValidationDefinition: the latter also serialises
        # the COMPLETE result (every unexpected value) into the context's store.
        outcome = batch.validate(suite, result_format="COMPLETE")
        results = sorted(outcome.results,
                         key=lambda r: r.expectation_config.meta["cadence_check"])
        for check, result in zip(checks, results, strict=True):
            error = _raised(result)
            if error:
                raise ValidationFailed(f"{check.rule(entity)} could not run: {error}")
        return results

    def run(self, entity: Entity, frame: pd.DataFrame, parent_ids: dict[str, set[str]],
            run_id: str, as_of: date, as_written: pd.DataFrame | None = None
            ) -> EntityValidation:
        """Validate ``frame`` (raw text columns) against the suite of ``entity``;
        quarantined rows are recorded from ``as_written`` (same rows) when given."""
        missing = [c for c in entity.column_names if c not in frame.columns]
        if missing:
            raise ValidationFailed(f"{entity.name}: contract column(s) {missing} missing")
        frame = frame.reset_index(drop=True)
        n = len(frame)
        checks = checks_for(entity)
        findings: dict[int, Finding] = {}
        key_positions: dict[str, pd.Series] = {}
        for column in entity.columns:
            distinct = DistinctValues.of(frame[column.name])
            if column.name in entity.key:
                # Positions stand for values in the row batch: equal values, equal positions;
                # a null stays null, as GX skips it there.
                null = distinct.values.isna().to_numpy()[distinct.codes]
                key_positions[column.name] = pd.Series(distinct.codes, dtype="float64").where(
                    ~null)
            own = [i for i, c in enumerate(checks) if not c.per_row and c.columns[0] == column.name]
            data = pd.DataFrame({column.name: distinct.values,
                                 **value_helper_columns(entity, column, distinct.values,
                                                        parent_ids)})
            results = self._validate(entity.name, [checks[i] for i in own], data)
            for i, result in zip(own, results, strict=True):
                positions = np.asarray(result.result.get("unexpected_index_list") or [],
                                       dtype=np.int64)
                rows = distinct.rows_holding(positions)
                findings[i] = Finding(checks[i], result, rows, n, len(rows))
        per_row = [i for i, c in enumerate(checks) if c.per_row]
        duplicate = np.zeros(n, dtype=bool)
        if per_row:
            keys = pd.DataFrame(key_positions)
            if entity.key:
                duplicate = keys.duplicated(keep="first").to_numpy()
            data = pd.concat([keys, pd.DataFrame(row_helper_columns(entity, frame))], axis=1)
            results = self._validate(entity.name, [checks[i] for i in per_row], data)
            for i, result in zip(per_row, results, strict=True):
                rows = np.asarray(result.result.get("unexpected_index_list") or [],
                                  dtype=np.int64)
                if checks[i].keep_first:
                    rows = rows[duplicate[rows]]
                findings[i] = Finding(checks[i], result,
                                      rows, int(result.result.get("element_count", n)),
                                      int(result.result.get("unexpected_count", 0)))
        return _route(entity, frame, [findings[i] for i in range(len(checks))], run_id, as_of,
                      as_written)

    def close(self) -> None:
        """Drop the datasource and its assets."""
        self.context.data_sources.delete(self._source.name)


def _raised(result) -> str | None:
    info = result.exception_info or {}
    entries = info.values() if "raised_exception" not in info else [info]
    for entry in entries:
        if isinstance(entry, dict) and entry.get("raised_exception"):
            return str(entry.get("exception_message"))
    return None


def _route(entity: Entity, frame: pd.DataFrame, findings: list[Finding], run_id: str,
           as_of: date, as_written: pd.DataFrame | None = None) -> EntityValidation:
    n = len(frame)
    rules = [f.check.rule(entity.name) for f in findings]
    broken: dict[int, list[str]] = {}
    for rule, finding in zip(rules, findings, strict=True):
        for row in finding.rows.tolist():
            broken.setdefault(row, []).append(rule)
    summary = [{
        "expectation": f.check.type,
        "column_name": "+".join(f.check.columns),
        "rule": rule,
        "success": bool(f.result.success),
        "element_count": f.element_count,
        "unexpected_count": f.unexpected_count,
    } for rule, f in zip(rules, findings, strict=True)]
    positions = np.array(sorted(broken), dtype=np.int64)
    rejected = np.zeros(n, dtype=bool)
    rejected[positions] = True
    # A quarantined row keeps what the source said, not the normalised form judged.
    source = frame if as_written is None else as_written
    rejected_rows = source.loc[rejected, entity.column_names].astype(object)
    records = rejected_rows.where(rejected_rows.notna(), None).to_dict("records")
    quarantine = pd.DataFrame({
        "entity": entity.name,
        "row": [json.dumps(record, ensure_ascii=False) for record in records],
        # A row's rules in check order, each once.
        "rule": ["; ".join(broken[row]) for row in positions.tolist()],
        "run_id": run_id,
        "as_of_date": as_of,
    }, columns=QUARANTINE_COLUMNS)
    results_frame = pd.DataFrame(summary, columns=RESULT_COLUMNS[3:])
    results_frame.insert(0, "run_id", run_id)
    results_frame.insert(1, "as_of_date", as_of)
    results_frame.insert(2, "entity", entity.name)
    log.info("%s: %d rows, %d rejected", entity.name, n, len(positions))
    return EntityValidation(entity.name, n, frame, ~rejected, quarantine, results_frame)


def validate_entities(raw: dict[str, pd.DataFrame], run_id: str, as_of: date,
                      known_ids: dict[str, set[str]] | None = None,
                      as_written: dict[str, pd.DataFrame] | None = None
                      ) -> dict[str, EntityValidation]:
    """Validate every entity of ``raw`` (parents first) and split valid rows from rejects.
    ``as_written`` holds, for entities normalised before judging, the rows as read; their
    quarantine rows are taken from it.

    References to a parent validated in this call use its valid rows; ``known_ids``
    ("contacts.contact_id" -> ids) serves parents that are not part of ``raw``.
    """
    runner = SuiteRunner()
    parent_ids: dict[str, set[str]] = dict(known_ids or {})
    outcomes: dict[str, EntityValidation] = {}
    try:
        for name in ENTITY_ORDER:
            if name not in raw:
                continue
            outcome = runner.run(ENTITIES[name], raw[name], parent_ids, run_id, as_of,
                                 (as_written or {}).get(name))
            outcomes[name] = outcome
            for reference in REFERENCED:
                parent, column = reference.split(".")
                if parent == name:
                    parent_ids[reference] = set(outcome.valid[column].dropna())
    finally:
        runner.close()
    return outcomes
