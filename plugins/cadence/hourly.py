"""The tasks of ``cadence_hourly``, one function each, in DAG order.

The run's present is the end of its data interval: touches due from there up to
``lookahead_hours`` ahead are handed off. A run that is not live (backfill, catchup, an
old run) sends nothing through a real provider (:mod:`cadence.handoff.dispatch`).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from cadence.runs import Run

log = logging.getLogger(__name__)

# Consent entities refreshed every hour, so an unsubscribe is honoured within the hour.
CONSENT_ENTITIES = ("preferences", "suppressions")


def sync_consent(run: Run) -> dict:
    """Reload preferences and suppressions from the sources (validated and staged like the
    nightly run does), then merge them with the provider's unsubscribes and bounces."""
    from cadence.handoff.consent import sync_consent as merge_consent
    from cadence.models import build_models
    from cadence.quality import validate_sources
    from cadence.sources import extract_sources

    wh, policy, now = run.warehouse, run.policy, run.data_interval_end
    extract_sources(wh, policy, run.settings.source_dir, run.run_id, run.started_at,
                    entities=CONSENT_ENTITIES)
    validate_sources(wh, policy, run.run_id, now.date(), entities=CONSENT_ENTITIES)
    build_models(wh, policy, now.date(), [f"stg_{e}" for e in CONSENT_ENTITIES])
    return merge_consent(wh, policy, now)


def cancel_forbidden_touches(run: Run) -> dict:
    """Cancel every scheduled touch that consent now forbids (with a decision row)."""
    from cadence.handoff.consent import cancel_forbidden

    return cancel_forbidden(run.warehouse, run.policy, run.data_interval_end)


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
    )
    if not run.is_live:
        log.info("run %s (%s) is about the past: no real provider was called",
                 run.run_id, run.run_type)
    return result


def ingest_engagement(run: Run) -> dict:
    """Load provider engagement events; unsubscribes and bounces become suppressions."""
    from cadence.handoff.engagement import ingest_engagement as ingest

    return ingest(run.warehouse, run.policy, as_of=run.data_interval_end.date(),
                  events_dir=run.settings.source_dir / run.policy.handoff.engagement.events_folder)


def compute_engagement_metrics(run: Run) -> dict:
    """Recompute engagement_metrics for the recent weeks and flag fading contacts."""
    from cadence.handoff.engagement import compute_engagement_metrics as compute

    return compute(run.warehouse, run.policy, as_of=run.data_interval_end.date())
