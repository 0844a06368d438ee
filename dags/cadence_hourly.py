"""
### cadence_hourly

Every hour, and whenever `cadence_nightly` publishes a new calendar: sync consent
(preferences, suppressions, provider unsubscribes and bounces), carry out erasure requests
and cancel every scheduled touch consent now forbids, so an unsubscribe is honoured within
the hour; hand the touches due in the next window to the email and in-app providers in
batches (outbox protocol: never lost, never sent twice); ingest engagement events and
update `engagement_metrics`. `check_consent_rows` fails, after the sends, while a consent
row cannot be read; its contacts' touches are held until it is fixed.

A run whose window does not hold the present (backfill, catchup, a rerun of an old run,
a run dated ahead) sends nothing through a real provider; only the `outbox` provider with
`simulation=true` replays the past. `dry_run=true` renders and records batches without
sending.
"""

from __future__ import annotations

from airflow.sdk import AssetOrTimeSchedule, CronDataIntervalTimetable, chain, dag

from cadence.orchestration.dag_defaults import (
    COMMUNICATION_CALENDAR,
    HOURLY_PARAMS,
    current_run,
    dag_kwargs,
    schema_step,
    task,
)


@dag(
    dag_id="cadence_hourly",
    schedule=AssetOrTimeSchedule(
        timetable=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
        assets=[COMMUNICATION_CALENDAR],
    ),
    params=HOURLY_PARAMS,
    **dag_kwargs(__doc__, "Hourly: consent sync -> cancel forbidden -> dispatch due touches "
                 "-> engagement", tags=["hourly"]),
)
def cadence_hourly():
    @task
    def sync_consent() -> dict:
        """Merge suppressions, `never` preferences and provider unsubscribes/bounces into
        `consent_suppressions`; contacts of rows that cannot be read are held
        (`consent_holds`).
        """
        from cadence.orchestration import hourly

        return hourly.sync_consent(current_run())

    @task
    def apply_erasures() -> dict:
        """Carry out new `erasure` requests: pseudonymise the contact in every table and every
        file under CADENCE_OUT_DIR, proof in `erasure_log`.
        """
        from cadence.orchestration import hourly

        return hourly.apply_erasures(current_run())

    @task
    def cancel_forbidden_touches() -> dict:
        """Cancel every scheduled touch consent now forbids (decision `1.consent`): an unsubscribe
        is honoured within the hour.
        """
        from cadence.orchestration import hourly

        return hourly.cancel_forbidden_touches(current_run())

    @task
    def dispatch_due_touches() -> dict:
        """Hand touches due in the window to their providers in batches (outbox protocol); a past
        window sends nothing through a real provider.
        """
        from cadence.orchestration import hourly

        return hourly.dispatch_due_touches(current_run())

    @task
    def ingest_engagement() -> dict:
        """Read provider engagement events into `engagement_events`; unsubscribes and bounces feed
        back into consent.
        """
        from cadence.orchestration import hourly

        return hourly.ingest_engagement(current_run())

    @task
    def compute_engagement_metrics() -> dict:
        """Update `engagement_metrics` (template x team x segment x week) and the fatigue flags."""
        from cadence.orchestration import hourly

        return hourly.compute_engagement_metrics(current_run())

    @task
    def check_consent_rows() -> dict:
        """Fails, after the sends, while a suppression or preference row cannot be read; its
        contacts' touches are held until the row is fixed (see `consent_holds`).
        """
        from cadence.orchestration import hourly

        return hourly.check_consent_rows(current_run())

    dispatched = dispatch_due_touches()
    chain(schema_step(), sync_consent(), apply_erasures(), cancel_forbidden_touches(), dispatched,
          ingest_engagement(), compute_engagement_metrics())
    # a failed check shows in Airflow without holding back anyone else's sends
    dispatched >> check_consent_rows()


cadence_hourly()
