"""The calendar view in a real browser: a signed-in user searches an account and sees exactly
its warehouse rows; filters and a CSM's weeks against capacity; no token -> 401."""

from __future__ import annotations

from pathlib import Path

import jwt
import pandas as pd
import pytest
import requests

pytestmark = pytest.mark.xdist_group("browser")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def warehouse(planned):
    from cadence.contract.warehouse import Warehouse

    wh = Warehouse(planned.warehouse_url)
    yield wh
    wh.engine.dispose()


@pytest.fixture(scope="module")
def calendar(warehouse) -> pd.DataFrame:
    frame = warehouse.read_table("communication_calendar")
    return frame[frame["plan_date"] == frame["plan_date"].max()]


@pytest.fixture
def page(browser, view_server, admin_token):
    """A page signed in the way the Airflow UI is: the JWT in the `_token` cookie."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_cookies([{"name": "_token", "value": admin_token, "url": view_server,
                          "httpOnly": True, "sameSite": "Lax"}])
    page = context.new_page()
    yield page
    context.close()


def _busiest(calendar: pd.DataFrame, column: str) -> str:
    return calendar.groupby(column).size().sort_values(ascending=False).index[0]


def test_unauthenticated_requests_to_the_view_get_401(view_server, admin_token):
    forged = jwt.encode({"sub": "admin", "exp": 4102444800, "iat": 0, "nbf": 0}, "not-the-key",
                        algorithm="HS512")
    for headers in ({}, {"Authorization": f"Bearer {forged}"}):
        assert requests.get(f"{view_server}/cadence/", headers=headers,
                            timeout=10).status_code == 401
        assert requests.post(f"{view_server}/cadence/api/search", json={"q": "acc"},
                             headers=headers, timeout=10).status_code == 401
        assert requests.get(f"{view_server}/cadence/api/calendar?account_id=x",
                            headers=headers, timeout=10).status_code == 401
    signed_in = requests.get(f"{view_server}/cadence/",
                             headers={"Authorization": f"Bearer {admin_token}"}, timeout=10)
    assert signed_in.status_code == 200 and "cadence calendar" in signed_in.text


def test_a_signed_in_user_searches_an_account_and_sees_its_warehouse_touches(
        page, view_server, warehouse, calendar):
    account_id = _busiest(calendar, "account_id")
    name = warehouse.read_table("stg_accounts", {"account_id": account_id})["name"].iloc[0]
    page.goto(f"{view_server}/cadence/")
    page.fill("#q", name)
    page.click("button[type=submit]")
    page.click(f"#results li[data-kind=account][data-id='{account_id}']")
    page.wait_for_selector("#touches tbody tr")

    expected = calendar[calendar["account_id"] == account_id]
    rows = page.locator("#touches tbody tr")
    shown = rows.evaluate_all("rs => rs.map(r => r.dataset.touchId)")
    assert sorted(shown) == sorted(expected["touch_id"])
    statuses = rows.evaluate_all("rs => rs.map(r => [r.dataset.touchId, r.cells[8].innerText])")
    assert dict(statuses) == dict(zip(expected["touch_id"], expected["status"], strict=True))
    # the same touches are on the calendar grid, each on its UTC day
    chips = page.locator("#grid .chip").evaluate_all(
        "cs => cs.map(c => [c.dataset.touchId, c.closest('.day').dataset.day])")
    days = pd.to_datetime(expected["scheduled_at"], utc=True).dt.strftime("%Y-%m-%d")
    assert dict(chips) == dict(zip(expected["touch_id"], days, strict=True))
    # every touch carries its decision text
    decisions = warehouse.read_table("calendar_decisions")
    decisions = decisions[decisions["touch_id"].isin(expected["touch_id"])]
    why = dict(rows.evaluate_all("rs => rs.map(r => [r.dataset.touchId, r.cells[10].innerText])"))
    for touch_id, detail in zip(decisions["touch_id"], decisions["detail"], strict=True):
        assert why[touch_id] == (detail or "").strip()

    channel = _busiest(expected, "channel")
    page.select_option("#channel", channel)
    page.wait_for_function(
        "n => document.querySelectorAll('#touches tbody tr').length === n",
        arg=int((expected["channel"] == channel).sum()))
    shown = page.locator("#touches tbody tr").evaluate_all("rs => rs.map(r => r.dataset.touchId)")
    assert sorted(shown) == sorted(expected[expected["channel"] == channel]["touch_id"])


def test_a_csm_week_shows_human_touches_against_capacity(page, view_server, warehouse,
                                                         calendar, policy):
    human = calendar[calendar["channel"].isin(policy.planner.human_channels)
                     & calendar["status"].isin(["scheduled", "sent"])]
    csm_id = _busiest(human, "csm_id")
    capacity = warehouse.read_table("stg_csms", {"csm_id": csm_id})["weekly_capacity"].iloc[0]
    page.goto(f"{view_server}/cadence/")
    page.fill("#q", csm_id)
    page.click("button[type=submit]")
    page.click(f"#results li[data-kind=csm][data-id='{csm_id}']")
    page.wait_for_selector("#weeks .week")

    mine = human[human["csm_id"] == csm_id]
    day = pd.to_datetime(mine["scheduled_at"], utc=True).dt.tz_localize(None).dt.normalize()
    weeks = (day - pd.to_timedelta(day.dt.weekday, unit="D")).dt.strftime("%Y-%m-%d")
    expected = {week: f"{n} / {int(capacity)}" for week, n in weeks.value_counts().items()}
    shown = dict(page.locator("#weeks .week").evaluate_all(
        "ws => ws.map(w => [w.dataset.week, w.children[2].innerText])"))
    assert shown == expected


def test_the_airflow_plugin_mounts_the_view_and_links_it_from_the_navigation():
    import importlib.util

    spec = importlib.util.spec_from_file_location("cadence_plugin",
                                                  ROOT / "plugins" / "cadence_plugin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    plugin = module.CadencePlugin
    assert [a["url_prefix"] for a in plugin.fastapi_apps] == ["/cadence"]
    view = plugin.external_views[0]
    assert view["href"] == "cadence/" and view["destination"] == "nav"
