"""The budget planner: curves fitted once a day, allocation re-solved live on them under bounds."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from accounts.models import Membership
from insights.ml.budget import plan_budget
from insights.ml.planning import allocate, check_bounds, curves_from_params, curves_to_params
from insights.models import BudgetScenario, ModelVersion

HTMX = {"HTTP_HX_REQUEST": "true"}


def _history(seed: int = 4, n: int = 150) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"search": rng.uniform(50, 200, n), "social": rng.uniform(20, 150, n), "video": rng.uniform(10, 90, n)}
    )
    frame["revenue"] = (
        400 * np.tanh(frame["search"] / 150)
        + 250 * np.tanh(frame["social"] / 60)
        + 90 * np.tanh(frame["video"] / 80)
        + rng.normal(0, 15, n)
    )
    return frame


def test_allocating_on_stored_curves_reproduces_plan_budget_exactly() -> None:
    history = _history()
    channels = ["search", "social", "video"]
    budget = float(history[channels].mean().sum())
    plan = plan_budget(history, target="revenue", channels=channels, budget=budget, bootstrap=5)
    # Through JSON, as the registry stores it.
    stored = json.loads(json.dumps(curves_to_params(plan.model, plan.refits, {"search": "Search"})))
    result = allocate(curves_from_params(stored), budget)
    table = plan.table.set_index("channel")
    for row in result.channels:
        assert row.spend == pytest.approx(table.loc[row.channel, "spend"], rel=1e-6, abs=1e-6)
        assert row.expected == pytest.approx(table.loc[row.channel, "expected_outcome"], rel=1e-9)
        assert row.expected_low == pytest.approx(table.loc[row.channel, "expected_outcome_low"], rel=1e-9)
        assert row.marginal_roas == pytest.approx(table.loc[row.channel, "marginal_roas"], rel=1e-6)
    assert result.expected_total == pytest.approx(plan.expected_total, rel=1e-9)
    assert result.uplift == pytest.approx(plan.uplift, rel=1e-6, abs=1e-9)
    assert result.uplift_band == pytest.approx(plan.uplift_band, rel=1e-6, abs=1e-9)
    assert result.channels[0].label == "Search"
    assert sum(c.outcome_change for c in result.channels) == pytest.approx(result.uplift)


def test_allocation_respects_bounds_and_scales_to_a_month() -> None:
    history = _history(seed=9)
    plan = plan_budget(history, target="revenue", channels=["search", "social", "video"], budget=250.0, bootstrap=3)
    curves = curves_from_params(curves_to_params(plan.model, plan.refits, {}))
    result = allocate(curves, 250.0, bounds={"search": (0.0, 60.0), "video": (40.0, 90.0)})
    spend = {c.channel: c.spend for c in result.channels}
    assert spend["search"] <= 60.0 + 1e-6 and spend["video"] >= 40.0 - 1e-6
    assert sum(spend.values()) == pytest.approx(250.0)
    month = result.scaled(30.0)
    assert month.budget == pytest.approx(7500.0) and month.channels[0].marginal_roas == result.channels[0].marginal_roas


def test_impossible_bounds_are_explained_in_the_workspace_currency() -> None:
    money = lambda v: f"€{v:,.0f}"  # noqa: E731
    assert check_bounds(100.0, {"a": (80.0, 200.0), "b": (50.0, 90.0)}, money=money) == (
        "The channel minimums add up to €130, more than the budget of €100."
    )
    assert "maximums add up to €150, less than the budget of €400" in check_bounds(
        400.0, {"a": (0.0, 100.0), "b": (0.0, 50.0)}, money=money
    )
    assert check_bounds(100.0, {"a": (20.0, 10.0)}, money=money, labels={"a": "Meta Ads"}) == (
        "The maximum of Meta Ads (€10) is below its minimum (€20)."
    )
    assert check_bounds(0.0, {"a": (0.0, 10.0)}) == "Enter a budget above zero."


# --------------------------------------------------------------------------- the page


@pytest.fixture
def owner_client(in_scored, workspace_client):
    owner = Membership.objects.get(workspace=in_scored, role="owner").user
    return workspace_client(owner, in_scored)


def _spend(body: str) -> dict[str, float]:
    return {m[0]: float(m[1]) for m in re.findall(r'data-channel="([^"]+)" data-spend="([0-9.]+)"', body)}


def test_the_planner_fragment_follows_a_channel_maximum(owner_client) -> None:
    page = owner_client.get("/insights/budget/?period=day")
    assert page.status_code == 200 and 'id="planner-form"' in page.content.decode()
    budget = float(re.search(r'id="plan" class="stack" data-budget="([0-9.]+)"', page.content.decode()).group(1))
    free = _spend(owner_client.get(f"/insights/budget/?period=day&budget={budget}", **HTMX).content.decode())
    cap = round(free["meta"] / 2, 2)
    response = owner_client.get(f"/insights/budget/?period=day&budget={budget}&hi.meta={cap}", **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="plan"') and "<html" not in body  # the fragment alone
    capped = _spend(body)
    assert capped["meta"] == pytest.approx(cap, abs=0.01)
    assert capped["google_ads"] == pytest.approx(budget - cap, abs=0.02)
    # Curves were fitted once (by the nightly run); interactive requests only allocate.
    assert ModelVersion.objects.filter(kind=ModelVersion.Kind.BUDGET).count() == 1


def test_a_budget_the_bounds_cannot_hold_is_explained_not_planned(owner_client) -> None:
    body = owner_client.get(
        "/insights/budget/?period=day&budget=100&lo.meta=80&lo.google_ads=80", **HTMX
    ).content.decode()
    assert "The channel minimums add up to €160, more than the budget of €100." in body
    assert 'id="plan-table"' not in body


def test_planning_per_campaign_fits_its_curves_on_first_use(owner_client) -> None:
    page = owner_client.get("/insights/budget/?scope=campaign").content.decode()
    assert "Fitting today" in page and "fragment=planner" in page  # the page answers at once
    fragment = owner_client.get("/insights/budget/?scope=campaign&fragment=planner", **HTMX).content.decode()
    assert 'id="planner-form"' in fragment and "lo.google_ads:" in fragment
    fit = ModelVersion.objects.get(kind=ModelVersion.Kind.BUDGET, params__scope="campaign")
    assert len(fit.params["channels"]) == 4 and fit.training_end is not None
    owner_client.get("/insights/budget/?scope=campaign&fragment=planner", **HTMX)
    assert ModelVersion.objects.filter(kind=ModelVersion.Kind.BUDGET, params__scope="campaign").count() == 1


def test_saving_a_scenario_records_it_against_the_curves_used(owner_client) -> None:
    response = owner_client.post(
        "/insights/budget/scenarios/", {"name": "Q1 push", "period": "month", "budget": "90000", "scope": "platform"}
    )
    assert response.status_code == 302
    scenario = BudgetScenario.objects.get()
    assert scenario.name == "Q1 push" and scenario.budget == 90000 and scenario.version.kind == ModelVersion.Kind.BUDGET
    assert scenario.result["budget"] == pytest.approx(90000)
    assert set(scenario.bounds) == {"google_ads", "meta"}
    page = owner_client.get(response["Location"]).content.decode()
    assert "Q1 push" in page


def test_viewers_can_plan_but_not_save(in_scored, make_user, workspace_client) -> None:
    viewer = make_user("viewer@ins-read.example")
    Membership.objects.create(user=viewer, workspace=in_scored, role="viewer")
    client = workspace_client(viewer, in_scored)
    page = client.get("/insights/budget/").content.decode()
    assert 'id="plan-table"' in page and 'id="save-scenario"' not in page
    assert client.post("/insights/budget/scenarios/", {"name": "x", "budget": "100"}).status_code == 403
    assert not BudgetScenario.objects.exists()
