"""``python -m cadence screenshots``: the README's pictures, taken in headless Chromium
(Debian's /usr/bin/chromium through Playwright) — the latest nightly report, and the
calendar view inside the Airflow UI of ``make airflow`` (signed in as admin)."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from cadence.contract.settings import PROJECT_ROOT, load_settings

IMG_DIR = PROJECT_ROOT / "docs" / "img"
CHROMIUM = "/usr/bin/chromium"


def take_screenshots(airflow_url: str, airflow_home: Path, out_dir: Path = IMG_DIR) -> list[Path]:
    """Save ``report.png`` and, when the Airflow of ``make airflow`` answers at
    ``airflow_url``, ``calendar-view.png`` under ``out_dir``; return the paths written."""
    from playwright.sync_api import sync_playwright

    from cadence.contract.warehouse import connect
    from cadence.orchestration.calendar_view import latest_plan_date, search

    settings = load_settings()
    reports = sorted((settings.out_dir / "reports").glob("plan_*.html"))
    if not reports:
        raise SystemExit("No report yet: run `make demo` first.")
    warehouse = connect(settings)
    plan_date = latest_plan_date(warehouse)
    # an account whose month fits one screen and that shows sent and scheduled touches
    typical = warehouse.read_frame(
        "select account_id, count(*) as n from communication_calendar where plan_date = :d "
        "group by account_id having count(distinct status) > 1 "
        "order by abs(count(*) - 14), account_id limit 1", {"d": plan_date})
    account_id = typical["account_id"].iloc[0]
    name = next(r["label"] for r in search(warehouse, account_id) if r["id"] == account_id)
    warehouse.engine.dispose()
    token = _login(airflow_url, airflow_home)

    out_dir.mkdir(parents=True, exist_ok=True)
    report_png, view_png = out_dir / "report.png", out_dir / "calendar-view.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1180, "height": 1500})
        page.goto(reports[-1].as_uri())
        page.screenshot(path=report_png)
        if token is None:
            print(f"Airflow not answering at {airflow_url}: calendar view skipped "
                  "(start `make airflow` first)")
            browser.close()
            return [report_png]

        context = browser.new_context(viewport={"width": 1500, "height": 1150})
        context.add_cookies([{"name": "_token", "value": token, "url": airflow_url,
                              "httpOnly": True, "sameSite": "Lax"}])
        page = context.new_page()
        page.goto(f"{airflow_url}/plugin/cadence-calendar")
        frame = page.frame_locator("iframe").first
        frame.locator("#q").fill(name)
        frame.locator("button[type=submit]").click()
        frame.locator(f"#results li[data-id='{account_id}']").click()
        frame.locator("#grid .chip").first.wait_for()
        page.wait_for_timeout(500)
        page.screenshot(path=view_png)
        browser.close()
    return [report_png, view_png]


def _login(airflow_url: str, airflow_home: Path) -> str | None:
    """A JWT as Airflow's login page obtains it (POST /auth/token as admin); None when no
    Airflow answers."""
    passwords = airflow_home / "simple_auth_manager_passwords.json.generated"
    try:
        requests.get(f"{airflow_url}/api/v2/monitor/health", timeout=5).raise_for_status()
    except requests.RequestException:
        return None
    password = json.loads(passwords.read_text())["admin"]
    response = requests.post(f"{airflow_url}/auth/token",
                             json={"username": "admin", "password": password}, timeout=30)
    response.raise_for_status()
    return response.json()["access_token"]
