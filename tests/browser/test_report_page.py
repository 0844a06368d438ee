"""The nightly report in a real browser: every chart is drawn with marks, offline."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.xdist_group("browser")


def test_the_report_renders_its_charts_with_marks_and_fetches_nothing(browser, planned, policy):
    from cadence.contract.warehouse import Warehouse
    from cadence.outputs.report import write_report
    from tests.browser.conftest import AS_OF

    warehouse = Warehouse(planned.warehouse_url)
    path = write_report(warehouse, policy, planned.out_dir, AS_OF)
    warehouse.engine.dispose()

    context = browser.new_context()
    requested = []
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()
    page.goto(path.as_uri())
    marks = page.locator("figure").evaluate_all("""figures => figures.map(f => [
        f.querySelector('h2').innerText,
        f.querySelector('svg') ? f.querySelectorAll(
            'svg .role-mark path, svg .role-mark rect, svg .role-mark line').length : null])""")
    context.close()
    drawn = {title: n for title, n in marks if n is not None}
    assert {"Calendar: touches per day by team", "Calendar: touches per day by channel",
            "Touches per contact per week against the caps", "CSM load per week against capacity",
            "Health distribution", "Segments: sizes and flows on the plan date",
            "Decisions by rule over the horizon", "Promotional mix per week"} <= set(drawn)
    assert all(n > 0 for n in drawn.values()), drawn
    assert requested == [path.as_uri()]  # no CDN, no script, nothing else loaded
