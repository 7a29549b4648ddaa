"""The Insights pages read at 1280 px in chromium as a marketer reads them: the attribution table
fits without a sideways scroll, the Anomalies date fields say which days are listed, the budget
planner says "Keep the split" (not "+€0, €0 to €0") when it moves nothing, and the overview's
metric lines never break between an arrow and its metric."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.test import override_settings

from accounts.models import User
from insights.services import import_attribution_csv, score_workspace_nightly
from tests.conftest import SCREENSHOT_DIR
from tests.insights.conftest import in_schema, yesterday_utc

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.slow]

LAPTOP = {"width": 1280, "height": 900}

#: nine models (touch days give time decay), eight channels, six-figure revenue: the widest table
WIDE_CSV = "\n".join(
    [
        "path,total_conversions,total_conversion_value,total_null,touch_days_before_conversion",
        "Google Ads,2317,288319,9000,0",
        "Meta Ads,2303,277013,8000,0",
        "Organic Search > Google Ads,730,91000,3000,4 > 0",
        "Direct,585,72000,2000,0",
        "Email > Meta Ads,533,64000,1500,6 > 1",
        "Organic Social > Referral,381,45500,1200,9 > 0",
        "TikTok Ads > Meta Ads > Direct,629,84180,2500,12 > 3 > 0",
        "Referral,199,23100,700,0",
    ]
)


def _owner(slug: str) -> User:
    return User.objects.get(email=f"owner@{slug}.example")


def _htmx_response(path: str):
    return lambda r: path in r.url and r.request.headers.get("hx-request") == "true"


def _attribution_layout(page) -> dict:
    return page.evaluate(
        """() => {
        const table = document.querySelector('#attribution-table'), wrap = table.closest('.table-wrap');
        const cells = [...table.querySelectorAll('tbody td.num')];
        return {
          scroll: wrap.scrollWidth - wrap.clientWidth,
          right: table.getBoundingClientRect().right - table.closest('.card').getBoundingClientRect().right,
          page: document.documentElement.scrollWidth - innerWidth,
          models: table.querySelectorAll('thead th').length - 1,
          amounts: cells.map(td => td.firstChild.textContent.trim()),
          // the share sits beneath its amount, not beside it
          shareBelow: cells.every(td => { const r = document.createRange(); r.selectNodeContents(td.firstChild);
            return td.querySelector('.share').getBoundingClientRect().top >= r.getBoundingClientRect().bottom - 1; }),
        };
    }"""
    )


def test_the_attribution_table_of_nine_models_fits_at_1280_px(web, make_workspace) -> None:
    workspace = make_workspace("att-fit", reporting_currency="EUR", time_zone="UTC")
    with in_schema(workspace):
        chosen, _ = import_attribution_csv(data=WIDE_CSV.encode(), filename="wide.csv", name="Wide paths")
    page = web.page
    page.set_viewport_size(LAPTOP)
    web.login(_owner("att-fit"), workspace)

    web.goto(f"/insights/attribution/{chosen.pk}/", workspace)
    page.wait_for_selector('[data-plotly="attribution-chart"][data-drawn="true"] .main-svg', timeout=15_000)
    conversions = _attribution_layout(page)
    page.screenshot(path=str(SCREENSHOT_DIR / "insights-attribution-1280.png"), full_page=True)
    assert conversions["models"] == 9, conversions
    assert conversions["scroll"] <= 0 and conversions["right"] <= 0.5 and conversions["page"] <= 0, conversions
    assert conversions["shareBelow"], conversions
    # credited conversions read as counts do everywhere else: whole numbers from 10 up ("2,215", not "2,215.3")
    amounts = [a for a in conversions["amounts"] if float(a.replace(",", "")) >= 10]
    assert amounts and all(re.fullmatch(r"\d{1,3}(,\d{3})*", a) for a in amounts), conversions["amounts"]

    page.click("nav.seg a:has-text('Revenue')")
    page.wait_for_load_state("networkidle")
    revenue = _attribution_layout(page)
    assert revenue["amounts"][0].startswith("€"), revenue
    assert revenue["scroll"] <= 0 and revenue["right"] <= 0.5 and revenue["page"] <= 0, revenue


def _field_dates(page) -> tuple[str, str]:
    return page.input_value("#f-from"), page.input_value("#f-to")


def _day(day: date) -> str:
    return day.strftime("%b %-d")


def _days_back(as_of: date, days: int) -> str:
    return (as_of - timedelta(days=days - 1)).isoformat()


def test_the_anomalies_date_fields_show_the_days_listed_and_a_typed_date_makes_a_custom_range(
    web, data_workspace
) -> None:
    spike_day = yesterday_utc() - timedelta(days=5)
    workspace = data_workspace("ano-dates", spike_day=spike_day, days=75)
    with in_schema(workspace), override_settings(INSIGHTS_BUDGET_BOOTSTRAP=6):
        score_workspace_nightly(campaigns=4, forecast_campaigns=1, fit_budget=False)
    page = web.page
    page.set_viewport_size(LAPTOP)
    web.login(_owner("ano-dates"), workspace)

    web.goto("/insights/anomalies/", workspace)
    as_of = date.fromisoformat(page.get_attribute("#f-to", "max") or "")
    # the preset's days, not an empty "mm/dd/yyyy"
    assert page.input_value("#f-period") == "30"
    assert _field_dates(page) == (_days_back(as_of, 30), as_of.isoformat())

    with page.expect_response(_htmx_response("/insights/anomalies/")):
        page.select_option("#f-period", "7")
    page.wait_for_function(f"() => document.querySelector('#f-from').value === '{_days_back(as_of, 7)}'")
    assert _field_dates(page) == (_days_back(as_of, 7), as_of.isoformat())
    assert "period=7" in page.url and "from=" not in page.url
    assert f"in {(as_of - timedelta(days=6)).strftime('%b %-d')} – {as_of.strftime('%b %-d')}" in page.inner_text(
        "#anomaly-results"
    )

    # a date typed in makes the period custom: the list and the address follow the fields
    with page.expect_response(_htmx_response("/insights/anomalies/")):
        page.fill("#f-from", spike_day.isoformat())
    assert page.input_value("#f-period") == "custom"
    page.wait_for_url(re.compile(rf".*period=custom.*from={spike_day.isoformat()}.*"))
    assert _field_dates(page) == (spike_day.isoformat(), as_of.isoformat())
    assert f"in {spike_day.strftime('%b %-d')} – {as_of.strftime('%b %-d')}" in page.inner_text("#anomaly-results")
    assert page.locator("#incident-list li.incident").count() >= 1  # the spike's incidents

    # and a preset chosen again wins over the dates the fields still show
    with page.expect_response(_htmx_response("/insights/anomalies/")):
        page.select_option("#f-period", "90")
    page.wait_for_function(f"() => document.querySelector('#f-from').value === '{_days_back(as_of, 90)}'")
    assert "period=90" in page.url and "from=" not in page.url

    # opened from a shared custom address, the fields and the period say so
    web.goto(f"/insights/anomalies/?from={spike_day}&to={spike_day}", workspace)
    assert page.input_value("#f-period") == "custom"
    assert _field_dates(page) == (spike_day.isoformat(), spike_day.isoformat())

    # a finding's score says what it measures
    web.goto(f"/insights/anomalies/?from={spike_day}&to={spike_day}&severity=any", workspace)
    page.locator("#incident-list li.incident li[data-metric] a").first.click()
    page.wait_for_load_state("networkidle")
    assert re.fullmatch(r"0\.\d\d of 1: the deviation on a 0–1 scale .*", page.inner_text("#finding-score"))

    # the overview's "▲ Spend · ▼ CPA" lines break between metrics, never after an arrow
    web.goto("/insights/", workspace)
    moved = page.evaluate(
        """() => [...document.querySelectorAll('#recent-anomalies .moved-metrics .moved')]
                 .map(el => ({text: el.textContent, lines: el.getClientRects().length}))"""
    )
    assert moved and all(m["lines"] == 1 and re.match(r"[▲▼]\s\S", m["text"]) for m in moved), moved
    # the forecast cards name their days (the forecast starts after the newest complete day, not
    # necessarily "next" in the workspace's zone) and the days they are compared with
    revenue = page.locator('a.kpi[href$="metric=conversion_value"]')
    assert revenue.locator(".kpi-label").inner_text() == (
        f"Revenue, {_day(as_of + timedelta(days=1))} – {_day(as_of + timedelta(days=7))}"
    )
    assert f"vs {_day(as_of - timedelta(days=6))} – {_day(as_of)} (€" in revenue.locator(".kpi-sub").inner_text()


def test_the_budget_planner_says_keep_the_split_when_it_moves_nothing(web, data_workspace, monkeypatch) -> None:
    # refits that disagree about every move: the hedge keeps the current split (insights/ml/budget.py)
    monkeypatch.setattr("insights.ml.budget.hedge_toward", lambda best, reference, totals: reference)
    workspace = data_workspace("plan-keep", days=75)
    page = web.page
    page.set_viewport_size(LAPTOP)
    web.login(_owner("plan-keep"), workspace)

    with override_settings(INSIGHTS_BUDGET_BOOTSTRAP=6):
        web.goto("/insights/budget/?period=month", workspace)
        page.wait_for_selector("#plan-table", timeout=60_000)
    page.screenshot(path=str(SCREENSHOT_DIR / "insights-budget-keep-1280.png"), full_page=True)
    verdict = page.locator("#plan-uplift")
    assert verdict.inner_text() == "Keep the split"
    # the verdict is read whole, not cut to "Keep the s…"
    assert page.evaluate(
        "() => { const el = document.querySelector('#plan-uplift'); return el.scrollWidth <= el.clientWidth; }"
    )
    assert "keeps" in page.inner_text("#plan-held-back")
    plan = page.inner_text("#plan")
    assert "€0 to €0" not in plan and "+€0" not in plan
    assert (
        page.locator('#plan-table tbody td[title="The plan moves no budget"]').count()
        == page.locator("#plan-table tbody tr").count()
    )
    # the 80% band of the expected revenue names two different amounts
    band = page.inner_text("#plan-expected + .kpi-sub")
    ends = re.findall(r"€[\d.,]+[kMB]?", band)
    assert len(ends) == 2 and ends[0] != ends[1], band

    # planned for conversions, the last column is a cost per conversion in money, not the
    # conversions one more euro buys ("0.0261" under "Marginal cost / conv.")
    with override_settings(INSIGHTS_BUDGET_BOOTSTRAP=6):
        web.goto("/insights/budget/?period=month&target=conversions", workspace)
        page.wait_for_selector("#plan-table", timeout=60_000)
    assert "cost / conv." in page.inner_text("#plan-table thead th:last-child").lower()
    average = float(re.sub(r"[^\d.]", "", page.inner_text("#plan .kpis .kpi:nth-child(3) .kpi-value")))
    marginal = [
        float(re.sub(r"[^\d.]", "", t)) for t in page.locator("#plan-table tbody td:last-child").all_inner_texts()
    ]
    assert all(t.startswith("€") for t in page.locator("#plan-table tbody td:last-child").all_inner_texts())
    # a conversion at the margin costs about what one costs on average, not a hundredth of a euro
    assert marginal and all(average / 10 < m < average * 10 for m in marginal), (average, marginal)

    # a plan for conversions does not turn the planner to conversions: without a target it reads
    # the revenue curves again
    web.goto("/insights/budget/?period=month", workspace)
    page.wait_for_selector("#plan-table", timeout=60_000)
    assert page.inner_text("nav[aria-label='Optimise for'] [aria-current=true]") == "Revenue"
    assert "roas" in page.inner_text("#plan-table thead th:last-child").lower()
