"""docker-compose.yaml cannot run here (no Docker engine); its structure is checked instead."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
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


# -- no default secrets ------------------------------------------------------------------
# docker compose substitutes ${VAR}, ${VAR:-default} and ${VAR:?error} from the environment
# and .env before anything starts; $$ is a literal $. Docker is not on this machine, so the
# compose specification's rules are applied here to the file's text.
_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:-|:\?|-|\?)(?P<arg>[^}]*))?\}")


class ComposeRefuses(Exception):
    pass


def _interpolate(text: str, env: dict[str, str]) -> dict:
    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$$"
        name, op, arg = match["name"], match["op"], match["arg"]
        value = env.get(name)
        if op == ":?" and not value or op == "?" and value is None:
            raise ComposeRefuses(f"required variable {name} is missing a value: {arg}")
        if op == ":-" and not value or op == "-" and value is None:
            return arg
        return value or ""

    return yaml.safe_load(_VARIABLE.sub(substitute, text))


def _env_file(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines()
             if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_compose_refuses_to_start_without_the_secrets():
    text = (ROOT / "docker-compose.yaml").read_text()
    with pytest.raises(ComposeRefuses, match="AIRFLOW_FERNET_KEY.*make env"):
        _interpolate(text, {"AIRFLOW_JWT_SECRET": "x" * 64})
    with pytest.raises(ComposeRefuses, match="AIRFLOW_JWT_SECRET.*make env"):
        _interpolate(text, {"AIRFLOW_FERNET_KEY": "k"})
    example = _env_file(ROOT / ".env.example")  # a copied example has empty secrets
    with pytest.raises(ComposeRefuses):
        _interpolate(text, example)
    assert "change-me" not in text


def test_make_env_writes_random_secrets_compose_accepts(tmp_path):
    from cryptography.fernet import Fernet

    from cadence.devtools.compose_env import write_env

    first, second = tmp_path / "a.env", tmp_path / "b.env"
    assert write_env(first) and write_env(second)
    env = _env_file(first)
    services = _interpolate((ROOT / "docker-compose.yaml").read_text(), env)["services"]
    settings = services["airflow-scheduler"]["environment"]
    assert settings["AIRFLOW__CORE__FERNET_KEY"] == env["AIRFLOW_FERNET_KEY"]
    assert settings["AIRFLOW__API_AUTH__JWT_SECRET"] == env["AIRFLOW_JWT_SECRET"]
    Fernet(env["AIRFLOW_FERNET_KEY"].encode())  # a valid Fernet key
    assert len(env["AIRFLOW_JWT_SECRET"]) >= 32
    assert env["AIRFLOW_JWT_SECRET"] != _env_file(second)["AIRFLOW_JWT_SECRET"]
    assert env["AIRFLOW_UID"] == str(os.getuid())
    assert services["airflow-scheduler"]["user"] == f"{os.getuid()}:0"
    assert first.stat().st_mode & 0o077 == 0  # secrets readable by the owner only


def test_make_env_never_overwrites_an_existing_env(tmp_path):
    from cadence.devtools.compose_env import write_env

    path = tmp_path / ".env"
    path.write_text("AIRFLOW_JWT_SECRET=in-use\n")
    assert write_env(path) is False
    assert path.read_text() == "AIRFLOW_JWT_SECRET=in-use\n"
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^env:\n\t\$\(PY\) -m cadence env$", makefile, re.M)


def test_env_example_is_the_generated_one():
    from cadence.devtools.compose_env import VARIABLES, example_text

    assert (ROOT / ".env.example").read_text() == example_text()
    text = (ROOT / "docker-compose.yaml").read_text()
    used = {m["name"] for m in _VARIABLE.finditer(text) if m["name"]}
    assert used - {"AIRFLOW_ADMIN_USER"} <= {v.name for v in VARIABLES}
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()


def test_init_prepares_the_mounted_folders_for_airflow_uid():
    init = _interpolate((ROOT / "docker-compose.yaml").read_text(),
                        {"AIRFLOW_UID": "1234", "AIRFLOW_JWT_SECRET": "s",
                         "AIRFLOW_FERNET_KEY": "k"})["services"]["airflow-init"]
    script = "\n".join(init["command"])
    assert init["user"] == "0:0"
    mounted = {v.split(":")[1].removeprefix("/opt/airflow/") for v in init["volumes"]}
    made = {folder.split("/")[0]
            for folder in re.search(r"mkdir -v -p /opt/airflow/\{([^}]*)\}", script)[1].split(",")}
    owned = re.search(r'chown -R "1234:0" /opt/airflow/\{([^}]*)\}', script)[1].split(",")
    assert mounted <= made and mounted <= set(owned)
    assert script.index("airflow db migrate") < script.index("chown")
    assert "AIRFLOW_UID is not set" in script


# -- profile `celery`: past one machine ------------------------------------------------------
def _celery_compose() -> dict:
    env = {"AIRFLOW_JWT_SECRET": "s", "AIRFLOW_FERNET_KEY": "k",
           "AIRFLOW_EXECUTOR": "CeleryExecutor"}
    return _interpolate((ROOT / "docker-compose.yaml").read_text(), env)["services"]


def test_the_celery_profile_runs_two_workers_on_a_redis_broker():
    services = _celery_compose()
    workers = {n: s for n, s in services.items()
               if str(s.get("command", "")).startswith("celery worker")}
    assert len(workers) == 2
    assert len({s["hostname"] for s in workers.values()}) == 2  # task instances tell them apart
    for worker in workers.values():
        assert worker["profiles"] == ["celery"]
        assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
        assert worker["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"
        env = worker["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:")
        assert "@postgres/" in env["CADENCE_WAREHOUSE_URL"]
        targets = {v.split(":")[1] for v in worker["volumes"]}
        assert {"/opt/airflow/dags", "/opt/airflow/plugins", "/opt/airflow/include",
                "/opt/airflow/data"} <= targets  # the same code, sources and out dir
    assert services["redis"]["profiles"] == ["celery"]
    scheduler = services["airflow-scheduler"]["environment"]
    assert scheduler["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert scheduler["AIRFLOW__CELERY__BROKER_URL"] == workers[
        next(iter(workers))]["environment"]["AIRFLOW__CELERY__BROKER_URL"]


def test_without_the_profile_the_executor_stays_local_and_the_pool_is_wide():
    services = _interpolate((ROOT / "docker-compose.yaml").read_text(),
                            {"AIRFLOW_JWT_SECRET": "s", "AIRFLOW_FERNET_KEY": "k"})["services"]
    assert services["airflow-scheduler"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == (
        "LocalExecutor")
    assert all("profiles" not in services[n] for n in (
        "postgres", "airflow-scheduler", "airflow-apiserver", "airflow-dag-processor"))
    script = "\n".join(services["airflow-init"]["command"])
    slots = int(re.search(r"airflow pools set cadence_warehouse (\d+)", script)[1])
    assert slots >= 2  # Postgres takes several writers: mapped plan shards side by side
