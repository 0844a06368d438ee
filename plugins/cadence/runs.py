"""What one DAG run is about: its logical date, identity, kind and manual parameters.

Task functions of :mod:`cadence.nightly` and :mod:`cadence.hourly` receive a
:class:`Run`; they never look at the clock or at Airflow themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any

from cadence.settings import Settings, load_settings


@dataclass
class Run:
    """One run of a cadence DAG, as the task functions see it."""

    run_id: str
    run_type: str  # scheduled, manual, backfill, asset_triggered
    data_interval_start: datetime
    data_interval_end: datetime
    started_at: datetime  # when the run started, stamped on raw loads
    is_live: bool  # the run's window is the present: only then may a real provider send
    params: dict[str, Any] = field(default_factory=dict)
    settings: Settings = field(default_factory=load_settings)

    @property
    def as_of(self) -> date:
        """The logical date: the day whose data the run processes and plans from."""
        return self.data_interval_start.date()

    @cached_property
    def policy(self):
        """The validated policy (``CADENCE_POLICY``)."""
        from cadence.policy import load_policy

        return load_policy(self.settings.policy_path)

    @cached_property
    def warehouse(self):
        """The warehouse (``CADENCE_WAREHOUSE_URL``)."""
        from cadence.warehouse import connect

        return connect(self.settings)
