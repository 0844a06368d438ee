"""
### cadence_whatif

Manually triggered: replay the nightly planning for each day of a date range under the
policy (baseline) and under an alternative policy (a YAML of the keys it changes and/or
inline overrides), each in a scenario store of its own, and compare them side by side:
touches per contact per week, cap and spacing hits by rule, volume by team and class,
protected touches lost, CSM load per week, promotional mix. Writes `whatif_calendar`,
`whatif_decisions`, `whatif_comparison` and `reports/whatif_<id>.html`.

It never writes a live partition and **never sends**.
"""

from __future__ import annotations

from airflow.sdk import Param, dag

from cadence.orchestration.dag_defaults import current_run, dag_kwargs, schema_step, task


@dag(
    dag_id="cadence_whatif",
    schedule=None,
    params={
        "policy_path": Param("include/config/whatif_3_per_week.yml", type=["null", "string"],
                             title="Scenario policy file",
                             description="YAML of the policy keys the scenario changes "
                                         "(relative to the project root); empty for none"),
        "overrides": Param({}, type="object", title="Inline overrides",
                           description='Policy keys to change, e.g. {"planner": {"limits": '
                                       '{"email_per_7_days": 3}}}; applied after the file'),
        "from_date": Param(None, type=["null", "string"], format="date",
                           title="First plan day", description="Default: the run's date"),
        "to_date": Param(None, type=["null", "string"], format="date",
                         title="Last plan day", description="Default: first day + 6"),
    },
    **dag_kwargs(__doc__, "What-if: replay planning under another policy and compare "
                 "(sends nothing)", tags=["learning"]),
)
def cadence_whatif():
    @task
    def replay_and_compare() -> dict:
        """Replay each day of the range under the policy and the scenario in scenario stores
        and write `whatif_comparison` and `reports/whatif_<id>.html`.
        """
        from cadence.orchestration.whatif import whatif

        return whatif(current_run())

    schema_step() >> replay_and_compare()


cadence_whatif()
