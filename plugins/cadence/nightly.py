"""The tasks of ``cadence_nightly``, one function each, in DAG order.

Every function plans for the run's logical date (``run.as_of``) and writes its outputs
idempotently (replace the partition), so a rerun or a backfill of any date recomputes
that date and never sends anything.
"""

from __future__ import annotations

import logging

from cadence.runs import Run

log = logging.getLogger(__name__)


def extract_sources(run: Run) -> dict:
    """Load every source entity into ``raw_<entity>``, stamped with the load time and run."""
    from cadence.sources import extract_sources as extract

    return extract(run.warehouse, run.policy, run.settings.source_dir, run.run_id,
                   run.started_at)


def validate_sources(run: Run) -> dict:
    """Great Expectations suites per entity: valid rows on, rejected rows to quarantine;
    contacts of consent rows that cannot be read are held."""
    from cadence.handoff.consent_holds import refresh_consent_holds
    from cadence.quality import validate_sources as validate

    summary = validate(run.warehouse, run.policy, run.run_id, run.as_of)
    return {**summary, "consent": refresh_consent_holds(run.warehouse, run.run_id,
                                                        run.clock())}


def build_staging(run: Run) -> dict:
    """Type the validated sources into ``stg_<entity>``."""
    from cadence.models import build_staging as build
    from cadence.touches import ensure_planning_tables

    ensure_planning_tables(run.warehouse)  # intermediate models read the calendar history
    return build(run.warehouse, run.policy, run.as_of)


def apply_erasures(run: Run) -> dict:
    """Carry out new erasure requests in every table and every file under the out dir,
    before anything is scored, planned or written from the staged contacts."""
    from cadence.erasure import apply_erasures as erase

    return erase(run.warehouse, run.settings.out_dir, run.clock(), run.run_id)


def score_account_health(run: Run) -> dict:
    """Daily ``account_health`` snapshot (and its 14-day delta) as of the logical date."""
    from cadence.account_health import score_account_health as score

    return score(run.warehouse, run.policy, run.as_of)


def assign_segments(run: Run) -> dict:
    """Tier, stage and signal segments of the day; ``segment_membership`` as SCD2."""
    from cadence.segments import assign_segments as assign

    return assign(run.warehouse, run.policy, run.as_of)


def generate_candidates(run: Run) -> dict:
    """Every team's wishes, cadences, renewals, triggers and campaigns as candidates."""
    from cadence.candidates.generate import generate_touch_candidates

    return generate_touch_candidates(run.warehouse, run.policy, run.as_of,
                                     _horizon_days(run), run_id=run.run_id)


def list_plan_shards(run: Run) -> list[int]:
    """Assign each account with candidates to its shard; the shards the planner is mapped
    over."""
    from cadence.planner.sharding import list_shards

    return list_shards(run.warehouse, run.policy, run.as_of)


def plan_calendar(run: Run, shard: int) -> dict:
    """Plan one shard of accounts under every rule of DESIGN §8."""
    from cadence.planner.sharding import plan_calendar_shard

    return plan_calendar_shard(run.warehouse, run.policy, run.as_of, shard)


def level_csm_capacity(run: Run) -> dict:
    """Level each CSM's human touches across weeks under their weekly capacity."""
    from cadence.planner.sharding import level_csm_capacity as level

    return level(run.warehouse, run.policy, run.as_of)


def write_csm_tasks(run: Run) -> dict:
    """``csm_tasks`` and each CSM's daily CSV and iCalendar lists."""
    from cadence.csm_tasks import write_csm_task_lists

    return write_csm_task_lists(run.warehouse, run.policy, run.settings.out_dir, run.as_of)


def push_csm_tasks(run: Run) -> dict:
    """Create or update the plan's CSM tasks in the CRM named by policy
    (``connectors.crm_tasks.crm``); a backfill or an old run leaves the CRM alone."""
    from cadence.connectors.crm_tasks import push_csm_tasks as push

    crm = run.policy.connectors.crm_tasks.crm
    if crm == "none":
        return {"crm": crm, "pushed": 0}
    if not run.is_live:
        log.info("run %s (%s) is about the past: CSM tasks not pushed to %s",
                 run.run_id, run.run_type, crm)
        return {"crm": crm, "pushed": 0, "skipped": "not a live run"}
    return {"crm": crm, **push(run.warehouse, run.policy.connectors, run.as_of, crm)}


def write_report(run: Run) -> dict:
    """The analyst's HTML report of the plan date."""
    from cadence.report import write_report as write

    path = write(run.warehouse, run.policy, run.settings.out_dir, run.as_of)
    return {"report": str(path)}


def _horizon_days(run: Run) -> int:
    return int(run.params.get("horizon_days") or run.policy.planner.horizon_days)
