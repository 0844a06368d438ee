"""The connectors' copy of CRM records (table ``connector_records``) and incremental sync.

A CRM delivers only what changed since the watermark, but ``raw_<entity>`` is a full
snapshot; the connector keeps every live record here (grain source × object_type ×
record_id), applies changes and deletions (tombstones), commits, and only then advances
the watermark. Rejected records go to ``quarantine`` with the source, object and id.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

import pandas as pd

from cadence.connectors.field_mapping import CrmRecord, MalformedRecord, is_missing
from cadence.connectors.watermarks import get_watermark, set_watermark
from cadence.contract.entities import Entity
from cadence.contract.warehouse import Warehouse
from cadence.sources.base import SourceError, conform

TABLE = "connector_records"


@dataclass
class Batch:
    """What one fetch returned: raw records (changed or all) and ids deleted in the CRM."""

    records: list[dict]
    deleted: set[str] = field(default_factory=set)
    full: bool = False  # every live record, so anything not in it is gone


@dataclass
class Quarantine:
    """Rejected records of one run, written to ``quarantine`` per entity and as_of_date."""

    run_id: str
    as_of: date
    rows: dict[str, list[dict]] = field(default_factory=dict)

    def add(self, entity: str, row: dict, rule: str) -> None:
        """Reject ``row`` of ``entity`` (``<source>.<object>``) for ``rule``."""
        clean = {k: None if is_missing(v) else v for k, v in row.items()}  # JSON has no NaN
        self.rows.setdefault(entity, []).append(
            {"entity": entity, "row": json.dumps(clean, default=str, sort_keys=True),
             "rule": rule}
        )

    def count(self, entities: tuple[str, ...]) -> int:
        """Rows rejected so far for any of ``entities``."""
        return sum(len(self.rows.get(entity, [])) for entity in entities)

    def write(self, warehouse: Warehouse) -> int:
        """Replace this run's quarantine partitions (as_of_date × entity); rows written."""
        total = 0
        for entity, rows in self.rows.items():
            frame = pd.DataFrame(rows)
            frame["run_id"] = self.run_id
            frame["as_of_date"] = self.as_of
            total += warehouse.write_frame(
                "quarantine", frame, replace_where={"as_of_date": self.as_of, "entity": entity}
            )
        return total


def check_reject_rate(entity: str, loaded: int, rejected: int, threshold: float) -> None:
    """Raise :class:`SourceError` when the share of rejected CRM records of an entity passes
    its threshold (policy quality), like validation does for the raw rows."""
    total = loaded + rejected
    if total and rejected / total > threshold:
        raise SourceError(
            f"{entity}: {rejected} of {total} CRM records rejected ({rejected / total:.1%}),"
            f" above the threshold {threshold:.1%}; the rows and rules are in quarantine"
        )


def load_records(warehouse: Warehouse, source: str, object_type: str) -> dict[str, CrmRecord]:
    """Every stored live record of one CRM object, by id."""
    if not warehouse.table_exists(TABLE):
        return {}
    frame = warehouse.read_table(TABLE, {"source": source, "object_type": object_type})
    return {
        row.record_id: CrmRecord(
            record_id=row.record_id,
            modified_at=pd.Timestamp(row.modified_at),
            properties=json.loads(row.properties),
            associations=json.loads(row.associations),
        )
        for row in frame.itertuples()
    }


def save_records(
    warehouse: Warehouse,
    source: str,
    object_type: str,
    records: Iterable[CrmRecord],
    loaded_at: datetime,
) -> int:
    """Replace the stored records of one CRM object in one transaction."""
    frame = pd.DataFrame(
        [
            {
                "source": source,
                "object_type": object_type,
                "record_id": r.record_id,
                "modified_at": r.modified_at.isoformat(),
                "properties": json.dumps(r.properties, sort_keys=True),
                "associations": json.dumps(r.associations, sort_keys=True),
            }
            for r in records
        ],
        columns=["source", "object_type", "record_id", "modified_at", "properties",
                 "associations"],
    )
    frame["_loaded_at"] = pd.Series([pd.Timestamp(loaded_at)] * len(frame),
                                    dtype="datetime64[us, UTC]")
    return warehouse.write_frame(
        TABLE, frame, replace_where={"source": source, "object_type": object_type}
    )


def sync_object(
    warehouse: Warehouse,
    source: str,
    object_type: str,
    fetch: Callable[[pd.Timestamp | None], Batch],
    parse: Callable[[dict], CrmRecord],
    watermark_text: Callable[[pd.Timestamp], str],
    quarantine: Quarantine,
    loaded_at: datetime,
) -> dict[str, CrmRecord]:
    """Bring the stored copy of one CRM object up to date and return every live record.

    ``fetch(since)`` gets everything when ``since`` is None (first load or after a reset),
    else what changed since; the watermark moves to the newest change only after the
    records are committed.
    """
    stored = get_watermark(warehouse, source, object_type)
    since = pd.Timestamp(int(stored), unit="ms", tz="UTC") if stored and stored.isdigit() \
        else (pd.Timestamp(stored) if stored else None)
    batch = fetch(since)
    changed: dict[str, CrmRecord] = {}
    for raw in batch.records:
        try:
            record = parse(raw)
        except MalformedRecord as exc:
            quarantine.add(f"{source}.{object_type}", raw, str(exc))
            continue
        changed[record.record_id] = record  # a re-read page repeats records: last wins
    current = {} if batch.full else load_records(warehouse, source, object_type)
    current.update(changed)
    for record_id in batch.deleted:
        current.pop(record_id, None)
    save_records(warehouse, source, object_type, current.values(), loaded_at)
    newest = max((r.modified_at for r in changed.values()), default=None)
    if newest is not None and (since is None or newest > since):
        set_watermark(warehouse, source, object_type, watermark_text(newest), loaded_at)
    return current


class CrmSource(ABC):
    """What the HubSpot and Salesforce sources share: the run's warehouse, quarantine and
    reject threshold, and :meth:`read`, which serves accounts, contacts and csms from the
    subclass's readers and fails an entity whose CRM records were rejected too often."""

    name: str  # the source's name in policy ``sources``
    id_field: str  # how the CRM names a record's id (kept in the quarantined row)
    entities = ("accounts", "contacts", "csms")
    # Quarantine entities (``<source>.<object>``) whose rejects count against each entity.
    rejected_as: dict[str, tuple[str, ...]]

    def __init__(self, warehouse: Warehouse, policy, client, run_id: str, loaded_at: datetime,
                 reject_threshold: Callable[[str], float] = lambda _entity: 0.05) -> None:
        self.warehouse = warehouse
        self.reject_threshold = reject_threshold
        self.policy = policy
        self.client = client
        self.loaded_at = loaded_at
        self.quarantine = Quarantine(run_id=run_id, as_of=loaded_at.date())

    def read(self, entity: Entity) -> pd.DataFrame:
        """Every live row of ``entity`` (contract columns, text)."""
        readers: dict[str, Callable[[], pd.DataFrame]] = {
            "accounts": self._accounts, "contacts": self._contacts, "csms": self._csms,
        }
        if entity.name not in readers:
            raise SourceError(
                f"{entity.name}: the {self.name} source serves {list(self.entities)};"
                " assign another source to it in policy sources.entities"
            )
        frame = readers[entity.name]()
        self.quarantine.write(self.warehouse)
        check_reject_rate(entity.name, len(frame),
                          self.quarantine.count(self.rejected_as[entity.name]),
                          self.reject_threshold(entity.name))
        return conform(entity, frame, self.name)

    def _reject(self, object_type: str, rejected: list[tuple[CrmRecord, str]]) -> None:
        """Quarantine records of ``object_type`` that could not become rows."""
        for record, rule in rejected:
            self.quarantine.add(f"{self.name}.{object_type}",
                                {self.id_field: record.record_id, **record.properties}, rule)

    @abstractmethod
    def _accounts(self) -> pd.DataFrame:
        """Accounts (contract columns) from the CRM's companies and renewal deals."""

    @abstractmethod
    def _contacts(self) -> pd.DataFrame:
        """Contacts (contract columns) with their account."""

    @abstractmethod
    def _csms(self) -> pd.DataFrame:
        """CSMs (contract columns) from the CRM's users or owners."""
