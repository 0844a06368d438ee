"""What one DAG run is about: its logical date, identity, kind and manual parameters.

Task functions of :mod:`cadence.orchestration.nightly` and
:mod:`cadence.orchestration.hourly` receive a
:class:`Run`; they never look at the clock or at Airflow themselves: the run carries the
wall clock (read by the Airflow wiring) and passes its readings on as parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any

from cadence.contract.settings import Settings, load_settings


@dataclass
class Run:
    """One run of a cadence DAG, as the task functions see it."""

    run_id: str
    run_type: str  # scheduled, manual, backfill, asset_triggered
    data_interval_start: datetime
    data_interval_end: datetime
    started_at: datetime  # when the run started, stamped on raw loads
    clock: Callable[[], datetime]  # the wall clock: each call reads the present
    # How far the window may be from the present and still be live; None: the policy's
    # handoff.staleness_hours.
    live_within: timedelta | None = None
    params: dict[str, Any] = field(default_factory=dict)
    settings: Settings = field(default_factory=load_settings)

    @cached_property
    def is_live(self) -> bool:
        """Whether the run is about the present: only then may a real provider send or a
        CRM be written (read once, when first asked)."""
        bound = self.live_within
        if bound is None:
            bound = timedelta(hours=self.policy.handoff.staleness_hours)
        return is_live_run(self.run_type, self.data_interval_start, self.data_interval_end,
                           self.clock(), bound)

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
        from cadence.contract.warehouse import connect

        return connect(self.settings)


def is_live_run(run_type: str, data_interval_start: datetime, data_interval_end: datetime,
                now: datetime, staleness: timedelta = timedelta(hours=2)) -> bool:
    """A run may send through a real provider only when it is not a backfill and its window
    holds ``now`` within ``staleness`` on both sides: catchup and reruns of old runs are
    past, a run dated ahead (``airflow dags test`` of next week) is future; neither is live."""
    if run_type == "backfill":
        return False
    return data_interval_start - staleness <= now <= data_interval_end + staleness
