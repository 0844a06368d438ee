"""Validate raw entities with Great Expectations and route every failing row to quarantine.

One ephemeral GX context serves a whole run. Entities are checked parents first, so a
reference (contact -> account) is checked against the parent rows that passed. Each
expectation runs with ``result_format="COMPLETE"``; its unexpected index list says which
rows fail it. A row failing several expectations is quarantined once, with every rule.
For a duplicate key the first row (file order) stays valid and the later ones are rejected.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from cadence.contract.entities import ENTITIES, ENTITY_ORDER, Entity
from cadence.contract.errors import RetryCannotHelp
from cadence.quality.expectations import Check, add_helper_columns, checks_for

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
    valid: pd.DataFrame  # the raw rows that passed, raw columns unchanged
    quarantine: pd.DataFrame  # QUARANTINE_COLUMNS, one row per rejected source row
    results: pd.DataFrame  # RESULT_COLUMNS, one row per expectation

    @property
    def rejected(self) -> int:
        """Rows sent to quarantine."""
        return len(self.quarantine)

    @property
    def rate(self) -> float:
        """Share of rows rejected (0 for an empty entity)."""
        return self.rejected / self.rows if self.rows else 0.0


class SuiteRunner:
    """Runs entity suites in one ephemeral GX context (building one is the slow part)."""

    def __init__(self) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self._gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self._source = self.context.data_sources.add_pandas("cadence_raw")

    def run(self, entity: Entity, frame: pd.DataFrame, parent_ids: dict[str, set[str]],
            run_id: str, as_of: date, as_written: pd.DataFrame | None = None
            ) -> EntityValidation:
        """Validate ``frame`` (raw text columns) against the suite of ``entity``;
        quarantined rows are recorded from ``as_written`` (same rows) when given."""
        gx = self._gx
        missing = [c for c in entity.column_names if c not in frame.columns]
        if missing:
            raise ValidationFailed(f"{entity.name}: contract column(s) {missing} missing")
        frame = frame.reset_index(drop=True)
        checks = checks_for(entity)
        suite = self.context.suites.add(gx.ExpectationSuite(name=entity.name))
        try:
            by_id = {}
            for check in checks:
                suite.add_expectation(check.expectation)
                by_id[check.expectation.id] = check
            asset = self._source.add_dataframe_asset(entity.name)
            definition = asset.add_batch_definition_whole_dataframe("whole")
            data = add_helper_columns(entity, frame[entity.column_names], parent_ids)
            batch = definition.get_batch(batch_parameters={"dataframe": data})
            # Batch.validate rather than a ValidationDefinition: the latter also serialises
            # the COMPLETE result (every unexpected value) into the context's store.
            outcome = batch.validate(suite, result_format="COMPLETE")
        finally:
            self.context.suites.delete(suite.name)
        results = [(by_id[r.expectation_config.id], r) for r in outcome.results]
        return _route(entity, frame, results, run_id, as_of, as_written)

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


def _route(entity: Entity, frame: pd.DataFrame, results: list[tuple[Check, object]],
           run_id: str, as_of: date, as_written: pd.DataFrame | None = None
           ) -> EntityValidation:
    n = len(frame)
    duplicate = (frame.duplicated(subset=list(entity.key), keep="first").to_numpy()
                 if entity.key else np.zeros(n, dtype=bool))
    rules: list[str] = []
    masks: list[np.ndarray] = []
    summary = []
    for check, result in results:
        error = _raised(result)
        if error:
            raise ValidationFailed(f"{check.rule(entity.name)} could not run: {error}")
        mask = np.zeros(n, dtype=bool)
        mask[np.asarray(result.result.get("unexpected_index_list") or [], dtype=np.int64)] = True
        if check.keep_first:
            mask &= duplicate
        rules.append(check.rule(entity.name))
        masks.append(mask)
        summary.append({
            "expectation": check.type,
            "column_name": "+".join(check.columns),
            "rule": check.rule(entity.name),
            "success": bool(result.success),
            "element_count": int(result.result.get("element_count", n)),
            "unexpected_count": int(result.result.get("unexpected_count", 0)),
        })
    failing = np.vstack(masks) if masks else np.zeros((0, n), dtype=bool)
    rejected = failing.any(axis=0) if masks else np.zeros(n, dtype=bool)
    positions = np.nonzero(rejected)[0]
    # A quarantined row keeps what the source said, not the normalised form judged.
    source = frame if as_written is None else as_written
    rejected_rows = source.loc[rejected, entity.column_names].astype(object)
    records = rejected_rows.where(rejected_rows.notna(), None).to_dict("records")
    quarantine = pd.DataFrame({
        "entity": entity.name,
        "row": [json.dumps(record, ensure_ascii=False) for record in records],
        "rule": ["; ".join(r for r, m in zip(rules, failing[:, i], strict=True) if m)
                 for i in positions],
        "run_id": run_id,
        "as_of_date": as_of,
    }, columns=QUARANTINE_COLUMNS)
    results_frame = pd.DataFrame(summary, columns=RESULT_COLUMNS[3:])
    results_frame.insert(0, "run_id", run_id)
    results_frame.insert(1, "as_of_date", as_of)
    results_frame.insert(2, "entity", entity.name)
    log.info("%s: %d rows, %d rejected", entity.name, n, len(positions))
    return EntityValidation(entity.name, n, frame[~rejected].reset_index(drop=True), quarantine,
                            results_frame)


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
