"""The attribution page in chromium, fed by first-party journeys: it opens on the journeys build
(not the newer CSV import), with path examples, time- and touches-to-convert charts, and each paid
channel's attributed revenue beside what its platform claims."""

from __future__ import annotations

import re

import pytest

from accounts.models import User
from insights.services import import_attribution_csv
from insights.services.journeys import journeys_attribute
from insights.services.paths_csv import SAMPLE_CSV
from tests.insights.conftest import in_schema, land_history, yesterday_utc
from tests.insights.journey_data import hand_period, land_hand_journeys

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _drawn(page, chart_id: str) -> None:
    page.wait_for_selector(f'[data-plotly="{chart_id}"][data-drawn="true"] .main-svg', timeout=15_000)


def test_attribution_page_leads_with_journeys(web, make_workspace) -> None:
    workspace = make_workspace("jr-web", reporting_currency="EUR", time_zone="UTC")
    as_of = yesterday_utc()
    with in_schema(workspace):
        land_history(as_of=as_of, days=10)
        land_hand_journeys(hand_period(as_of))
        journeys_attribute(as_of=as_of, period_days=7, lookback_days=30)
        # a CSV import made after the build: the page still opens on the journeys
        import_attribution_csv(data=SAMPLE_CSV.encode(), filename="paths.csv", name="Agency CSV")
    page = web.page
    web.login(User.objects.get(email="owner@jr-web.example"), workspace)

    web.goto("/insights/attribution/", workspace)
    _drawn(page, "attribution-chart")
    assert page.inner_text("#import-title").startswith("Journeys")
    assert "From first-party journeys" in page.inner_text("#journeys-source")
    assert page.locator("#imports .badge", has_text="Journeys").count() == 1

    paths = page.locator("#top-paths tbody tr")
    assert paths.count() == 4
    assert re.sub(r"\s+", " ", paths.first.locator("td").first.inner_text()).strip() == (
        "Meta Ads → Google Ads → Email"
    )
    _drawn(page, "time-to-convert-chart")
    _drawn(page, "touches-to-convert-chart")
    # 4 conversions drawn in the touches chart: 1 touch twice, 2 and 3 touches once each
    touches = page.evaluate(
        "() => JSON.parse(document.getElementById('touches-to-convert-chart').textContent).data[0].y"
    )
    assert touches == [2, 1, 1, 0, 0, 0]

    _drawn(page, "journeys-claims-chart")
    google = page.locator("#claims-table tbody tr", has_text="Google Ads")
    cells = google.locator("td")
    # Shapley credit of Google Ads in the hand journeys: 100/3 + 80/2 = 73.33
    assert "73.33" in cells.nth(1).inner_text()
    assert "€" in cells.nth(4).inner_text()  # the platform's claim for the same days
    assert cells.nth(5).inner_text().endswith("×")
    assert "1 of 5 orders" in page.inner_text("#journeys-claims")
    web.screenshot("insights-attribution-journeys")

    # The CSV import is one click away, without the journeys panel.
    page.locator("#imports a", has_text="Agency CSV").click()
    page.wait_for_load_state("networkidle")
    assert page.inner_text("#import-title") == "Agency CSV"
    assert page.locator("#journeys-paths").count() == 0
