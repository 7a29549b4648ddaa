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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from insights.ml.baseline import baseline_features
from insights.ml.calendar import Event
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
    warnings: tuple[str, ...] = ()  # what the caller must know (budget beyond history, ...)


def default_bounds(model: ResponseModel, budget: float | None = None) -> dict[str, tuple[float, float]]:
    """The range of spend per period each channel's curve was measured over: from the least
    steady spend the history showed (``model.min_spend``) to the largest spend it had.

    For a ``budget`` above the historical one the maximums grow by the same ratio, so the
    historical split scaled to that budget always fits: a bigger budget is planned (with a
    warning that the curves are extrapolated there), never refused. For a budget below it the
    minimums shrink by the same ratio, and never exceed the channel's historical share of the
    budget, so the split always fits too. The minimum keeps the plan off the unmeasured foot
    of a curve: cutting a channel far below anything the history showed rests on a curve
    extrapolated toward zero, and in the recovery test that is where a biased fit lost money.
    """
    ratio = 1.0
    total = sum(model.historical_spend.values())
    if budget is not None and np.isfinite(budget) and total > 0:
        ratio = budget / total
    share = historical_split(model, budget if budget is not None and np.isfinite(budget) else total)
    return {
        c: (
            max(0.0, min(model.min_spend.get(c, 0.0) * min(1.0, ratio), share[c])),
            model.max_spend[c] * max(1.0, ratio),
        )
        for c in model.channels
    }


def with_defaults(
    model: ResponseModel, budget: float, bounds: Mapping[str, tuple[float, float]] | None
) -> dict[str, tuple[float, float]]:
    """``bounds`` completed with the defaults for the channels it leaves out. The default
    minimums give way (to 0) when they and the given minimums together exceed the budget: a
    floor that only guards against extrapolation never makes a budget impossible."""
    defaults = default_bounds(model, budget)
    chosen = {**defaults, **(bounds or {})}
    if sum(low for low, _ in chosen.values()) > budget:
        chosen = {**{c: (0.0, high) for c, (_, high) in defaults.items()}, **(bounds or {})}
    return chosen


def historical_split(model: ResponseModel, budget: float) -> dict[str, float]:
    """The historical shares of spend applied to ``budget`` (the "keep doing what we do" plan)."""
    total = sum(model.historical_spend.values())
    count = len(model.channels)
    return {c: budget * (model.historical_spend[c] / total if total > 0 else 1.0 / count) for c in model.channels}


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
    reference: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Spend per period per channel that maximises the expected outcome (see module doc).

    With ``ensemble`` (bootstrap refits), the objective is the outcome averaged over
    ``model`` and the ensemble: the best decision when the curves are uncertain, rather
    than the best decision for one estimate of them. With a ``reference`` split (the
    historical one) the result is pulled back toward it as far as the refits disagree
    about the gain (see :func:`hedge_toward`).
    """
    channels = model.channels
    defaults = default_bounds(model, budget)
    chosen = with_defaults(model, budget, bounds)
    for c, (low, high) in list(chosen.items()):
        if c in defaults and np.isnan(high):  # nan: "the default maximum"
            chosen[c] = (low, max(defaults[c][1], low))
    missing = [c for c in channels if c not in (bounds or {})]
    hint = (
        "; by default a channel gets at least the least spend its history measured and at most its largest past"
        " spend per period, both scaled with the budget"
        if missing
        else ""
    )
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
    if reference is not None:
        start = _project(np.array([float(reference[c]) for c in channels]), lower, upper, budget)
        best_x = hedge_toward(best_x, start, lambda x: member_totals(members, channels, x))
    return {c: float(v) for c, v in zip(channels, best_x, strict=True)}


def member_totals(members: Sequence[ResponseModel], channels: Sequence[str], x: np.ndarray) -> np.ndarray:
    """Total outcome per period of spend ``x`` under every member's curves (one value per
    member; a member whose curves hold arrays of parameters counts as that many members)."""
    out = []
    for member in members:
        total: np.ndarray | float = 0.0
        for c, v in zip(channels, x, strict=True):
            curve = member.curves[c]
            each = getattr(curve, "member_outcomes", None)
            total = total + (each(float(v)) if each is not None else curve.steady_outcome(float(v)))
        out.append(np.atleast_1d(np.asarray(total, dtype=float)))
    return np.concatenate(out)


HEDGE_QUANTILE = 20  # percentile of the refits' gains the hedge protects


def hedge_toward(best: np.ndarray, reference: np.ndarray, totals: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """The point on the line from ``reference`` (the historical split) to ``best`` whose gain
    over the reference is largest in the pessimistic case - the 20th percentile over the fit
    and its refits - and never negative on average.

    Where the refits agree, that is ``best`` itself; where they disagree (curves the data
    pins down poorly) the plan moves only part of the way, and not at all when a move is
    as likely to lose as to win. A plan that does no worse than the current split on the
    fitted curves is the floor, whatever the fit.
    """
    base = totals(reference)
    if base.size < 3 or np.allclose(best, reference):
        return best
    chosen, chosen_score = reference, 0.0
    for t in np.linspace(0.1, 1.0, 10):
        x = reference + t * (best - reference)
        gains = totals(x) - base
        score = float(np.percentile(gains, HEDGE_QUANTILE))
        if gains.mean() >= 0 and score > chosen_score + 1e-12 * max(1.0, float(np.abs(base).mean())):
            chosen, chosen_score = x, score
    return chosen


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
    country: str | None = None,
    events: Sequence[Event] = (),
    seasonality: bool = True,
) -> BudgetPlan:
    """Product API: fit curves on ``history`` and split ``budget`` (per period) across channels.

    ``history`` holds one row per period in time order with the ``target`` (revenue or
    conversions), one spend column per channel and optional numeric ``controls``. With a
    DatetimeIndex (and ``seasonality``) the fit has a baseline of trend, yearly and weekly
    seasonality, ``country`` holidays and ``events`` (``insights.ml.baseline``); without
    dates the baseline is the intercept and controls only. Returns a :class:`BudgetPlan`
    whose ``table`` has one row per channel plus ``total``: ``channel, spend,
    expected_outcome, expected_outcome_low, expected_outcome_high, marginal_roas,
    current_spend, current_outcome``. Outcomes are the media-driven outcome per period at
    steady state (the baseline does not depend on the split), averaged over the fit and its
    ``bootstrap`` refits; ``*_low``/``*_high`` is the 80% bootstrap band, widened where the
    plan spends beyond the history. ``current_*`` is the historical split scaled to
    ``budget``. ``bounds`` maps channel -> (min, max) spend per period (default: 0 to the
    largest spend the channel has had, scaled up with a budget above the historical one).
    ``lift_tests`` calibrate the curves with experiment results (``insights.ml.response``);
    each bootstrap refit redraws every test's lift from its standard error. Warnings (budget
    beyond history, channels whose spend never varied) are in ``warnings`` and
    ``table.attrs["warnings"]``.
    """
    if not np.isfinite(budget) or budget <= 0:
        raise InputError(f"the budget must be a number greater than zero, got {budget:g}")
    terms = None
    if seasonality and isinstance(history.index, pd.DatetimeIndex):
        terms = baseline_features(
            history.index, country=country, events=events, media_columns=3 * len(channels) + len(controls)
        )
    model = fit_response_model(
        history,
        target=target,
        channels=channels,
        controls=controls,
        saturation=saturation,
        restarts=restarts,
        seed=seed,
        lift_tests=lift_tests,
        baseline=terms,
    )
    historical_total = sum(model.historical_spend.values())
    if budget > MAX_BUDGET_RATIO * historical_total:
        raise InputError(
            f"the budget {budget:g} is more than {MAX_BUDGET_RATIO:g} times the historical budget"
            f" ({historical_total:g} per period): the history says nothing about spending that much"
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
                terms,
                model.prior_weight,
            )
        )
    if refits:
        model = with_member_floors(model, refits)
    current = historical_split(model, budget)
    chosen, warnings = _bounds_with_warnings(history, model, budget, bounds, current)
    allocation = optimize_allocation(model, budget, bounds=chosen, ensemble=refits, seed=seed, reference=current)
    warnings += extrapolation_warnings(model, allocation)
    members = [model, *refits]

    def outcomes(spend: Mapping[str, float]) -> np.ndarray:
        """(members, channels): outcome per period of ``spend`` under every member's curves."""
        return np.array([[m.channel_outcomes(spend)[c] for c in channels] for m in members])

    planned, at_current = outcomes(allocation), outcomes(current)
    widen = extrapolation_factor(model, allocation)
    planned_spread = widened_band(planned, widen)
    spread, spread_current = (planned_spread[1:], at_current[1:]) if refits else (planned_spread, at_current)
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
    gains = widened_band(planned - at_current, widen)
    gains = (gains[1:] if refits else gains).sum(axis=1)
    table = pd.DataFrame(rows, columns=PLAN_COLUMNS)
    table.attrs.update(
        model_version=MODEL_VERSION,
        r_squared=model.r_squared,
        periods=len(history),
        uplift=expected_total - current_total,
        uplift_band=(float(np.percentile(gains, 10)), float(np.percentile(gains, 90))),
        warnings=list(warnings),
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
        warnings=tuple(warnings),
    )


def with_member_floors(model: ResponseModel, refits: Sequence[ResponseModel]) -> ResponseModel:
    """``model`` with each channel's floor (``min_spend``) the median of the floors of the fit and
    its refits: the floor depends on the fitted decay (a longer carry-over smooths the adstock and
    raises it), and one fit's decay is one draw of what the data allow."""
    members = [model, *refits]
    floors = {
        c: float(np.median([m.min_spend[c] for m in members if c in m.min_spend]))
        for c in model.channels
        if c in model.min_spend
    }
    return replace(model, min_spend=floors)


MAX_BUDGET_RATIO = 1000.0  # beyond this multiple of the historical budget a plan is fiction
_CONSTANT_SPEND = 0.01  # coefficient of variation below which a channel's spend "never changed"


def _bounds_with_warnings(
    history: pd.DataFrame,
    model: ResponseModel,
    budget: float,
    bounds: Mapping[str, tuple[float, float]] | None,
    current: Mapping[str, float],
) -> tuple[dict[str, tuple[float, float]], list[str]]:
    """The bounds to plan with, plus what the caller must know about them.

    A channel whose spend never varied has no curve the data can show (its adstock is a
    constant, indistinguishable from the intercept); unless the caller bounded it, it keeps
    its historical share of the budget rather than being moved on a guess.
    """
    chosen = dict(bounds or {})
    warnings = []
    for c in model.channels:
        spend = history[c].to_numpy(dtype=float)
        if c not in chosen and spend.std() <= _CONSTANT_SPEND * max(spend.mean(), 1e-12):
            chosen[c] = (current[c], current[c])
            warnings.append(
                f"channel {c}'s spend never changed in the history, so its response cannot be measured;"
                " it keeps its historical share of the budget"
            )
    seen = sum(model.max_spend.values())
    if budget > seen:
        warnings.append(
            f"the budget {budget:g} is above the largest total spend seen ({seen:g} per period): the curves"
            " are extrapolated there, so the expected outcome is a rough guide and its band is wider"
        )
    return chosen, warnings


def extrapolation_factor(model: ResponseModel, allocation: Mapping[str, float]) -> float:
    """How far beyond its largest past spend the plan pushes any channel (1 = within history)."""
    ratios = [allocation[c] / model.max_spend[c] for c in model.channels if model.max_spend[c] > 0]
    return max([1.0, *ratios])


def extrapolation_warnings(model: ResponseModel, allocation: Mapping[str, float]) -> list[str]:
    return [
        f"channel {c} gets {allocation[c]:g} per period, above its largest past spend ({model.max_spend[c]:g}):"
        " its curve is extrapolated there"
        for c in model.channels
        if allocation[c] > model.max_spend[c] * (1 + 1e-6)
    ]


def widened_band(values: np.ndarray, factor: float) -> np.ndarray:
    """Members' values spread ``factor`` times further from their mean (rows are members):
    beyond the history the curves are extrapolated, and the band says so."""
    if factor <= 1.0 or values.shape[0] < 2:
        return values
    mean = values.mean(axis=0, keepdims=True)
    return mean + (values - mean) * factor
