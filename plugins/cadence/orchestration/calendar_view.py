"""The calendar view inside Airflow: a read-only FastAPI app that the ``cadence`` Airflow
plugin mounts under ``/cadence`` (``plugins/cadence_plugin.py``).

Search an account, contact or CSM; see its calendar over the plan's horizon with every
touch's status and the decision that placed it, and the candidates that were not planned
(merged, suppressed, dropped) with their rule; filter by team and channel; see a CSM's
weeks against their capacity.

Routes of a plugin's app are outside Airflow's authentication, so every route here checks
Airflow's own JWT itself (the ``Authorization: Bearer`` header, or the ``_token`` cookie the
Airflow UI holds) with Airflow's auth manager — the same secret, issuer, audience and
revocation list the API server uses. No token, or a token that does not validate: 401.
Names and emails are personal data: they are only ever returned to a signed-in user, the
search term travels in a POST body (not in a URL that access logs keep) and nothing of it
is logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from cadence.contract.warehouse import Warehouse

log = logging.getLogger(__name__)

PAGE = Path(__file__).with_name("calendar_view.html")
TOKEN_COOKIE = "_token"  # airflow.api_fastapi.auth.managers.base_auth_manager.COOKIE_NAME_JWT_TOKEN
DECISION_DETAIL_COLUMNS = ("decision", "rule", "detail")


# -- data (plain functions of a warehouse, tested without a server) ---------------------------
def latest_plan_date(warehouse: Warehouse) -> date | None:
    """The newest plan in the calendar, or None before the first nightly run."""
    if not warehouse.table_exists("communication_calendar"):
        return None
    value = warehouse.read_frame(warehouse.render("calendar_view/latest_plan_date.sql"))
    value = value["plan_date"].iloc[0]
    return None if pd.isna(value) else pd.Timestamp(value).date()


def search(warehouse: Warehouse, query: str) -> list[dict[str, Any]]:
    """Accounts, contacts and CSMs whose id, name or email contains ``query`` (at most 25)."""
    term = query.strip().lower()
    if len(term) < 2:
        return []
    frame = warehouse.read_frame(warehouse.render("calendar_view/search.sql"),
                                 {"q": f"%{term}%"})
    return _records(frame)


@dataclass(frozen=True)
class Selection:
    """Whose calendar: one of account, contact or CSM, and optional team/channel filters."""

    account_id: str | None = None
    contact_id: str | None = None
    csm_id: str | None = None
    team: str | None = None
    channel: str | None = None

    def params(self, plan_date: date) -> dict[str, Any]:
        return {"plan_date": plan_date, "account_id": self.account_id,
                "contact_id": self.contact_id, "csm_id": self.csm_id, "team": self.team,
                "channel": self.channel}


def calendar(warehouse: Warehouse, plan_date: date, selection: Selection) -> dict[str, Any]:
    """The selection's planned touches (status, decision) and its candidates not planned."""
    params = selection.params(plan_date)
    touches = warehouse.read_frame(warehouse.render("calendar_view/touches.sql"), params)
    not_planned = warehouse.read_frame(warehouse.render("calendar_view/not_planned.sql"), params)
    unfiltered = warehouse.read_frame(
        warehouse.render("calendar_view/touches.sql"),
        Selection(selection.account_id, selection.contact_id, selection.csm_id).params(plan_date))
    return {
        "plan_date": plan_date.isoformat(),
        "touches": _records(touches),
        "not_planned": _records(not_planned),
        "teams": sorted(unfiltered["team"].dropna().unique().tolist()),
        "channels": sorted(unfiltered["channel"].dropna().unique().tolist()),
        "header": _header(warehouse, selection),
    }


def csm_weeks(warehouse: Warehouse, plan_date: date, csm_id: str, human_channels: list[str],
              default_capacity: int) -> dict[str, Any]:
    """A CSM's human touches per week of the plan against their weekly capacity."""
    csm = warehouse.read_frame(warehouse.render("calendar_view/csm.sql"), {"csm_id": csm_id})
    capacity = pd.to_numeric(csm["weekly_capacity"], errors="coerce").dropna()
    capacity = int(capacity.iloc[0]) if len(capacity) else default_capacity
    touches = warehouse.read_frame(warehouse.render("calendar_view/touches.sql"),
                                   Selection(csm_id=csm_id).params(plan_date))
    human = touches[touches["channel"].isin(human_channels)
                    & touches["status"].isin(["scheduled", "sent"])].copy()
    day = pd.to_datetime(human["scheduled_at"], utc=True).dt.tz_localize(None).dt.normalize()
    human["week"] = (day - pd.to_timedelta(day.dt.weekday, unit="D")).dt.date.astype(str)
    weeks = []
    for week, rows in human.groupby("week", sort=True):
        weeks.append({"week": week, "touches": len(rows), "capacity": capacity,
                      "items": _records(rows.drop(columns="week"))})
    return {"plan_date": plan_date.isoformat(), "csm_id": csm_id, "capacity": capacity,
            "weeks": weeks}


def _header(warehouse: Warehouse, selection: Selection) -> dict[str, Any]:
    if selection.contact_id:
        frame = warehouse.read_frame(warehouse.render("calendar_view/contact.sql"),
                                     {"contact_id": selection.contact_id})
        kind = "contact"
    elif selection.account_id:
        frame = warehouse.read_frame(warehouse.render("calendar_view/account.sql"),
                                     {"account_id": selection.account_id})
        kind = "account"
    else:
        frame = warehouse.read_frame(warehouse.render("calendar_view/csm.sql"),
                                     {"csm_id": selection.csm_id})
        kind = "csm"
    rows = _records(frame)
    return {"kind": kind, **(rows[0] if rows else {})}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = frame.astype(object).where(frame.notna(), None)
    for column in out.columns:
        out[column] = [v.isoformat() if hasattr(v, "isoformat") else v for v in out[column]]
    return out.to_dict("records")


# -- authentication ------------------------------------------------------------------------
async def signed_in_user(request: Request):
    """Airflow's user of the request's JWT, validated by Airflow's auth manager; 401 without
    a valid token, 403 when the user may not read the cadence DAGs."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails
    from jwt import InvalidTokenError

    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    token = token or request.cookies.get(TOKEN_COOKIE)
    unauthorized = HTTPException(status.HTTP_401_UNAUTHORIZED, "Sign in to Airflow first",
                                 headers={"WWW-Authenticate": "Bearer"})
    if not token:
        raise unauthorized
    manager = get_auth_manager()
    try:
        user = await manager.get_user_from_token(token)
    except InvalidTokenError:
        raise unauthorized from None
    if not manager.is_authorized_dag(method="GET", user=user,
                                     details=DagDetails(id="cadence_nightly")):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Not allowed to read cadence DAGs")
    return user


# -- the app ---------------------------------------------------------------------------------
class SearchRequest(BaseModel):
    q: str = Field(max_length=200)


def create_app(open_warehouse=None, policy=None) -> FastAPI:
    """The calendar view app. ``open_warehouse`` returns a read-only :class:`Warehouse`
    (default: the settings' warehouse); ``policy`` gives the human channels and the default
    CSM capacity (default: the settings' policy file)."""
    from cadence.contract.settings import load_settings
    from cadence.policy import load_policy

    settings = load_settings()
    open_warehouse = open_warehouse or (lambda: _read_only(settings))
    policies = [policy] if policy is not None else []  # read on first use, not at plugin load
    app = FastAPI(title="cadence calendar", docs_url=None, redoc_url=None, openapi_url=None)
    guard = [Depends(signed_in_user)]

    def with_warehouse(work):
        warehouse = open_warehouse()
        try:
            plan_date = latest_plan_date(warehouse)
            if plan_date is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND,
                                    "No calendar yet: run cadence_nightly first")
            return work(warehouse, plan_date)
        finally:
            warehouse.engine.dispose()

    @app.get("/", response_class=HTMLResponse, dependencies=guard)
    def page() -> str:
        return PAGE.read_text()

    @app.post("/api/search", dependencies=guard)
    def api_search(body: SearchRequest) -> dict[str, Any]:
        return with_warehouse(lambda wh, d: {"plan_date": d.isoformat(),
                                             "results": search(wh, body.q)})

    @app.get("/api/calendar", dependencies=guard)
    def api_calendar(account_id: str | None = None, contact_id: str | None = None,
                     csm_id: str | None = None, team: str | None = None,
                     channel: str | None = None) -> dict[str, Any]:
        if sum(x is not None for x in (account_id, contact_id, csm_id)) != 1:
            raise HTTPException(422, "give exactly one of account_id, contact_id, csm_id")
        selection = Selection(account_id, contact_id, csm_id, team or None, channel or None)
        return with_warehouse(lambda wh, d: calendar(wh, d, selection))

    @app.get("/api/csm/{csm_id}/weeks", dependencies=guard)
    def api_csm_weeks(csm_id: str) -> dict[str, Any]:
        if not policies:
            policies.append(load_policy(settings.policy_path))
        planner = policies[0].planner
        return with_warehouse(lambda wh, d: csm_weeks(
            wh, d, csm_id, list(planner.human_channels),
            planner.csm_capacity.default_weekly_capacity))

    return app


def _read_only(settings) -> Warehouse:
    """A read-only connection: on DuckDB a nightly run holds the writer lock, so the view
    opens the file read-only per request and says so when a run is writing."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    if not settings.warehouse_url.startswith("duckdb"):
        return Warehouse(settings.warehouse_url, schema=settings.warehouse_schema)
    engine = sa.create_engine(settings.warehouse_url, poolclass=NullPool,
                              connect_args={"read_only": True})

    @sa.event.listens_for(engine, "connect")
    def _utc(dbapi_connection, _record):
        dbapi_connection.execute("set TimeZone = 'UTC'")

    try:
        engine.connect().close()
    except sa.exc.DBAPIError:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            "The warehouse is being written by a DAG run; try again shortly"
                            ) from None
    return Warehouse(settings.warehouse_url, schema=settings.warehouse_schema, engine=engine)
