"""The Scenarios page in Chromium: every scenario's path is drawn by the static script under the site's CSP.

A screenshot goes to test-artifacts/insurance/.
"""

from __future__ import annotations

from typing import Any

import pytest

from insurance.models import Scenario
from tests.conftest import REPO_ROOT, chromium_page
from tests.insurance.conftest import build_book

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "insurance"
# each drawn chart: its canvas's scenario and how many markets it has a line for
CHARTS = "() => Object.values(Chart.instances).map(c => [c.canvas.dataset.scenarioChart, c.data.datasets.length])"


def test_the_scenarios_page_draws_each_path_without_a_script_error(live_server: Any) -> None:
    build_book()
    errors: list[str] = []
    with chromium_page(ARTIFACTS, viewport={"width": 1280, "height": 900}) as page:
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{live_server.url}/insurance/scenarios/")
        page.wait_for_function(
            f"() => window.Chart && Object.keys(Chart.instances).length >= {Scenario.objects.count()}"
        )
        charts = sorted(page.evaluate(CHARTS))
        page.screenshot(path=str(ARTIFACTS / "scenarios.png"), full_page=True)
    assert charts == sorted([slug, 2] for slug in Scenario.objects.values_list("slug", flat=True))  # BTC and ETH
    assert errors == []
