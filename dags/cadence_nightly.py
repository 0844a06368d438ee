"""
### cadence_nightly

Every night: pull the sources, validate them (rejects go to `quarantine`), stage them,
carry out erasure requests, score `account_health`, assign `segment_membership`, turn
policy and data into `touch_candidates`, plan the `communication_calendar` (sharded by
account, then CSM capacity levelling), write each CSM's task list (and push it to the CRM
when policy says so) and the analyst's report.

It plans for its logical date and **sends nothing** (CRM tasks are pushed only by a
run about the present), so `airflow backfill create
--dag-id cadence_nightly --from-date ... --to-date ...` safely recomputes history: each
day's health snapshot is rebuilt from the data as known that day. The calendar asset it
emits starts `cadence_hourly`.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import chain, dag, task

from cadence.orchestration import (
    ACCOUNT_HEALTH,
    COMMUNICATION_CALENDAR,
    CSM_TASKS,
    NIGHTLY_PARAMS,
    SEGMENT_MEMBERSHIP,
    current_run,
    dag_kwargs,
)


@dag(
    dag_id="cadence_nightly",
    schedule="0 1 * * *",
    params=NIGHTLY_PARAMS,
    **dag_kwargs(__doc__, tags=["nightly"]),
)
def cadence_nightly():
    @task
    def extract_sources() -> dict:
        from cadence import nightly

        return nightly.extract_sources(current_run())

    @task
    def validate_sources() -> dict:
        from cadence import nightly

        return nightly.validate_sources(current_run())

    @task
    def build_staging() -> dict:
        from cadence import nightly

        return nightly.build_staging(current_run())

    @task
    def apply_erasures() -> dict:
        from cadence import nightly

        return nightly.apply_erasures(current_run())

    @task(outlets=[ACCOUNT_HEALTH])
    def score_account_health() -> dict:
        from cadence import nightly

        return nightly.score_account_health(current_run())

    @task(outlets=[SEGMENT_MEMBERSHIP])
    def assign_segments() -> dict:
        from cadence import nightly

        return nightly.assign_segments(current_run())

    @task
    def generate_candidates() -> dict:
        from cadence import nightly

        return nightly.generate_candidates(current_run())

    @task
    def list_plan_shards() -> list[int]:
        from cadence import nightly

        return nightly.list_plan_shards(current_run())

    @task
    def plan_calendar(shard: int) -> dict:
        from cadence import nightly

        return nightly.plan_calendar(current_run(), shard)

    @task(outlets=[COMMUNICATION_CALENDAR])
    def level_csm_capacity() -> dict:
        from cadence import nightly

        return nightly.level_csm_capacity(current_run())

    @task(outlets=[CSM_TASKS])
    def write_csm_tasks() -> dict:
        from cadence import nightly

        return nightly.write_csm_tasks(current_run())

    @task
    def push_csm_tasks() -> dict:
        from cadence import nightly

        return nightly.push_csm_tasks(current_run(live_within=timedelta(days=1)))

    @task
    def write_report() -> dict:
        from cadence import nightly

        return nightly.write_report(current_run())

    shards = list_plan_shards()
    chain(
        extract_sources(),
        validate_sources(),
        build_staging(),
        apply_erasures(),
        score_account_health(),
        assign_segments(),
        generate_candidates(),
        shards,
    )
    chain(plan_calendar.expand(shard=shards), level_csm_capacity(), write_csm_tasks(),
          push_csm_tasks(), write_report())


cadence_nightly()
