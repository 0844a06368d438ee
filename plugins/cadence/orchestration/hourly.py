"""The tasks of ``cadence_hourly``, one function each, in DAG order.

A live run works from the wall clock (``run.clock``, read when each step acts): consent
known then is honoured and touches due from then up to ``lookahead_hours`` ahead are
handed off. A run that is not live (backfill, catchup, an old run or one dated ahead)
sends nothing through a real provider (:mod:`cadence.handoff.dispatch`); a simulation
replays its own window through the outbox.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from cadence.orchestration.runs import Run

log = logging.getLogger(__name__)

# Consent entities refreshed every hour, so an unsubscribe is honoured within the hour.
CONSENT_ENTITIES = ("preferences", "suppressions")


def sync_consent(run: Run) -> dict:
    """Reload preferences and suppressions from the sources (normalised, validated and
    staged like the nightly run does), hold the contacts of rows that still cannot be
    read, then merge them with the provider's unsubscribes and bounces."""
    from cadence.handoff.consent import sync_consent as merge_consent
    from cadence.handoff.consent_holds import refresh_consent_holds
    from cadence.models.runner import build_models
    from cadence.quality import validate_sources
    from cadence.sources import extract_sources

    wh, policy, day = run.warehouse, run.policy, run.data_interval_end.date()
    extract_sources(wh, policy, run.settings.source_dir, run.run_id, run.started_at,
                    entities=CONSENT_ENTITIES)
    validate_sources(wh, policy, run.run_id, day, entities=CONSENT_ENTITIES)
    build_models(wh, policy, day, [f"stg_{e}" for e in CONSENT_ENTITIES])
    holds = refresh_consent_holds(wh, run.run_id, run.clock())
    return {**merge_consent(wh, policy, run.clock()), **holds}


def apply_erasures(run: Run) -> dict:
    """Carry out new erasure requests in every table and every file under the out dir."""
    from cadence.privacy.erasure import apply_erasures as erase

    return erase(run.warehouse, run.settings.out_dir, run.clock(), run.run_id)


def cancel_forbidden_touches(run: Run) -> dict:
    """Cancel every scheduled touch that consent now forbids (with a decision row)."""
    from cadence.handoff.consent import cancel_forbidden

    return cancel_forbidden(run.warehouse, run.policy, run.clock())


def dispatch_due_touches(run: Run) -> dict:
    """Hand the touches due in the coming window to their providers (outbox protocol)."""
    from cadence.handoff.dispatch import dispatch_due

    policy = run.policy
    lookahead = run.params.get("lookahead_hours") or policy.handoff.lookahead_hours
    start = run.data_interval_end
    result = dispatch_due(
        run.warehouse,
        policy,
        window_start=start,
        window_end=start + timedelta(hours=int(lookahead)),
        run_is_live=run.is_live,
        simulation=bool(run.params.get("simulation")),
        dry_run=bool(run.params.get("dry_run")),
        out_dir=run.settings.out_dir,
        clock=run.clock,
    )
    if not run.is_live:
        log.info("run %s (%s) is not about the present: no real provider was called",
                 run.run_id, run.run_type)
    return result


def check_consent_rows(run: Run) -> dict:
    """Fail (after the sends) while a consent row cannot be read: its contacts are held."""
    from cadence.handoff.consent_holds import check_consent_rows as check

    return check(run.warehouse)


def ingest_engagement(run: Run) -> dict:
    """Load provider engagement events; unsubscribes and bounces become suppressions."""
    from cadence.handoff.engagement import ingest_engagement as ingest

    folders = run.policy.handoff.engagement
    return ingest(run.warehouse, run.policy, as_of=run.data_interval_end.date(),
                  events_dir=run.settings.source_dir / folders.events_folder,
                  intercom_dir=run.settings.source_dir / folders.intercom_stats_folder,
                  run_id=run.run_id)


def compute_engagement_metrics(run: Run) -> dict:
    """Recompute engagement_metrics for the recent weeks and flag fading contacts."""
    from cadence.handoff.engagement import compute_engagement_metrics as compute

    return compute(run.warehouse, run.policy, as_of=run.data_interval_end.date())
