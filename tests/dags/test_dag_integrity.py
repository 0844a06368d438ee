"""One integrity test over the whole DagBag (Astronomer template): every DAG imports,
has no cycles, and carries the shared defaults."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
EXPECTED = {"cadence_nightly", "cadence_hourly", "cadence_whatif"}


@pytest.fixture(scope="module")
def dag_bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_every_dag_imports_without_errors(dag_bag):
    assert dag_bag.import_errors == {}
    assert set(dag_bag.dags) == EXPECTED


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_dag_defaults(dag_bag, dag_id):
    dag = dag_bag.dags[dag_id]
    assert dag.doc_md and dag_id in dag.doc_md
    assert "cadence" in dag.tags
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    for task in dag.tasks:
        assert task.retries >= 2, task.task_id
        assert task.execution_timeout is not None, task.task_id
        assert task.on_failure_callback, task.task_id
        assert task.owner == "cadence"
        # task ids are verb_object
        assert "_" in task.task_id and task.task_id.islower(), task.task_id


def test_nightly_order(dag_bag):
    dag = dag_bag.dags["cadence_nightly"]
    order = ["create_warehouse_tables", "extract_sources", "validate_sources", "build_staging",
             "apply_erasures",
             "score_account_health", "assign_segments", "learn_from_engagement",
             "generate_candidates", "list_plan_shards", "plan_calendar", "steer_send_times",
             "level_csm_capacity", "write_csm_tasks", "push_csm_tasks",
             "push_health_properties", "open_expansion_deals", "write_report",
             "report_experiments"]
    for upstream, downstream in zip(order, order[1:], strict=False):
        assert upstream in dag.get_task(downstream).upstream_task_ids, (upstream, downstream)


def test_whatif_is_manual_with_titled_params(dag_bag):
    dag = dag_bag.dags["cadence_whatif"]
    assert type(dag.timetable).__name__ == "NullTimetable"  # manual runs only
    params = dag.params.dump()
    assert set(params) == {"policy_path", "overrides", "from_date", "to_date"}
    for name in params:
        assert dag.params.get_param(name).schema.get("title"), name
    assert [t.task_id for t in dag.tasks] == [
        "create_warehouse_tables", "replay_and_compare"]


def test_hourly_order(dag_bag):
    dag = dag_bag.dags["cadence_hourly"]
    order = ["create_warehouse_tables", "sync_consent", "apply_erasures",
             "cancel_forbidden_touches",
             "dispatch_due_touches", "ingest_engagement", "compute_engagement_metrics"]
    for upstream, downstream in zip(order, order[1:], strict=False):
        assert upstream in dag.get_task(downstream).upstream_task_ids
    # the consent check fails after the sends and holds nothing else back
    check = dag.get_task("check_consent_rows")
    assert check.upstream_task_ids == {"dispatch_due_touches"}
    assert not check.downstream_task_ids


@pytest.mark.parametrize("dag_id", ["cadence_nightly", "cadence_hourly", "cadence_whatif"])
def test_every_dag_starts_with_the_schema_step(dag_bag, dag_id):
    # One step creates the tables; no other task may run before it.
    dag = dag_bag.dags[dag_id]
    roots = [t.task_id for t in dag.tasks if not t.upstream_task_ids]
    assert roots == ["create_warehouse_tables"], roots


@pytest.mark.parametrize("path", sorted(DAGS_DIR.glob("*.py")), ids=lambda p: p.name)
def test_dag_files_do_no_work_at_parse_time(path):
    """Module level of a DAG file imports only Airflow and cadence wiring: no pandas,
    SQLAlchemy or HTTP, no Variable/Connection lookups (those run at every parse)."""
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            module = getattr(node, "module", None) or node.names[0].name
            assert module.split(".")[0] in {"__future__", "datetime", "airflow", "cadence"}, module
    source = path.read_text()
    for forbidden in ("Variable.get", "get_connection", "create_engine", "requests."):
        assert forbidden not in source, forbidden


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_the_ui_explains_every_dag_task_and_param(dag_bag, dag_id):
    dag = dag_bag.dags[dag_id]
    assert dag.description and len(dag.description) < 120
    assert dag.owner_links.get("cadence", "").startswith(("mailto:", "https://", "http://"))
    for task in dag.tasks:
        assert task.doc_md and len(task.doc_md.strip()) > 20, task.task_id
    for name, param in dag.params.items():
        assert param.schema.get("title") and param.description, name
