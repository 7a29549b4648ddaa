"""Lift tests stored per workspace: entered on the planner page in chromium, used by the budget fit;
and the planner page planning a budget above history with a warning instead of refusing."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from accounts.models import Membership, User
from insights.models import BudgetLiftTest, ModelVersion
from insights.services.budget import budget_curves_fit
from insights.services.common import InsightsError
from insights.services.lift_tests import budget_lift_test_add
from tests.insights.conftest import in_schema, yesterday_utc

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def owner_client(in_scored, workspace_client):
    owner = Membership.objects.get(workspace=in_scored, role="owner").user
    return workspace_client(owner, in_scored)


def _latest_fit() -> ModelVersion:
    return ModelVersion.objects.filter(kind=ModelVersion.Kind.BUDGET, params__scope="platform").latest("pk")


def test_the_budget_fit_is_calibrated_by_the_workspaces_lift_tests(in_scored) -> None:
    fit = _latest_fit()
    target = fit.params["target"]
    channels = fit.params["channels"]
    test = budget_lift_test_add(
        channel="meta",
        target=target,
        start=yesterday_utc().replace(day=1),
        end=yesterday_utc(),
        spend_before=100.0,
        spend_after=200.0,
        lift=5.0,
        lift_sd=2.0,
        channels=channels,
    )
    other_target = budget_lift_test_add(
        channel="meta",
        target="conversions" if target == "conversion_value" else "conversion_value",
        start=yesterday_utc(),
        end=yesterday_utc(),
        spend_before=100.0,
        spend_after=200.0,
        lift=1.0,
        lift_sd=1.0,
        channels=channels,
    )

    with override_settings(INSIGHTS_BUDGET_BOOTSTRAP=3):
        calibrated = budget_curves_fit(scope="platform", target=target)

    assert calibrated.params["lift_tests"] == [test.pk]  # only tests of the fit's own target
    assert other_target.pk not in calibrated.params["lift_tests"]
    assert calibrated.metrics["lift_tests"] == 1
    assert calibrated.pk != fit.pk and calibrated.fingerprint != fit.fingerprint


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"channel": "tiktok"}, "Choose the channel"),
        ({"spend_after": 100.0}, "must differ"),
        ({"lift_sd": 0.0}, "greater than zero"),
        ({"spend_before": -5.0}, "cannot be negative"),
        ({"lift": None}, "Enter the measured lift"),
        ({"start": None}, "Enter the dates"),
        ({"lift": 1e15}, "too large"),
    ],
)
def test_a_lift_test_that_cannot_calibrate_anything_is_refused(in_scored, change, message) -> None:
    values = {
        "channel": "meta",
        "target": "conversion_value",
        "start": yesterday_utc(),
        "end": yesterday_utc(),
        "spend_before": 100.0,
        "spend_after": 200.0,
        "lift": 5.0,
        "lift_sd": 2.0,
        "channels": ["google_ads", "meta"],
        **change,
    }
    with pytest.raises(InsightsError, match=message):
        budget_lift_test_add(**values)
    assert not BudgetLiftTest.objects.exists()


def test_a_budget_above_history_is_planned_on_the_page_with_a_warning(owner_client) -> None:
    owner_client.get("/insights/budget/?period=day")
    most = sum(_latest_fit().params["model"]["max_spend"].values())  # per day, every channel at its peak
    budget = 2 * most

    body = owner_client.get(f"/insights/budget/?period=day&budget={budget:.2f}", **HTMX).content.decode()

    assert 'id="plan-table"' in body and 'id="plan-error"' not in body
    assert "above the most the channels have ever spent together" in body
    spent = [float(v) for v in re.findall(r'data-channel="[^"]+" data-spend="([0-9.]+)"', body)]
    assert sum(spent) == pytest.approx(budget, abs=0.05)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_lift_test_entered_on_the_planner_page_calibrates_the_curves(web, data_workspace) -> None:
    workspace = data_workspace("ins-lift", days=75)
    page = web.page
    web.login(User.objects.get(email="owner@ins-lift.example"), workspace)
    with override_settings(INSIGHTS_BUDGET_BOOTSTRAP=4):
        web.goto("/insights/budget/?period=day", workspace)
        page.wait_for_selector("#lift-test-form", timeout=60_000)
        assert page.is_visible("#lift-tests >> text=No lift tests yet")

        # A standard error of zero is refused with the reason, and nothing is stored.
        page.select_option("#lift-channel", "meta")
        page.fill("#lift-start", "2026-01-05")
        page.fill("#lift-end", "2026-01-25")
        page.fill("#lift-before", "120")
        page.fill("#lift-after", "180")
        page.fill("#lift-lift", "40")
        page.fill("#lift-sd", "0")
        page.click("#lift-test-form button[type=submit]")
        page.wait_for_selector("#lift-test-form", timeout=60_000)
        assert "greater than zero" in page.inner_text("#toasts")
        with in_schema(workspace):
            assert not BudgetLiftTest.objects.exists()

        page.fill("#lift-sd", "8")
        page.fill("#lift-before", "120")
        page.fill("#lift-after", "180")
        page.fill("#lift-lift", "40")
        page.fill("#lift-start", "2026-01-05")
        page.fill("#lift-end", "2026-01-25")
        page.fill("#lift-note", "geo holdout, 4 regions")
        page.click("#lift-test-form button[type=submit]")
        page.wait_for_selector("#lift-test-table", timeout=60_000)

    row = page.locator('#lift-test-table tr[data-channel="meta"]')
    assert row.count() == 1
    assert "geo holdout, 4 regions" in row.inner_text()
    assert "these curves use 1" in page.inner_text("#lift-tests")
    with in_schema(workspace):
        test = BudgetLiftTest.objects.get()
        assert (test.spend_before, test.spend_after, test.lift, test.lift_sd) == (120.0, 180.0, 40.0, 8.0)
        assert _latest_fit().params["lift_tests"] == [test.pk]
    page.locator("#lift-tests").scroll_into_view_if_needed()
    web.screenshot("insights-budget-lift-tests")


def _row(channel: str, spend: float, current: float, marginal: float):
    from insights.ml.planning import ChannelPlan

    return ChannelPlan(channel, channel, spend, 0.0, 0.0, 0.0, marginal, current, 0.0, current, 0.0, 1000.0)


def test_the_page_says_when_the_plan_keeps_the_current_split_on_purpose() -> None:
    from insights.ml.planning import PlanResult
    from insights.selectors.planner import _held_back

    def plan(rows):
        return PlanResult(rows, 200.0, 0.0, (0.0, 0.0), 0.0, (0.0, 0.0), 0.0, (0.0, 0.0), 200.0)

    assert _held_back(plan([_row("a", 100, 100, 1.25), _row("b", 100, 100, 0.23)]))  # differ, kept
    assert not _held_back(plan([_row("a", 100, 100, 1.0), _row("b", 100, 100, 0.98)]))  # already optimal
    assert not _held_back(plan([_row("a", 150, 100, 0.6), _row("b", 50, 100, 0.6)]))  # it moved
