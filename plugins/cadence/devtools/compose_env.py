"""The ``.env`` docker-compose reads: ``python -m cadence env`` (``make env``) writes one
with fresh random secrets, ``--example`` prints the committed ``.env.example``.

docker-compose.yaml has no default for a secret (``${VAR:?...}``), so it refuses to start
until this file (or the environment) provides them. Standard library only: it runs before
the virtualenv exists.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Variable:
    """One line of the .env file."""

    name: str
    comment: str
    secret: bool  # generated fresh by ``make env``; empty in the example


def _uid() -> str:
    # The official compose runs Airflow as this user so files it writes into the mounted
    # folders stay the host user's; 50000 (the image's airflow user) where there is no uid.
    return str(os.getuid()) if hasattr(os, "getuid") else "50000"


def _jwt_secret() -> str:
    return secrets.token_urlsafe(48)


def _fernet_key() -> str:
    # Airflow's Fernet key: 32 random bytes, URL-safe base64 (what Fernet.generate_key makes).
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


VARIABLES = (
    Variable("AIRFLOW_UID", "host user id the Airflow containers run as (id -u)", False),
    Variable("AIRFLOW_JWT_SECRET", "signs the API tokens of Airflow's api-server", True),
    Variable("AIRFLOW_FERNET_KEY", "encrypts connection passwords in the metadata database",
             True),
    Variable("AIRFLOW_EXECUTOR", "empty: LocalExecutor; CeleryExecutor runs tasks on the "
             "Celery workers (then also COMPOSE_PROFILES=celery)", False),
    Variable("COMPOSE_PROFILES", "celery: start Redis and two Celery workers", False),
)
GENERATORS = {"AIRFLOW_UID": _uid, "AIRFLOW_JWT_SECRET": _jwt_secret,
              "AIRFLOW_FERNET_KEY": _fernet_key}
CONNECTIONS_NOTE = """\
# Provider and CRM credentials are Airflow connections (README, "Providers and
# connections"), e.g. AIRFLOW_CONN_CADENCE_SENDGRID='{"conn_type": "http", ...}'
"""

def render(values: dict[str, str]) -> str:
    """The .env text with ``values`` (missing ones left empty)."""
    lines = ["# docker-compose settings of cadence (.env). `make env` writes .env with fresh",
             "# random secrets; keep it out of version control.", ""]
    for variable in VARIABLES:
        lines += [f"# {variable.comment}", f"{variable.name}={values.get(variable.name, '')}"]
    return "\n".join(lines) + "\n\n" + CONNECTIONS_NOTE


def example_text() -> str:
    """``.env.example``: every variable, secrets empty, the uid of the official image."""
    return render({"AIRFLOW_UID": "50000"})


def write_env(path: Path) -> bool:
    """Write ``path`` with fresh secrets; False (and nothing written) when it exists, so
    secrets in use, and the data they encrypt, are never replaced."""
    values = {name: make() for name, make in GENERATORS.items()}
    try:
        with open(path, "x", encoding="utf-8") as handle:  # "x": fails when it exists
            handle.write(render(values))
    except FileExistsError:
        return False
    path.chmod(0o600)
    return True
