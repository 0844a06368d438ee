"""docker-compose.yaml cannot run here (no Docker engine); its structure is checked instead."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


def test_airflow_3_services_are_all_there():
    services = _compose()["services"]
    for name in ("postgres", "airflow-init", "airflow-apiserver", "airflow-scheduler",
                 "airflow-dag-processor", "airflow-triggerer"):
        assert name in services, name
    commands = {n: s.get("command") for n, s in services.items()}
    assert commands["airflow-apiserver"] == "api-server"
    assert commands["airflow-dag-processor"] == "dag-processor"


def test_project_folders_are_mounted_and_warehouse_is_the_same_postgres():
    services = _compose()["services"]
    for name in ("airflow-scheduler", "airflow-apiserver", "airflow-dag-processor"):
        service = services[name]
        targets = {v.split(":")[1] for v in service["volumes"]}
        assert {"/opt/airflow/dags", "/opt/airflow/plugins", "/opt/airflow/include"} <= targets
        env = service["environment"]
        assert env["CADENCE_WAREHOUSE_URL"].startswith("postgresql")
        assert "@postgres/" in env["CADENCE_WAREHOUSE_URL"]
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("http://airflow-apiserver")
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"]
        assert service["depends_on"]["airflow-init"]["condition"] == (
            "service_completed_successfully"
        )


def test_image_is_airflow_3_3_with_our_requirements():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM apache/airflow:3.3.2" in dockerfile
    assert "requirements.txt" in dockerfile
    pinned = (ROOT / "requirements.txt").read_text()
    assert "apache-airflow==3.3.2" in pinned


def test_init_creates_the_warehouse_pool():
    init = _compose()["services"]["airflow-init"]
    script = "\n".join(init["command"])
    assert "airflow db migrate" in script
    assert "airflow pools set cadence_warehouse" in script
