"""What a source is: something that reads one DESIGN §4 entity as a frame of text columns.

The files source is the embedded default; a CRM connector registers itself under its own
name and serves the entities the policy section ``sources`` assigns to it, producing the
same frames (contract column names, every value a string or NULL).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from pydantic import Field

from cadence.contract.entities import ENTITIES, Entity
from cadence.contract.errors import RetryCannotHelp
from cadence.contract.policy_section import Section
from cadence.contract.policy_types import Encoding
from cadence.contract.policy_types import Entity as EntityName


class SourceError(RetryCannotHelp, RuntimeError):
    """A source cannot deliver an entity: missing file, missing required column, unknown
    source name. The message names the entity, the file and the column."""


class SourcesPolicy(Section):
    """Which source serves which entity (policy section ``sources``)."""

    default: str = "files"
    # Per-entity override, e.g. {accounts: hubspot, contacts: hubspot}.
    entities: dict[EntityName, str] = Field(default_factory=dict)
    # Text encoding of the CSV files (a Python codec name, e.g. latin-1, cp1252); bytes
    # that are not in it fail the extract naming file and line.
    encoding: Encoding = "utf-8"
    encodings: dict[EntityName, Encoding] = Field(default_factory=dict)  # {csms: cp1252}

    def encoding_for(self, entity: str) -> str:
        """The declared text encoding of ``entity``'s files."""
        return self.encodings.get(entity, self.encoding)

    def source_for(self, entity: str) -> str:
        """The registered source name that serves ``entity``."""
        return self.entities.get(entity, self.default)


@runtime_checkable
class Source(Protocol):
    """Reads one entity as a frame whose columns are the contract names, all text."""

    def read(self, entity: Entity) -> pd.DataFrame:
        """Every row of ``entity`` as strings (NULL for empty), contract column names."""
        ...


@dataclass(frozen=True)
class SourceContext:
    """What the extract of one run hands a source factory: the run's warehouse, policy and
    identity, so connectors write watermarks, quarantine and load stamps of *this* run."""

    source_dir: Path
    warehouse: Any
    policy: Any
    run_id: str
    loaded_at: datetime


def check_columns(entity: Entity, columns, origin: str) -> None:
    """Raise :class:`SourceError` naming entity, origin and column when a required column
    is missing."""
    for column in entity.required:
        if column not in columns:
            raise SourceError(f"{entity.name}: required column {column!r} missing in {origin}")


def conform(entity: Entity, frame: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Check a frame against the contract and return it with exactly the contract columns
    as text: a missing required column raises, a missing optional one becomes NULL, extra
    columns are left out (they are not part of the contract)."""
    check_columns(entity, frame.columns, origin)
    out = {}
    for column in entity.column_names:
        if column in frame.columns:
            values = frame[column].reset_index(drop=True)
            if pd.api.types.is_float_dtype(values) and (values.dropna() % 1 == 0).all():
                values = values.astype("Int64")  # 3.0 with gaps is the integer 3
            # pandas' text dtype keeps missing values missing (astype(object) would not).
            out[column] = values if values.dtype == "str" else values.astype("str")
        else:
            out[column] = pd.Series(np.nan, index=pd.RangeIndex(len(frame)), dtype="str")
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def entity(name: str) -> Entity:
    """The contract of entity ``name``."""
    try:
        return ENTITIES[name]
    except KeyError:
        raise SourceError(f"unknown entity {name!r}") from None
