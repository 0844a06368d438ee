"""
### cadence_nightly

Every night: pull the sources, validate them (rejects go to `quarantine`), stage them,
carry out erasure requests, score `account_health`, assign `segment_membership`, turn
policy and data into `touch_candidates`, plan the `communication_calendar` (sharded by
account, then CSM capacity levelling), write each CSM's task list (and push it to the CRM
when policy says so) and the analyst's report.

It plans for its logical date and **sends nothing** (CRM tasks, health properties and
expansion deals are written only by a run about the present), so `airflow backfill create
--dag-id cadence_nightly --from-date ... --to-date ...` safely recomputes history: each
day's health snapshot is rebuilt from the data as known that day. The calendar asset it
emits starts `cadence_hourly`.
"""

from __future__ import annotations

from airflow.sdk import chain, dag

from cadence.orchestration.dag_defaults import (
    ACCOUNT_HEALTH,
    COMMUNICATION_CALENDAR,
    CRM_LIVE_WITHIN,
    CSM_TASKS,
    NIGHTLY_PARAMS,
    SEGMENT_MEMBERSHIP,
    current_run,
    dag_kwargs,
    nightly_step,
    publish_asset_extra,
    schema_step,
    task,
)


@dag(
    dag_id="cadence_nightly",
    schedule="0 1 * * *",
    params=NIGHTLY_PARAMS,
    **dag_kwargs(__doc__, "Nightly: sources -> health -> segments -> candidates -> calendar "
                 "-> CSM tasks -> report (sends nothing)", tags=["nightly"]),
)
def cadence_nightly():
    # Steps that only call their cadence.orchestration.nightly function: name and doc_md.
    extract_sources = nightly_step(
        "extract_sources", "Load every source entity (files, CRM, usage) into "
        "`raw_<entity>`, stamped with `_loaded_at` and `_run_id`.")
    validate_sources = nightly_step(
        "validate_sources", "Great Expectations suites per entity: valid rows to "
        "`validated_<entity>`, rejects to `quarantine` with the rule; fails when an entity's "
        "reject rate passes its threshold.")
    build_staging = nightly_step(
        "build_staging", "Type the validated sources into `stg_<entity>` (SQL models, "
        "include/sql/staging).")
    apply_erasures = nightly_step(
        "apply_erasures", "Carry out new `erasure` requests before anything is scored or "
        "planned: pseudonymise the contact in every table and every file under "
        "CADENCE_OUT_DIR (`erasure_log`).")
    learn_from_engagement = nightly_step(
        "learn_from_engagement", "Learn from what was sent: each contact's (or tier's) best "
        "send slot into `learned_send_slots`, the promotional share per tier into "
        "`learned_mix`.")
    generate_candidates = nightly_step(
        "generate_candidates", "Turn policy and data into `touch_candidates`: cadences, "
        "journeys, renewal timeline, triggers, campaigns, minimum cadence; experiment "
        "accounts assigned (`experiment_assignments`), each arm's under the arm's policy.")
    steer_send_times = nightly_step(
        "steer_send_times", "Label each planned touch with its experiment arm and move email "
        "and in-app touches to their learned send hour; the reason says which slot was used "
        "and why.")
    # CRM writes: only a run about today (a backfill or an old run leaves the CRM alone).
    push_csm_tasks = nightly_step(
        "push_csm_tasks", "Push CSM tasks to the CRM (HubSpot or Salesforce) when policy says "
        "so, live runs only.", CRM_LIVE_WITHIN)
    push_health_properties = nightly_step(
        "push_health_properties", "Push health score, band, tier, stage and signals that "
        "changed since the last push to HubSpot company and contact properties "
        "(`crm_property_pushes`), live runs only.", CRM_LIVE_WITHIN)
    open_expansion_deals = nightly_step(
        "open_expansion_deals", "Open a HubSpot deal or Salesforce opportunity with the "
        "evidence (seats used, usage trend) for each expansion-ready account, at most once "
        "per cooldown (`crm_expansion_deals`), live runs only.", CRM_LIVE_WITHIN)
    write_report = nightly_step(
        "write_report", "Write the analyst's report `CADENCE_OUT_DIR/reports/plan_<date>.html` "
        "(charts, tables, rule links).")
    report_experiments = nightly_step(
        "report_experiments", "Write each experiment's readout per arm and week "
        "(`experiment_readout`, `experiment_outcomes`) and `reports/experiments_<date>.html`.")

    @task(outlets=[ACCOUNT_HEALTH])
    def score_account_health() -> dict:
        """Score `account_health` for the logical date (0..100, band, six components, 14-day
        delta). Emits the account_health asset.
        """
        from cadence.orchestration import nightly

        run = current_run()
        result = nightly.score_account_health(run)
        publish_asset_extra(ACCOUNT_HEALTH, run)
        return result

    @task(outlets=[SEGMENT_MEMBERSHIP])
    def assign_segments() -> dict:
        """Snapshot tiers, stages and signals and rebuild `segment_membership` (SCD2). Emits the
        segment_membership asset.
        """
        from cadence.orchestration import nightly

        run = current_run()
        result = nightly.assign_segments(run)
        publish_asset_extra(SEGMENT_MEMBERSHIP, run)
        return result

    @task
    def list_plan_shards() -> list[int]:
        """Hash the accounts with candidates into shards (`plan_accounts`); one `plan_calendar`
        task maps over each.
        """
        from cadence.orchestration import nightly

        return nightly.list_plan_shards(current_run())

    # A mapped task does not take its docstring as doc_md: given explicitly.
    @task(doc_md="Plan one shard's calendar under eligibility, dedup, caps, spacing, conflicts, "
                 "mix and timing; replaces its (plan_date, shard) partition of "
                 "`communication_calendar` and `calendar_decisions`.")
    def plan_calendar(shard: int) -> dict:
        from cadence.orchestration import nightly

        return nightly.plan_calendar(current_run(), shard)

    @task(outlets=[COMMUNICATION_CALENDAR])
    def level_csm_capacity() -> dict:
        """Level each CSM's human touches across weeks within weekly capacity. Emits the
        communication_calendar asset (extra: plan_date, rows, touches by status), which starts
        `cadence_hourly`.
        """
        from cadence.orchestration import nightly

        run = current_run()
        result = nightly.level_csm_capacity(run)
        publish_asset_extra(COMMUNICATION_CALENDAR, run)
        return result

    @task(outlets=[CSM_TASKS])
    def write_csm_tasks() -> dict:
        """Write `csm_tasks` (owners, call times, contacts, talking points), each owner's
        live iCalendar feed and weekly CSVs under `CADENCE_OUT_DIR/csm_tasks/`. Emits the
        csm_tasks asset.
        """
        from cadence.orchestration import nightly

        run = current_run()
        result = nightly.write_csm_tasks(run)
        publish_asset_extra(CSM_TASKS, run)
        return result

    shards = list_plan_shards()
    chain(
        schema_step(),
        extract_sources(),
        validate_sources(),
        build_staging(),
        apply_erasures(),
        score_account_health(),
        assign_segments(),
        learn_from_engagement(),
        generate_candidates(),
        shards,
    )
    chain(plan_calendar.expand(shard=shards), steer_send_times(), level_csm_capacity(),
          write_csm_tasks(), push_csm_tasks(), push_health_properties(),
          open_expansion_deals(), write_report(), report_experiments())


cadence_nightly()
