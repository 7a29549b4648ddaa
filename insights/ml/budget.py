"""Budget allocation across channels on fitted response curves, with uncertainty.

Given response curves (``insights.ml.response``), the allocation maximises the expected
outcome per period at steady state::

    maximise  sum_c beta_c * sat_c(x_c / (1 - theta_c))
    s.t.      sum_c x_c = budget,   lower_c <= x_c <= upper_c

solved with SLSQP (analytic gradients) from several starting points — the historical split,
the middle of the bounds and random feasible points — because S-shaped Hill curves make the
problem non-concave. Default bounds are 0 and the largest spend per period the channel has
actually had: the curve is only known where spend has been, and extrapolating a fitted
curve far past it is guesswork.

Experiments: ``lift_tests`` (holdout or geo tests on a channel) calibrate the curves where
spend data alone cannot separate channels that moved together (see ``insights.ml.response``).

Uncertainty: a moving-block bootstrap of the residuals (blocks of 4 periods keep their
autocorrelation) refits the curves ``bootstrap`` times. The allocation maximises the outcome
averaged over the fit and its refits - the best decision when the curves are uncertain, not
the best decision for one estimate of them. The 10th-90th percentiles over the refits form
an 80% band for the expected outcome. The current (historical average) split is evaluated
on the same curves for comparison.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from insights.ml.errors import InputError
from insights.ml.response import (
    LiftTest,
    ResponseModel,
    fit_response_model,
    model_parameters,
    refit_on,
    with_target,
)

MODEL_VERSION = "budget-adstock-hill/1"
_BLOCK = 4  # bootstrap block length in periods: keeps short-run autocorrelation of the residuals
PLAN_COLUMNS = [
    "channel",
    "spend",
    "expected_outcome",
    "expected_outcome_low",
    "expected_outcome_high",
    "marginal_roas",
    "current_spend",
    "current_outcome",
]


@dataclass(frozen=True)
class BudgetPlan:
    """Result of :func:`plan_budget`: the table plus the fitted model behind it."""

    table: pd.DataFrame
    model: ResponseModel
    refits: list[ResponseModel]
    allocation: dict[str, float]
    current: dict[str, float]
    expected_total: float
    expected_total_band: tuple[float, float]
    current_total: float
    current_total_band: tuple[float, float]
    uplift: float  # expected_total - current_total, averaged over fit and refits
    uplift_band: tuple[float, float]  # 80% band of the uplift: better identified than levels


def default_bounds(model: ResponseModel) -> dict[str, tuple[float, float]]:
    """0 to the largest spend per period each channel has had."""
    return {c: (0.0, model.max_spend[c]) for c in model.channels}


def _check_bounds(
    channels: Sequence[str], budget: float, bounds: Mapping[str, tuple[float, float]], hint: str = ""
) -> tuple[np.ndarray, np.ndarray]:
    if not np.isfinite(budget) or budget < 0:
        raise InputError("the budget must be a non-negative number")
    unknown = [c for c in bounds if c not in channels]
    if unknown:
        raise InputError(f"bounds given for unknown channel(s): {', '.join(unknown)}")
    lower = np.array([float(bounds[c][0]) for c in channels])
    upper = np.array([float(bounds[c][1]) for c in channels])
    if (lower < 0).any() or (upper < lower).any():
        raise InputError("each channel's bounds need 0 <= min <= max")
    if budget < lower.sum() - 1e-9 or budget > upper.sum() + 1e-9:
        raise InputError(
            f"budget {budget:g} is outside what the channel bounds allow ({lower.sum():g} to {upper.sum():g}){hint}"
        )
    return lower, upper


def optimize_allocation(
    model: ResponseModel,
    budget: float,
    *,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    ensemble: Sequence[ResponseModel] = (),
    starts: int = 6,
    seed: int = 0,
) -> dict[str, float]:
    """Spend per period per channel that maximises the expected outcome (see module doc).

    With ``ensemble`` (bootstrap refits), the objective is the outcome averaged over
    ``model`` and the ensemble: the best decision when the curves are uncertain, rather
    than the best decision for one estimate of them.
    """
    channels = model.channels
    chosen = {**default_bounds(model), **(bounds or {})}
    missing = [c for c in channels if c not in (bounds or {})]
    hint = "; by default a channel can get at most its largest past spend per period" if missing else ""
    lower, upper = _check_bounds(channels, budget, chosen, hint)
    members = [model, *ensemble]
    curves = [[member.curves[c] for c in channels] for member in members]

    def negative_outcome(x: np.ndarray) -> float:
        total = sum(float(curve.steady_outcome(v)) for row in curves for curve, v in zip(row, x, strict=True))
        return -total / len(members)

    def negative_gradient(x: np.ndarray) -> np.ndarray:
        grads = [[float(curve.marginal_return(v)) for curve, v in zip(row, x, strict=True)] for row in curves]
        return -np.mean(np.array(grads), axis=0)

    rng = np.random.default_rng(seed)
    historical = np.array([model.historical_spend[c] for c in channels])
    candidates = [
        _project(historical, lower, upper, budget),
        _project((lower + upper) / 2, lower, upper, budget),
        *[
            _project(lower + rng.dirichlet(np.ones(len(channels))) * budget, lower, upper, budget)
            for _ in range(starts)
        ],
    ]
    best_x, best_value = candidates[0], negative_outcome(candidates[0])
    constraint = {"type": "eq", "fun": lambda x: np.sum(x) - budget, "jac": lambda x: np.ones_like(x)}
    for x0 in candidates:
        result = minimize(
            negative_outcome,
            x0,
            jac=negative_gradient,
            bounds=list(zip(lower, upper, strict=True)),
            constraints=[constraint],
            method="SLSQP",
            options={"maxiter": 300, "ftol": 1e-12},
        )
        x = _project(np.asarray(result.x), lower, upper, budget)
        value = negative_outcome(x)
        if value < best_value - 1e-12:
            best_x, best_value = x, value
    return {c: float(v) for c, v in zip(channels, best_x, strict=True)}


def _project(x: np.ndarray, lower: np.ndarray, upper: np.ndarray, budget: float) -> np.ndarray:
    """Nearest point with lower <= x <= upper and sum(x) == budget (bisection on a shift)."""
    x = np.asarray(x, dtype=float)
    lo, hi = float(np.min(lower - x)), float(np.max(upper - x))
    for _ in range(200):
        mid = (lo + hi) / 2
        if np.clip(x + mid, lower, upper).sum() > budget:
            hi = mid
        else:
            lo = mid
    return np.clip(x + (lo + hi) / 2, lower, upper)


def _block_bootstrap(residuals: np.ndarray, rng: np.random.Generator, block: int) -> np.ndarray:
    n = residuals.size
    starts = rng.integers(0, max(n - block, 1), size=-(-n // block))
    sample = np.concatenate([residuals[s : s + block] for s in starts])[:n]
    return sample - sample.mean()


def plan_budget(
    history: pd.DataFrame,
    *,
    target: str,
    channels: Sequence[str],
    budget: float,
    controls: Sequence[str] = (),
    bounds: Mapping[str, tuple[float, float]] | None = None,
    saturation: str = "hill",
    restarts: int = 8,
    bootstrap: int = 30,
    seed: int = 0,
    lift_tests: Sequence[LiftTest] = (),
) -> BudgetPlan:
    """Product API: fit curves on ``history`` and split ``budget`` (per period) across channels.

    ``history`` holds one row per period in time order with the ``target`` (revenue or
    conversions), one spend column per channel and optional numeric ``controls``. Returns a
    :class:`BudgetPlan` whose ``table`` has one row per channel plus ``total``:
    ``channel, spend, expected_outcome, expected_outcome_low, expected_outcome_high,
    marginal_roas, current_spend, current_outcome``. Outcomes are the media-driven outcome
    per period at steady state (the baseline from intercept and controls is excluded; it
    does not depend on the split), averaged over the fit and its ``bootstrap`` refits;
    ``*_low``/``*_high`` is the 80% bootstrap band and ``marginal_roas`` the average extra
    outcome per extra unit of spend at the allocation. ``bounds`` maps channel -> (min, max)
    spend per period (default: 0 to the largest spend the channel has had). ``lift_tests``
    calibrate the curves with experiment results (``insights.ml.response``); each bootstrap
    refit redraws every test's lift from its standard error, so the band carries the
    experiments' uncertainty too.
    """
    model = fit_response_model(
        history,
        target=target,
        channels=channels,
        controls=controls,
        saturation=saturation,
        restarts=restarts,
        seed=seed,
        lift_tests=lift_tests,
    )
    rng = np.random.default_rng(seed + 1)
    start = model_parameters(model)
    refits = []
    for _ in range(bootstrap):
        resampled = model.fitted + _block_bootstrap(model.residuals, rng, _BLOCK)
        redrawn = [replace(t, lift=t.lift + rng.normal(0.0, t.lift_sd)) for t in model.lift_tests]
        refits.append(
            refit_on(
                start,
                with_target(history, target, resampled),
                target,
                channels,
                controls,
                saturation,
                redrawn,
                model.lift_weight,
            )
        )
    allocation = optimize_allocation(model, budget, bounds=bounds, ensemble=refits, seed=seed)
    current = dict(model.historical_spend)
    members = [model, *refits]

    def outcomes(spend: Mapping[str, float]) -> np.ndarray:
        """(members, channels): outcome per period of ``spend`` under every member's curves."""
        return np.array([[m.channel_outcomes(spend)[c] for c in channels] for m in members])

    planned, at_current = outcomes(allocation), outcomes(current)
    spread, spread_current = (planned[1:], at_current[1:]) if refits else (planned, at_current)
    rows = []
    for j, c in enumerate(channels):
        rows.append(
            {
                "channel": c,
                "spend": allocation[c],
                "expected_outcome": float(planned[:, j].mean()),
                "expected_outcome_low": float(np.percentile(spread[:, j], 10)),
                "expected_outcome_high": float(np.percentile(spread[:, j], 90)),
                "marginal_roas": float(np.mean([m.curves[c].marginal_return(allocation[c]) for m in members])),
                "current_spend": current[c],
                "current_outcome": float(at_current[:, j].mean()),
            }
        )
    totals, current_totals = spread.sum(axis=1), spread_current.sum(axis=1)
    expected_total = float(planned.sum(axis=1).mean())
    current_total = float(at_current.sum(axis=1).mean())
    rows.append(
        {
            "channel": "total",
            "spend": float(sum(allocation.values())),
            "expected_outcome": expected_total,
            "expected_outcome_low": float(np.percentile(totals, 10)),
            "expected_outcome_high": float(np.percentile(totals, 90)),
            "marginal_roas": np.nan,
            "current_spend": float(sum(current.values())),
            "current_outcome": current_total,
        }
    )
    gains = spread.sum(axis=1) - spread_current.sum(axis=1)
    table = pd.DataFrame(rows, columns=PLAN_COLUMNS)
    table.attrs.update(
        model_version=MODEL_VERSION,
        r_squared=model.r_squared,
        periods=len(history),
        uplift=expected_total - current_total,
        uplift_band=(float(np.percentile(gains, 10)), float(np.percentile(gains, 90))),
    )
    return BudgetPlan(
        table=table,
        model=model,
        refits=refits,
        allocation=allocation,
        current=current,
        expected_total=expected_total,
        expected_total_band=(float(np.percentile(totals, 10)), float(np.percentile(totals, 90))),
        current_total=current_total,
        current_total_band=(float(np.percentile(current_totals, 10)), float(np.percentile(current_totals, 90))),
        uplift=expected_total - current_total,
        uplift_band=table.attrs["uplift_band"],
    )
