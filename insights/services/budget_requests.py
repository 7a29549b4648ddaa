"""The budget planner asked through the API: a budget and optional per-channel bounds in, an
allocation out, with a warning instead of a refusal when the budget goes beyond history.

The planner page clamps each channel to the largest spend it has had, so a budget above the
history cannot be placed there. A program asking for one means it: channels without an explicit
maximum may then take the whole budget, and the answer says plainly that the curves are
extrapolated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bosco.formatting import format_money
from insights.ml.planning import PERIOD_LABELS, PERIODS, curves_from_params, default_bounds
from insights.services.budget import PlannerInput, PlannerView, budget_curves_get_or_fit, plan_budget_for_workspace
from insights.services.common import InsightsError, current_workspace

Bounds = Mapping[str, tuple[float | None, float | None]]


class BudgetRequestError(InsightsError):
    """The request's budget or bounds cannot make a plan; `field` names which (a 400)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class BudgetPlanAnswer:
    view: PlannerView
    currency: str
    #: the largest total spend per period the history has seen (sum of each channel's maximum)
    max_seen: float
    warning: str | None


def _widened(
    bounds: Bounds, defaults: Mapping[str, tuple[float, float]], budget: float
) -> dict[str, tuple[float | None, float | None]]:
    """Bounds where every channel without an explicit maximum may take up to the whole budget."""
    out: dict[str, tuple[float | None, float | None]] = {}
    for channel in defaults:
        low, high = bounds.get(channel, (None, None))
        out[channel] = (low, budget if high is None else high)
    return out


def plan_budget_request(
    *, scope: str, target: str | None, period: str, budget: float | None, bounds: Bounds
) -> BudgetPlanAnswer:
    """Allocate `budget` (per `period`; None = the historical budget) under `bounds` (per period).

    Raises BudgetRequestError for a budget or bounds no plan can satisfy (unknown channels
    included), InsightsError when the workspace's data cannot support a plan yet.
    """
    if period not in PERIODS:
        raise BudgetRequestError("must be day, week or month", field="period")
    workspace = current_workspace()
    curves = curves_from_params(budget_curves_get_or_fit(scope=scope, target=target).params)
    unknown = sorted(set(bounds) - set(curves.channels))
    if unknown:
        raise BudgetRequestError(
            f"{', '.join(unknown)} is not a channel of this plan; the channels are: {', '.join(curves.channels)}",
            field="bounds",
        )
    factor = PERIODS[period]
    defaults = {c: (lo * factor, hi * factor) for c, (lo, hi) in default_bounds(curves).items()}
    max_seen = sum(hi for _, hi in defaults.values())
    chosen: dict[str, tuple[float | None, float | None]] = dict(bounds)
    warning = None
    if budget is not None and budget > max_seen:
        chosen = _widened(bounds, defaults, budget)
        warning = (
            f"The budget of {format_money(budget, workspace.currency)} is above the largest total spend seen so far"
            f" ({format_money(max_seen, workspace.currency)} {PERIOD_LABELS[period]}): the response curves are extrapolated"
            " there, so treat the expected outcome and its band as a rough guide."
        )
    view = plan_budget_for_workspace(
        PlannerInput(scope=scope, target=target, period=period, budget=budget, bounds=chosen),
        money=lambda v: format_money(v, workspace.currency),
    )
    if view.error is not None:
        field = "budget" if view.plan is None and "budget above zero" in view.error else "bounds"
        raise BudgetRequestError(view.error, field=field)
    return BudgetPlanAnswer(view=view, currency=workspace.currency, max_seen=max_seen, warning=warning)
