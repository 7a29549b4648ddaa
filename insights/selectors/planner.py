"""The budget planner's page object: a solved plan (`services.plan_budget_for_workspace`) shaped
for the page — channel rows with their colours and bounds, the allocation and response-curve
figures, and the plan's ROAS or CPA against the current split."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from insights import charts
from insights.ml.planning import PERIOD_LABELS, PERIODS, PlanResult, curve_points
from insights.models import BudgetScenario, ModelVersion
from insights.selectors import results
from insights.selectors.pages import Page
from insights.services.budget import PlannerInput, PlannerView


def planner_query(inputs: PlannerInput, view: PlannerView) -> str:
    """The query string that reproduces this plan (inputs and every channel's bounds)."""
    params: dict[str, str] = {"scope": inputs.scope, "period": inputs.period, "budget": f"{view.budget:.2f}"}
    if inputs.target:
        params["target"] = inputs.target
    for channel, (low, high) in view.bounds.items():
        params[f"lo.{channel}"] = f"{low:.2f}"
        params[f"hi.{channel}"] = f"{high:.2f}"
    return urlencode(params)


def scenario_query(scenario: BudgetScenario) -> str:
    """The query string that reopens a saved scenario in the planner."""
    params: dict[str, str] = {
        "scope": scenario.scope,
        "period": scenario.period,
        "budget": f"{scenario.budget:.2f}",
        "target": scenario.target,
    }
    for channel, (low, high) in (scenario.bounds or {}).items():
        params[f"lo.{channel}"] = f"{float(low):.2f}"
        params[f"hi.{channel}"] = f"{float(high):.2f}"
    return urlencode(params)


def saved_scenarios() -> list[tuple[BudgetScenario, str]]:
    """Saved scenarios with the query string that reopens each."""
    return [(s, scenario_query(s)) for s in results.budget_scenarios()]


@dataclass(frozen=True)
class PlannerFrame(Page):
    """What the planner shows around a plan, and all it shows when no plan can be made."""

    inputs: PlannerInput
    period_label: str
    periods: list[tuple[str, str]]
    scenarios: list[tuple[BudgetScenario, str]]


def planner_frame(*, inputs: PlannerInput) -> PlannerFrame:
    return PlannerFrame(
        inputs=inputs,
        period_label=PERIOD_LABELS[inputs.period],
        periods=[(p, PERIOD_LABELS[p].removeprefix("per ").capitalize()) for p in PERIODS],
        scenarios=saved_scenarios(),
    )


@dataclass(frozen=True)
class PlannerPage(Page):
    view: PlannerView
    plan: Any
    target: str
    target_label: str
    money_target: bool
    channels: list[dict[str, Any]]
    budget: float
    historical_budget: float
    r_squared: float | None
    fit_version: ModelVersion
    allocation_chart: charts.Figure | None = None
    curves_chart: charts.Figure | None = None
    plan_rows: list[dict[str, Any]] | None = None
    roas: float | None = None
    current_roas: float | None = None
    plan_cpa: float | None = None
    current_cpa: float | None = None
    #: the query string of this plan ("" when the bounds cannot hold the budget)
    query: str = ""
    #: the curves' marginal returns differ, yet the plan keeps the current split: the refits
    #: disagree about the gain of any move (the hedge toward the current split)
    held_back: bool = False
    #: the plan moves no budget between channels free to move: "+€0 (80% band €0 to €0)" reads
    #: broken, the page says "Keep the split" and why
    keeps_split: bool = False
    #: the lowest and highest marginal return of the channels free to move (the why, in numbers)
    marginal_range: tuple[float, float] | None = None


def _scaled_curves(view: PlannerView, plan: PlanResult) -> list[dict[str, Any]]:
    """Each curve around the decision (current split to recommendation), where the fit has data;
    far from past spend the curve is extrapolation. Per period, relative to the current split."""
    factor = view.factor
    lower = {c.channel: 0.4 * min(c.current_spend, c.spend) / factor for c in plan.channels}
    upper = {
        c.channel: max(min(c.upper, 1.6 * max(c.current_spend, c.spend)), 1.1 * max(c.current_spend, c.spend)) / factor
        for c in plan.channels
    }
    current = {c.channel: c.current_spend / factor for c in plan.channels}
    points = curve_points(view.curves, upper=upper, lower=lower, relative_to=current)
    return [
        {
            "channel": p.channel,
            "label": p.label,
            "spend": [v * factor for v in p.spend],
            "outcome": [v * factor for v in p.outcome],
            "low": [v * factor for v in p.low],
            "high": [v * factor for v in p.high],
        }
        for p in points
    ]


def _free_marginals(plan: PlanResult) -> list[float]:
    return [c.marginal_roas for c in plan.channels if not (c.at_lower or c.at_upper)]


def _keeps_split(plan: PlanResult) -> bool:
    """No budget moved, though at least two channels were free to take or give some."""
    moved = sum(abs(c.change) for c in plan.channels)
    return moved <= 1e-3 * max(plan.budget, 1e-12) and len(_free_marginals(plan)) > 1


def _held_back(plan: PlanResult) -> bool:
    """The split is kept though the marginal returns differ: the refits disagree about the gain."""
    free = _free_marginals(plan)
    spread = (max(free) - min(free)) / max(abs(max(free)), 1e-12) if len(free) > 1 else 0.0
    return _keeps_split(plan) and spread > 0.1


def planner_page(*, view: PlannerView, currency: str) -> PlannerPage:
    """The planner around a solved allocation (`view.plan` is None when the bounds cannot hold the budget)."""
    plan = view.plan
    # Platforms keep their own colours; campaigns get distinct colours of their own.
    colors = charts.channel_swatches(view.curves.channels)
    page: dict[str, Any] = {
        "view": view,
        "plan": plan,
        "target": view.target,
        "target_label": "revenue" if view.target == "conversion_value" else "conversions",
        "money_target": view.target == "conversion_value",
        "channels": [
            {
                "key": c,
                "label": view.curves.label(c),
                "color": colors[c],
                "lo": view.bounds[c][0],
                "hi": view.bounds[c][1],
                "history": view.curves.model.historical_spend[c] * view.factor,
                "max_seen": view.curves.model.max_spend[c] * view.factor,
            }
            for c in view.curves.channels
        ],
        "budget": view.budget,
        "historical_budget": sum(view.curves.model.historical_spend.values()) * view.factor,
        "r_squared": view.version.metrics.get("r_squared"),
        "fit_version": view.version,
    }
    if plan is not None:
        page.update(
            allocation_chart=charts.budget_allocation_bar(plan.channels, currency=currency, colors=colors),
            curves_chart=charts.response_curves_figure(
                _scaled_curves(view, plan),
                plan.channels,
                currency=currency,
                target=view.target,
                colors=colors,
                relative=True,
            ),
            plan_rows=[{"plan": c, "color": colors[c.channel]} for c in plan.channels],
            roas=plan.total_outcome / plan.budget if plan.budget else None,
            current_roas=plan.current_total_outcome / plan.budget if plan.budget else None,
            plan_cpa=plan.budget / plan.total_outcome if plan.total_outcome > 0 else None,
            current_cpa=plan.budget / plan.current_total_outcome if plan.current_total_outcome > 0 else None,
            query=planner_query(view.inputs, view),
            held_back=_held_back(plan),
            keeps_split=_keeps_split(plan),
            marginal_range=(min(free), max(free)) if (free := _free_marginals(plan)) else None,
        )
    return PlannerPage(**page)
