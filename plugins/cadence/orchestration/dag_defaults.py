"""Airflow wiring shared by every cadence DAG: defaults, assets, the failure callback and
the translation of Airflow's task context into a :class:`cadence.orchestration.runs.Run`.

Kept light (no pandas, SQLAlchemy or HTTP imports) because DAG files import it at parse
time.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import Asset, Param
from airflow.sdk import task as airflow_task
from airflow.sdk.exceptions import AirflowFailException

from cadence.contract.errors import RetryCannotHelp
from cadence.contract.settings import INCLUDE_DIR

log = logging.getLogger(__name__)

OWNER = "cadence"
WAREHOUSE_POOL = "cadence_warehouse"  # one slot on DuckDB (single writer), wider on Postgres

# Assets the nightly run produces and the hourly run consumes.
ACCOUNT_HEALTH = Asset("cadence://warehouse/account_health")
SEGMENT_MEMBERSHIP = Asset("cadence://warehouse/segment_membership")
COMMUNICATION_CALENDAR = Asset("cadence://warehouse/communication_calendar")
CSM_TASKS = Asset("cadence://warehouse/csm_tasks")


def notify_failure(context: dict[str, Any]) -> None:
    """Failure callback: one structured line naming the DAG, task, run and error type.

    The exception text is left out on purpose: it may carry row values (emails, names).
    """
    ti = context.get("task_instance") or context.get("ti")
    exc = context.get("exception")
    log.error(
        "cadence task failed: dag=%s task=%s run=%s try=%s error=%s",
        getattr(ti, "dag_id", "?"),
        getattr(ti, "task_id", "?"),
        context.get("run_id"),
        getattr(ti, "try_number", "?"),
        type(exc).__name__ if exc else "unknown",
    )


DEFAULT_ARGS: dict[str, Any] = {
    "owner": OWNER,
    # CADENCE_TASK_RETRIES=0 lets `make demo` and the end-to-end tests fail fast instead of
    # waiting out production retry delays; deployments keep the default.
    "retries": int(os.environ.get("CADENCE_TASK_RETRIES", "2")),
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=20),
    "execution_timeout": timedelta(hours=1),
    "on_failure_callback": notify_failure,
    "pool": WAREHOUSE_POOL,
}


def fail_now_when_retry_cannot_help(function: Callable) -> Callable:
    """``function`` raising :class:`AirflowFailException` instead of a domain error that
    derives from :class:`RetryCannotHelp` (bad source, quality or policy), so the task fails
    at once instead of waiting out its retries; every other error (network) is left to the
    retries."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except RetryCannotHelp as exc:
            raise AirflowFailException(f"{type(exc).__name__}: {exc}") from exc

    run.fails_now_when_retry_cannot_help = True
    return run


def releases_memory_after(function: Callable) -> Callable:
    """``function`` that, however it ends, closes the warehouse connections it opened and
    hands the memory its frames freed back to the system: a process running task after task
    (``dags test``, a Celery worker) otherwise keeps each task's DuckDB cache and heap."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        finally:
            from cadence.contract.memory import release_memory

            release_memory()

    return run


def task(python_callable: Callable | None = None, **kwargs: Any):
    """Airflow's ``@task`` (bare or with arguments) whose callable fails now on a
    :class:`RetryCannotHelp` error; every cadence DAG task is declared with it."""

    def decorate(function: Callable):
        return airflow_task(**kwargs)(fail_now_when_retry_cannot_help(
            releases_memory_after(function)))

    return decorate(python_callable) if python_callable is not None else decorate


def dag_kwargs(doc: str | None, description: str, tags: list[str],
               **overrides: Any) -> dict[str, Any]:
    """The keyword arguments every cadence DAG shares; DAG files add their schedule."""
    kwargs: dict[str, Any] = {
        "description": description,
        # Who to ask about a run: the owner's link in the UI (set CADENCE_OWNER_LINK to the
        # team's channel or mailbox; a mailto: or https: URL).
        "owner_links": {OWNER: os.environ.get("CADENCE_OWNER_LINK",
                                              "mailto:data-engineering@example.com")},
        "start_date": datetime(2026, 1, 1, tzinfo=UTC),
        "catchup": False,  # explicit: history is recomputed with `airflow backfill create`
        "max_active_runs": 1,
        "default_args": DEFAULT_ARGS,
        "doc_md": doc,
        "tags": ["cadence", *tags],
        "template_searchpath": [str(INCLUDE_DIR)],
        "dagrun_timeout": timedelta(hours=6),
    }
    kwargs.update(overrides)
    return kwargs


NIGHTLY_PARAMS = {
    "horizon_days": Param(28, type="integer", minimum=1, maximum=90, title="Horizon (days)",
                          description="Days ahead the calendar is planned"),
}

HOURLY_PARAMS = {
    "dry_run": Param(False, type="boolean", title="Dry run",
                     description="Render and record batches, send nothing"),
    "simulation": Param(False, type="boolean", title="Simulation (outbox only)",
                        description="Replay a past window through the outbox provider only"),
    "lookahead_hours": Param(1, type="integer", minimum=1, maximum=720, title="Look ahead (hours)",
                             description="Hand off touches due up to this many hours ahead"),
}


def publish_asset_extra(asset: Asset, run) -> None:
    """Attach what the task just wrote to its asset event: the plan date, the rows of that
    date and their counts by status (band, task type), so consumers see it in the UI."""
    from airflow.sdk import get_current_context

    from cadence.outputs.report import asset_extra

    table = asset.uri.rsplit("/", 1)[-1]
    get_current_context()["outlet_events"][asset].extra = asset_extra(run.warehouse, table,
                                                                       run.as_of)


def wall_clock() -> datetime:
    """The present, in UTC: the one clock read of cadence, handed to task functions through
    :class:`cadence.orchestration.runs.Run` so domain code receives it as a parameter."""
    return datetime.now(UTC)


def current_run(live_within: timedelta | None = None):
    """The :class:`cadence.orchestration.runs.Run` of the task being executed, from
    Airflow's context; it is live when not a backfill and its window holds the wall clock within
    ``live_within`` (default: the policy's ``handoff.staleness_hours``) on both sides."""
    from airflow.sdk import get_current_context

    from cadence.orchestration.runs import Run

    context = get_current_context()
    dag_run = context["dag_run"]
    # Asset-triggered runs have no logical date in Airflow 3: they are about run_after.
    start = (context.get("data_interval_start") or context.get("logical_date")
             or dag_run.run_after)
    end = context.get("data_interval_end") or start
    run_type = str(getattr(dag_run, "run_type", "manual")).split(".")[-1].lower()
    started = getattr(dag_run, "start_date", None) or wall_clock()
    return Run(
        run_id=context["run_id"],
        run_type=run_type,
        data_interval_start=start,
        data_interval_end=end,
        started_at=started,
        clock=wall_clock,
        live_within=live_within,
        params=dict(context.get("params") or {}),
    )


# A run writes to a CRM only when it is about today: its window holds the wall clock
# within a day (a nightly run starts an hour after its window ends).
CRM_LIVE_WITHIN = timedelta(days=1)


def schema_step():
    """The task ``create_warehouse_tables``, the first of every DAG (call it inside the DAG):
    no later step creates or probes for a table."""

    def create_warehouse_tables() -> dict:
        from cadence.contract.schema import create_warehouse_tables as create

        return create(current_run().warehouse)

    return task(task_id="create_warehouse_tables", doc_md=(
        "Create every warehouse table declared in the data dictionary that is missing, and "
        "the columns declared since an existing one was made (`cadence.contract.schema`)."),
    )(create_warehouse_tables)()


def nightly_step(name: str, doc: str, live_within: timedelta | None = None,
                 **task_kwargs: Any):
    """The task ``name`` calling ``cadence.orchestration.nightly.<name>`` with the current run:
    the whole wiring of a nightly step that emits no asset. ``doc`` is its doc_md; ``live_within``
    bounds how far from the present a run may be and still write outside the warehouse."""

    def step() -> dict:
        from cadence.orchestration import nightly

        return getattr(nightly, name)(current_run(live_within=live_within))

    step.__name__ = step.__qualname__ = name
    return task(task_id=name, doc_md=doc, **task_kwargs)(step)
