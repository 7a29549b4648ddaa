"""The budget planner's fast step: allocate a budget on response curves fitted earlier.

Fitting curves (`insights.ml.plan_budget`: a fit plus bootstrap refits) takes seconds, so it
runs once per workspace per day and the fitted curves are stored as a `ModelVersion`'s params
(`curves_to_params`). Every change of the total or of a channel's bounds on the page only
re-solves the allocation on those stored curves (`allocate`), which takes a fraction of a
second. `allocate` computes exactly what `plan_budget` reports (a test checks the two agree),
plus the comparison the page needs: the current split scaled to the same budget.

Pure Python on numpy: no Django import.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from insights.ml.budget import (
    default_bounds as budget_default_bounds,
)
from insights.ml.budget import (
    extrapolation_factor,
    extrapolation_warnings,
    historical_split,
    optimize_allocation,
    widened_band,
    with_defaults,
)
from insights.ml.errors import InputError
from insights.ml.response import ChannelCurve, ResponseModel

PERIODS: dict[str, float] = {"day": 1.0, "week": 7.0, "month": 365.0 / 12.0}
PERIOD_LABELS: dict[str, str] = {"day": "per day", "week": "per week", "month": "per month"}


@dataclass(frozen=True)
class EnsembleCurve(ChannelCurve):
    """One channel's curves of every ensemble member at once (parameters are arrays).

    `ChannelCurve`'s formulas are elementwise, so with array parameters they evaluate all
    members in one numpy call; the mean over members is exactly the ensemble objective that
    `optimize_allocation(..., ensemble=refits)` maximises, at a fraction of the cost (one
    vectorised call per channel instead of a Python loop over members).
    """

    def steady_outcome(self, spend_per_period: np.ndarray | float) -> np.ndarray:
        return np.asarray(np.mean(self.member_outcomes(spend_per_period)))

    def marginal_return(self, spend_per_period: np.ndarray | float) -> np.ndarray:
        return np.asarray(np.mean(super().marginal_return(float(np.asarray(spend_per_period)))))

    def member_outcomes(self, spend_per_period: np.ndarray | float) -> np.ndarray:
        """Outcome per period under each member's curve (shape: members)."""
        return np.asarray(super().steady_outcome(float(np.asarray(spend_per_period))))

    def member_marginals(self, spend_per_period: float) -> np.ndarray:
        return np.asarray(super().marginal_return(float(spend_per_period)))


@dataclass(frozen=True)
class FittedCurves:
    """A fitted response model and its bootstrap refits, as stored in the registry."""

    model: ResponseModel
    refits: list[ResponseModel]
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def channels(self) -> list[str]:
        return self.model.channels

    @property
    def members(self) -> list[ResponseModel]:
        return [self.model, *self.refits]

    def label(self, channel: str) -> str:
        return self.labels.get(channel, channel)

    @functools.cached_property
    def ensemble(self) -> ResponseModel:
        """The fit and its refits as one model whose curves average over all of them."""
        members = self.members
        curves = {}
        for c in self.channels:
            parts = [m.curves[c] for m in members]
            curves[c] = EnsembleCurve(
                c,
                np.array([p.decay for p in parts]),  # type: ignore[arg-type]
                np.array([p.half_saturation for p in parts]),  # type: ignore[arg-type]
                np.array([p.shape for p in parts]),  # type: ignore[arg-type]
                np.array([p.max_effect for p in parts]),  # type: ignore[arg-type]
                parts[0].saturation,
            )
        return dataclasses.replace(self.model, curves=curves)  # type: ignore[arg-type]


def _model_to_dict(model: ResponseModel) -> dict[str, Any]:
    return {
        "curves": {
            name: {
                "decay": c.decay,
                "half_saturation": c.half_saturation,
                "shape": c.shape,
                "max_effect": c.max_effect,
                "saturation": c.saturation,
            }
            for name, c in model.curves.items()
        },
        "intercept": model.intercept,
        "control_coefficients": dict(model.control_coefficients),
        "control_means": dict(model.control_means),
        "historical_spend": dict(model.historical_spend),
        "max_spend": dict(model.max_spend),
        "min_spend": dict(model.min_spend),
        "r_squared": model.r_squared,
        "sse": model.sse,
        "baseline_terms": dict(model.baseline_terms),
    }


def _model_from_dict(data: Mapping[str, Any]) -> ResponseModel:
    curves = {
        name: ChannelCurve(
            name,
            float(c["decay"]),
            float(c["half_saturation"]),
            float(c["shape"]),
            float(c["max_effect"]),
            str(c.get("saturation", "hill")),
        )
        for name, c in data["curves"].items()
    }
    return ResponseModel(
        curves=curves,
        intercept=float(data["intercept"]),
        control_coefficients={k: float(v) for k, v in data.get("control_coefficients", {}).items()},
        control_means={k: float(v) for k, v in data.get("control_means", {}).items()},
        historical_spend={k: float(v) for k, v in data["historical_spend"].items()},
        max_spend={k: float(v) for k, v in data["max_spend"].items()},
        # fits stored before the floor existed plan from 0, as they did
        min_spend={k: float(v) for k, v in data.get("min_spend", {}).items()},
        # The per-period fit and residuals are not needed to allocate and are not stored.
        fitted=np.empty(0),
        residuals=np.empty(0),
        r_squared=float(data["r_squared"]),
        sse=float(data["sse"]),
        baseline_terms={k: float(v) for k, v in data.get("baseline_terms", {}).items()},
    )


def curves_to_params(
    model: ResponseModel, refits: Sequence[ResponseModel], labels: Mapping[str, str]
) -> dict[str, Any]:
    """JSON-ready parameters of a fit and its refits (what the registry stores)."""
    return {
        "channels": list(model.channels),
        "labels": dict(labels),
        "model": _model_to_dict(model),
        "refits": [_model_to_dict(r) for r in refits],
    }


def curves_from_params(params: Mapping[str, Any]) -> FittedCurves:
    return FittedCurves(
        model=_model_from_dict(params["model"]),
        refits=[_model_from_dict(r) for r in params.get("refits", [])],
        labels=dict(params.get("labels", {})),
    )


@dataclass(frozen=True)
class ChannelPlan:
    channel: str
    label: str
    spend: float
    expected: float
    expected_low: float
    expected_high: float
    marginal_roas: float
    current_spend: float  # the current split scaled to the planned budget
    current_outcome: float
    historical_spend: float  # what the channel actually spent on average
    lower: float
    upper: float
    #: outcome gained (lost) on this channel against the current split, with its 80% band:
    #: differences between splits are what the fit identifies best
    outcome_change: float = 0.0
    outcome_change_low: float = 0.0
    outcome_change_high: float = 0.0

    @property
    def change(self) -> float:
        return self.spend - self.current_spend

    @property
    def at_lower(self) -> bool:
        return self.spend <= self.lower + max(1e-6, 1e-4 * self.upper)

    @property
    def at_upper(self) -> bool:
        return self.spend >= self.upper - max(1e-6, 1e-4 * self.upper)


@dataclass(frozen=True)
class PlanResult:
    """An allocation, per day, with the outcome band; `scaled(f)` turns it into another period."""

    channels: list[ChannelPlan]
    budget: float
    expected_total: float
    expected_total_band: tuple[float, float]
    current_total: float
    current_total_band: tuple[float, float]
    uplift: float
    uplift_band: tuple[float, float]
    historical_budget: float
    #: outcome that does not depend on the split (intercept and controls), averaged over members
    baseline: float = 0.0
    #: baseline + media outcome: comparable with the workspace's actual totals
    total_outcome: float = 0.0
    total_outcome_band: tuple[float, float] = (0.0, 0.0)
    current_total_outcome: float = 0.0
    #: what the reader must know (spend beyond the history: curves extrapolated, band widened)
    warnings: tuple[str, ...] = ()

    def scaled(self, factor: float) -> PlanResult:
        """Money and outcome per period of `factor` days (marginal ROAS does not change)."""

        def s(value: float) -> float:
            return value * factor

        return PlanResult(
            channels=[
                ChannelPlan(
                    c.channel,
                    c.label,
                    s(c.spend),
                    s(c.expected),
                    s(c.expected_low),
                    s(c.expected_high),
                    c.marginal_roas,
                    s(c.current_spend),
                    s(c.current_outcome),
                    s(c.historical_spend),
                    s(c.lower),
                    s(c.upper),
                    s(c.outcome_change),
                    s(c.outcome_change_low),
                    s(c.outcome_change_high),
                )
                for c in self.channels
            ],
            budget=s(self.budget),
            expected_total=s(self.expected_total),
            expected_total_band=(s(self.expected_total_band[0]), s(self.expected_total_band[1])),
            current_total=s(self.current_total),
            current_total_band=(s(self.current_total_band[0]), s(self.current_total_band[1])),
            uplift=s(self.uplift),
            uplift_band=(s(self.uplift_band[0]), s(self.uplift_band[1])),
            historical_budget=s(self.historical_budget),
            baseline=s(self.baseline),
            total_outcome=s(self.total_outcome),
            total_outcome_band=(s(self.total_outcome_band[0]), s(self.total_outcome_band[1])),
            current_total_outcome=s(self.current_total_outcome),
            warnings=self.warnings,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "budget": self.budget,
            "expected_total": self.expected_total,
            "expected_total_band": list(self.expected_total_band),
            "current_total": self.current_total,
            "uplift": self.uplift,
            "uplift_band": list(self.uplift_band),
            "baseline": self.baseline,
            "total_outcome": self.total_outcome,
            "total_outcome_band": list(self.total_outcome_band),
            "current_total_outcome": self.current_total_outcome,
            "warnings": list(self.warnings),
            "channels": [
                {
                    "channel": c.channel,
                    "label": c.label,
                    "spend": c.spend,
                    "expected": c.expected,
                    "expected_low": c.expected_low,
                    "expected_high": c.expected_high,
                    "marginal_roas": c.marginal_roas,
                    "current_spend": c.current_spend,
                    "current_outcome": c.current_outcome,
                    "outcome_change": c.outcome_change,
                }
                for c in self.channels
            ],
        }


def default_bounds(curves: FittedCurves, budget: float | None = None) -> dict[str, tuple[float, float]]:
    """The range each channel's curve was measured over, scaled with a daily `budget` away from
    the historical one (the optimizer's own default, `insights.ml.budget.default_bounds`)."""
    return budget_default_bounds(curves.model, budget)


def historical_budget(curves: FittedCurves) -> float:
    return float(sum(curves.model.historical_spend.values()))


def _outcomes(ensemble: ResponseModel, channels: Sequence[str], spend: Mapping[str, float]) -> np.ndarray:
    """(members, channels): outcome per day of `spend` under every member's curves."""
    columns = []
    for c in channels:
        curve = ensemble.curves[c]
        assert isinstance(curve, EnsembleCurve)
        columns.append(curve.member_outcomes(spend[c]))
    return np.column_stack(columns)


def allocate(
    curves: FittedCurves,
    budget: float,
    *,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    seed: int = 0,
) -> PlanResult:
    """Split a daily `budget` across the channels under `bounds` (per-day (min, max)).

    Raises InputError with a one-line reason when the bounds cannot hold the budget.
    """
    channels = curves.channels
    chosen = with_defaults(curves.model, budget, bounds)
    model, ensemble = curves.model, curves.ensemble
    history = dict(model.historical_spend)
    total_history = sum(history.values())
    current = historical_split(model, budget)
    # One averaged model instead of model + refits: the same objective, vectorised; pulled back
    # toward the current split as far as the refits disagree about the gain.
    allocation = optimize_allocation(ensemble, budget, bounds=chosen, seed=seed, reference=current)
    planned, at_current = _outcomes(ensemble, channels, allocation), _outcomes(ensemble, channels, current)
    widen = extrapolation_factor(model, allocation)
    warnings = list(extrapolation_warnings(model, allocation))
    if budget > sum(model.max_spend.values()) * (1 + 1e-9):
        warnings.insert(0, "the budget is above the largest total spend seen: the curves are extrapolated there")
    planned_spread = widened_band(planned, widen)
    spread, spread_current = (planned_spread[1:], at_current[1:]) if curves.refits else (planned_spread, at_current)
    rows = []
    deltas = planned - at_current
    spread_deltas = widened_band(deltas, widen)[1:] if curves.refits else deltas
    for j, c in enumerate(channels):
        curve = ensemble.curves[c]
        assert isinstance(curve, EnsembleCurve)
        rows.append(
            ChannelPlan(
                channel=c,
                label=curves.label(c),
                spend=float(allocation[c]),
                expected=float(planned[:, j].mean()),
                expected_low=float(np.percentile(spread[:, j], 10)),
                expected_high=float(np.percentile(spread[:, j], 90)),
                marginal_roas=float(np.mean(curve.member_marginals(allocation[c]))),
                current_spend=float(current[c]),
                current_outcome=float(at_current[:, j].mean()),
                historical_spend=float(history[c]),
                lower=float(chosen[c][0]),
                upper=float(chosen[c][1]),
                outcome_change=float(deltas[:, j].mean()),
                outcome_change_low=float(np.percentile(spread_deltas[:, j], 10)),
                outcome_change_high=float(np.percentile(spread_deltas[:, j], 90)),
            )
        )
    totals, current_totals = spread.sum(axis=1), spread_current.sum(axis=1)
    expected_total = float(planned.sum(axis=1).mean())
    current_total = float(at_current.sum(axis=1).mean())
    gains = totals - current_totals
    # The levels of media outcome and baseline trade off against each other in the fit; their
    # sum is what the data pins down, so that is the number to compare with real totals.
    baselines = np.array([m.baseline() for m in curves.members])
    with_base = planned.sum(axis=1) + baselines
    widened_with_base = planned_spread.sum(axis=1) + baselines
    spread_with_base = widened_with_base[1:] if curves.refits else widened_with_base
    return PlanResult(
        channels=rows,
        budget=float(sum(allocation.values())),
        expected_total=expected_total,
        expected_total_band=(float(np.percentile(totals, 10)), float(np.percentile(totals, 90))),
        current_total=current_total,
        current_total_band=(float(np.percentile(current_totals, 10)), float(np.percentile(current_totals, 90))),
        uplift=expected_total - current_total,
        uplift_band=(float(np.percentile(gains, 10)), float(np.percentile(gains, 90))),
        historical_budget=float(total_history),
        baseline=float(baselines.mean()),
        total_outcome=float(with_base.mean()),
        total_outcome_band=(float(np.percentile(spread_with_base, 10)), float(np.percentile(spread_with_base, 90))),
        current_total_outcome=float((at_current.sum(axis=1) + baselines).mean()),
        warnings=tuple(warnings),
    )


def check_bounds(
    budget: float,
    bounds: Mapping[str, tuple[float, float]],
    *,
    money: Callable[[float], str] = lambda v: f"{v:,.2f}",
    labels: Mapping[str, str] | None = None,
) -> str | None:
    """Why these bounds cannot hold this budget, in words a marketer reads (None when they can).

    Amounts go through `money` so the message uses the page's currency and period.
    """
    names = labels or {}
    if not np.isfinite(budget) or budget <= 0:
        return "Enter a budget above zero."
    for channel, (low, high) in bounds.items():
        name = names.get(channel, channel)
        if not (np.isfinite(low) and np.isfinite(high)) or low < 0 or high < 0:
            return f"The bounds of {name} must be zero or more."
        if high < low:
            return f"The maximum of {name} ({money(high)}) is below its minimum ({money(low)})."
    minimum = sum(low for low, _ in bounds.values())
    maximum = sum(high for _, high in bounds.values())
    if budget < minimum - 1e-9:
        return f"The channel minimums add up to {money(minimum)}, more than the budget of {money(budget)}."
    if budget > maximum + 1e-9:
        return (
            f"The channel maximums add up to {money(maximum)}, less than the budget of {money(budget)}. "
            "Raise a maximum to spend more: by default a channel can get at most its largest daily spend so far."
        )
    return None


@dataclass(frozen=True)
class CurvePoints:
    channel: str
    label: str
    spend: list[float]
    outcome: list[float]
    low: list[float]
    high: list[float]


def curve_points(
    curves: FittedCurves,
    *,
    upper: Mapping[str, float],
    lower: Mapping[str, float] | None = None,
    relative_to: Mapping[str, float] | None = None,
    points: int = 48,
) -> list[CurvePoints]:
    """Each channel's daily response curve (mean and 80% band over the refits) up to `upper`.

    With `relative_to` (spend per channel, e.g. the current split) each member's curve is shown
    as the change against its own outcome at that spend: the band then shows how sure the fit
    is about moving budget, not about the absolute level (which it pins down poorly).
    """
    out = []
    for c in curves.channels:
        start = float((lower or {}).get(c, 0.0))
        grid = np.linspace(start, max(float(upper.get(c, 0.0)), start + 1e-9), points)
        values = np.array([m.curves[c].steady_outcome(grid) for m in curves.members])
        if relative_to is not None and c in relative_to:
            reference = np.array([float(m.curves[c].steady_outcome(relative_to[c])) for m in curves.members])
            values = values - reference[:, None]
        spread = values[1:] if curves.refits else values
        out.append(
            CurvePoints(
                c,
                curves.label(c),
                grid.tolist(),
                values.mean(axis=0).tolist(),
                np.percentile(spread, 10, axis=0).tolist(),
                np.percentile(spread, 90, axis=0).tolist(),
            )
        )
    return out


__all__ = [
    "PERIODS",
    "PERIOD_LABELS",
    "ChannelPlan",
    "CurvePoints",
    "FittedCurves",
    "InputError",
    "PlanResult",
    "allocate",
    "check_bounds",
    "curve_points",
    "curves_from_params",
    "curves_to_params",
    "default_bounds",
    "historical_budget",
]
