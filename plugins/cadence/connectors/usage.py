"""Product usage (``usage_daily``) from a warehouse query or from files partitioned by date.

Loads are incremental by day: the watermark is the last loaded ``usage_date`` and each run
re-reads from ``lookback_days`` before it, so late-arriving days are picked up. The loaded
days replace their earlier copy in ``connector_usage_daily`` (every contract column as
text), which is what :meth:`UsageSource.read` returns whole.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from cadence.connectors.field_mapping import MalformedRecord, is_missing, parse_time
from cadence.connectors.policy import UsagePolicy
from cadence.connectors.records import Quarantine, check_reject_rate
from cadence.connectors.watermarks import get_watermark, set_watermark
from cadence.contract.entities import ENTITIES, Entity
from cadence.contract.warehouse import Warehouse
from cadence.sources.base import SourceContext, SourceError, conform
from cadence.sources.files import read_file

SOURCE = "usage"
TABLE = "connector_usage_daily"
PARTITION = re.compile(r"^usage_date=(\d{4}-\d{2}-\d{2})$")
USAGE = ENTITIES["usage_daily"]


def _text(value: object) -> str | None:
    # Typed query results and Parquet carry numbers and dates; the raw contract is text.
    if is_missing(value):
        return None
    if isinstance(value, datetime | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every value as text (NULL stays NULL)."""
    return frame.astype(object).apply(lambda column: column.map(_text)).astype(object)


def partitions(root: Path, since: date | None) -> list[tuple[date, list[Path]]]:
    """Partition folders ``usage_date=YYYY-MM-DD`` on or after ``since`` with their files."""
    if not root.is_dir():
        raise SourceError(f"usage_daily: no folder {root}")
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        match = PARTITION.match(folder.name)
        if not match:
            raise SourceError(f"usage_daily: folder {folder} is not named usage_date=YYYY-MM-DD")
        day = date.fromisoformat(match[1])
        if since is None or day >= since:
            files = sorted(p for p in folder.iterdir() if p.suffix in (".csv", ".parquet"))
            found.append((day, files))
    return found


def read_partitions(root: Path, since: date | None) -> pd.DataFrame:
    """Every usage row of the partitions on or after ``since``; ``usage_date`` comes from
    the folder when the files leave it out."""
    frames = []
    for day, files in partitions(root, since):
        for path in files:
            frame = read_file(path, USAGE.name)
            if "usage_date" not in frame:
                frame["usage_date"] = day.isoformat()
            frames.append(as_text(frame))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=USAGE.column_names)


def split_malformed(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[dict, str]]]:
    """Rows with an account and a parseable usage_date (normalised to YYYY-MM-DD), and the
    rejected rows with their rule."""
    good, rejected = [], []
    for row in frame.to_dict("records"):
        try:
            if is_missing(row.get("account_id")) or not str(row["account_id"]).strip():
                raise MalformedRecord("account_id is missing")
            row["usage_date"] = parse_time(row.get("usage_date"), "usage_date").date().isoformat()
            good.append(row)
        except MalformedRecord as exc:
            rejected.append((row, str(exc)))
    return pd.DataFrame(good, columns=list(frame.columns), dtype=object), rejected


class UsageSource:
    """A :class:`cadence.sources.Source` serving ``usage_daily`` incrementally."""

    def __init__(self, warehouse: Warehouse, policy: UsagePolicy, source_dir: Path,
                 run_id: str, loaded_at: datetime, reject_threshold: float = 0.05) -> None:
        self.warehouse = warehouse
        self.reject_threshold = reject_threshold
        self.policy = policy
        self.source_dir = Path(source_dir)
        self.loaded_at = loaded_at
        self.quarantine = Quarantine(run_id=run_id, as_of=loaded_at.date())

    @classmethod
    def from_context(cls, context: SourceContext) -> UsageSource:
        """The source as the extract of one run builds it: the run's warehouse, policy, id
        and load time."""
        policy = context.policy
        return cls(context.warehouse, policy.connectors.usage, context.source_dir,
                   context.run_id, context.loaded_at, policy.quality.threshold(USAGE.name))

    def since(self) -> date | None:
        """First day to (re)load: the lookback before the last loaded day; None = all."""
        stored = get_watermark(self.warehouse, SOURCE, USAGE.name)
        if stored is None:
            return None
        return date.fromisoformat(stored) - timedelta(days=self.policy.lookback_days)

    def fetch(self, since: date | None) -> pd.DataFrame:
        """Usage rows of ``since`` and later from the configured place, as text."""
        if self.policy.mode == "warehouse":
            if not self.policy.query:
                raise SourceError("usage_daily: connectors.usage.query is required in mode"
                                  " warehouse (bind the first day as :since)")
            return as_text(self.warehouse.read_frame(self.policy.query,
                                                     {"since": since or date.min}))
        return read_partitions(self.source_dir / self.policy.path, since)

    def read(self, entity: Entity) -> pd.DataFrame:
        """Every loaded usage row (contract columns, text) after loading what is new."""
        if entity.name != USAGE.name:
            raise SourceError(f"{entity.name}: the usage source serves only usage_daily")
        since = self.since()
        fresh, rejected = split_malformed(conform(USAGE, self.fetch(since), "usage"))
        for row, rule in rejected:
            self.quarantine.add(f"{SOURCE}.{USAGE.name}", row, rule)
        self.quarantine.write(self.warehouse)
        check_reject_rate(USAGE.name, len(fresh), len(rejected), self.reject_threshold)
        kept = pd.DataFrame(columns=USAGE.column_names, dtype=object)
        if since is not None and self.warehouse.table_exists(TABLE):
            stored = self.warehouse.read_table(TABLE)[USAGE.column_names]
            kept = stored[stored["usage_date"] < since.isoformat()]
        loaded = pd.concat([kept, fresh], ignore_index=True).astype(object)
        frame = loaded.copy()
        frame["_loaded_at"] = pd.Series([pd.Timestamp(self.loaded_at)] * len(frame),
                                        dtype="datetime64[us, UTC]")
        self.warehouse.write_frame(TABLE, frame, replace_all=True)
        if len(fresh):
            newest = max(fresh["usage_date"])
            set_watermark(self.warehouse, SOURCE, USAGE.name, newest, self.loaded_at)
        return conform(USAGE, loaded, "usage")
