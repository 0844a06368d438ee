"""The tasks of ``cadence_nightly``, one function each, in DAG order.

Every function plans for the run's logical date (``run.as_of``) and writes its outputs
idempotently (replace the partition), so a rerun or a backfill of any date recomputes
that date and never sends anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from cadence.orchestration.runs import Run

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
    from cadence.models.runner import build_staging as build

    return build(run.warehouse, run.policy, run.as_of)


def apply_erasures(run: Run) -> dict:
    """Carry out new erasure requests in every table and every file under the out dir,
    before anything is scored, planned or written from the staged contacts."""
    from cadence.privacy.erasure import apply_erasures as erase

    return erase(run.warehouse, run.settings.out_dir, run.clock(), run.run_id)


def score_account_health(run: Run) -> dict:
    """Daily ``account_health`` snapshot (and its 14-day delta) as of the logical date."""
    from cadence.models.account_health import score_account_health as score

    return score(run.warehouse, run.policy, run.as_of)


def assign_segments(run: Run) -> dict:
    """Tier, stage and signal segments of the day; ``segment_membership`` as SCD2."""
    from cadence.models.segments import assign_segments as assign

    return assign(run.warehouse, run.policy, run.as_of)


def learn_from_engagement(run: Run) -> dict:
    """Send slots and the promotional mix learned from what was sent and how it engaged."""
    from cadence.learning.steps import learn_from_engagement as learn

    return learn(run.warehouse, run.policy, run.as_of)


def generate_candidates(run: Run) -> dict:
    """Every team's wishes, cadences, renewals, triggers and campaigns as candidates; the
    accounts of running experiments assigned, each arm's under the arm's policy. Champion
    changes since the previous night are detected first: they start touches."""
    from cadence.candidates.champion_change import detect_champion_changes
    from cadence.learning.steps import generate_candidates as generate

    changes = detect_champion_changes(run.warehouse, run.policy.candidates.primary_roles,
                                      run.as_of)
    return {**generate(run.warehouse, run.policy, run.as_of, _horizon_days(run),
                       run_id=run.run_id), "champion_changes": changes}


def list_plan_shards(run: Run) -> list[int]:
    """Assign each account with candidates to its shard; the shards the planner is mapped
    over."""
    from cadence.learning.steps import split_shards_by_arm
    from cadence.planner.steps import list_shards

    shards = list_shards(run.warehouse, run.policy, run.as_of)
    return split_shards_by_arm(run.warehouse, run.policy, run.as_of, shards)


def plan_calendar(run: Run, shard: int) -> dict:
    """Plan one shard of accounts under every rule of DESIGN §8, with the learned mix and
    (an experiment arm's shard) the arm's policy."""
    from cadence.learning.steps import planning_policy
    from cadence.planner.steps import plan_calendar_shard

    policy = planning_policy(run.warehouse, run.policy, run.as_of, shard)
    return plan_calendar_shard(run.warehouse, policy, run.as_of, shard)


def steer_send_times(run: Run) -> dict:
    """Email and in-app touches at the policy slot move to the learned send hour."""
    from cadence.learning.steps import apply_learned_send_slots

    return apply_learned_send_slots(run.warehouse, run.policy, run.as_of)


def level_csm_capacity(run: Run) -> dict:
    """Level each CSM's human touches across weeks under their weekly capacity."""
    from cadence.planner.steps import level_csm_capacity as level

    return level(run.warehouse, run.policy, run.as_of)


def write_csm_tasks(run: Run) -> dict:
    """``csm_tasks`` (owners, meeting times, talking points), each owner's live iCalendar
    feed and weekly CSVs."""
    from cadence.outputs.csm_tasks import write_csm_task_lists

    return write_csm_task_lists(run.warehouse, run.policy, run.settings.out_dir, run.as_of,
                                changed_at=run.started_at)


def push_csm_tasks(run: Run) -> dict:
    """Create or update the plan's CSM tasks in the CRM named by policy
    (``connectors.crm_tasks.crm``); a backfill or an old run leaves the CRM alone."""
    from cadence.outputs.crm_tasks import push_csm_tasks as push

    crm = run.policy.connectors.crm_tasks.crm
    queues = (run.policy.csm_tasks.pooled_queue, run.policy.csm_tasks.escalation_queue)
    return _write_to_crm(run, crm, "pushed", "CSM tasks not pushed to", lambda: push(
        run.warehouse, run.policy.connectors, run.as_of, crm,
        queue_owners={q.id: q.crm_owner_id for q in queues}))


def push_health_properties(run: Run) -> dict:
    """Push health score, band, tier, stage and signals that changed to HubSpot company
    and contact properties (``connectors.health_push``); a backfill or an old run leaves
    the CRM alone."""
    from cadence.outputs.health_push import push_health_properties as push

    crm = run.policy.connectors.health_push.crm
    return _write_to_crm(run, crm, "pushed", "health properties not pushed to", lambda: push(
        run.warehouse, run.policy.connectors, run.as_of, run.clock()))


def open_expansion_deals(run: Run) -> dict:
    """Open a deal (HubSpot) or opportunity (Salesforce) with the evidence for each
    expansion-ready account outside its cooldown (``connectors.expansion_deals``); a
    backfill or an old run leaves the CRM alone."""
    from cadence.outputs.expansion_deals import open_expansion_deals as open_deals

    crm = run.policy.connectors.expansion_deals.crm
    return _write_to_crm(run, crm, "opened", "no expansion deals opened in", lambda: open_deals(
        run.warehouse, run.policy.connectors, run.as_of, run.clock(), crm))


def _write_to_crm(run: Run, crm: str, counted: str, not_done: str,
                  write: Callable[[], dict]) -> dict:
    # The one gate of every CRM write: none configured, or a run about the past (a
    # backfill must never change the CRM), counts zero under ``counted`` without calling.
    if crm == "none":
        return {"crm": crm, counted: 0}
    if not run.is_live:
        log.info("run %s (%s) is about the past: %s %s",
                 run.run_id, run.run_type, not_done, crm)
        return {"crm": crm, counted: 0, "skipped": "not a live run"}
    return {"crm": crm, **write()}


def write_report(run: Run) -> dict:
    """The analyst's HTML report of the plan date."""
    from cadence.outputs.report import write_report as write

    path = write(run.warehouse, run.policy, run.settings.out_dir, run.as_of)
    return {"report": str(path)}


def report_experiments(run: Run) -> dict:
    """Each experiment's readout per arm and week, and its HTML page."""
    from cadence.learning.steps import write_experiment_readout

    return write_experiment_readout(run.warehouse, run.policy, run.as_of, run.settings.out_dir)


def _horizon_days(run: Run) -> int:
    return int(run.params.get("horizon_days") or run.policy.planner.horizon_days)
