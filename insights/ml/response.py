"""Response curves: how a channel's spend turns into outcome (revenue or conversions).

Model, per period t::

    outcome_t = intercept + sum_k gamma_k * control_k,t + sum_c beta_c * sat_c(adstock_c,t) + noise
    adstock_c,t = spend_c,t + theta_c * adstock_c,t-1          (geometric carry-over)
    sat(a) = a^s / (a^s + K^s)                                 (Hill; or logistic tanh(a / 2L))

* Why: carry-over (adstock) and diminishing returns (saturation) are the two effects a
  budget decision depends on; this is the standard MMM form (Jin et al. 2017), the family
  the reference data was generated from (there with a logistic curve).
* Fitting: non-linear least squares with variable projection. For given (theta, K, s) per
  channel the model is linear in intercept, control coefficients and beta >= 0: the free
  columns are projected out and beta comes from non-negative least squares (NNLS), exactly.
  scipy's ``least_squares`` then searches only the 3 non-linear parameters per channel,
  from several starting points (best SSE wins), with a Jacobian that rebuilds only the
  channel whose parameter moved.
  Bounds: theta in [0, 0.9]; K between 0.1x and 10x the channel's mean adstocked spend;
  s in [0.3, 1] - concave curves only: S-shapes are weakly identified from observational
  spend and produce all-or-nothing allocations. Spend and outcome are rescaled internally
  so one set of bounds fits euros, cents or conversions alike.
* Priors (history with dates only: a decay prior needs the period's length). Weak Gaussian
  priors on the weekly decay, log K and the shape, and a shared prior on the channels'
  average returns: log(channel's outcome per unit of spend over the history / the pooled
  outcome per unit of spend of all channels) ~ N(0, 0.9) - every channel gets the same prior
  return, the way Meridian's default ROI prior does (its log-sd 0.9), centred on the data's
  own pooled return so it needs no units. All are residual rows ``sigma * z`` (sigma of a first
  fit without them), so they weigh like the data's own noise. Why the return prior: once the
  baseline takes trend and season, a high-carry-over channel's slow effect looks like baseline,
  and the least-squares fit can set a channel with a third of the spend to no effect at all
  for a 2-sigma^2 gain in SSE (the recovery test's daily seed 13; the plan then cut it to
  nothing and lost 2x the oracle's uplift). The return is evaluated at the effects NNLS gives
  each curve shape (the variable projection stays exact), so the prior steers the shapes
  towards ones whose effects are plausible rather than shrinking the effects themselves.
  The penalised fit is multi-started: its optimum can be in another basin than the plain fit's.
* Steady state (used for budgeting): spending x every period gives adstock x / (1 - theta).
* Calibration with experiments (``lift_tests``): spend data alone often cannot tell apart
  channels whose spend moves together. A lift test (a holdout or geo experiment: spend per
  period moved from ``spend_before`` to ``spend_after``, incremental outcome per period
  ``lift`` measured with standard error ``lift_sd``) adds one observation of the curve's
  steady-state difference, ``beta_c * (sat(after) - sat(before))``, weighted against the
  daily residuals as ``sigma / lift_sd`` (sigma from a first fit without the tests): the
  Gaussian likelihood of both kinds of evidence. The difference is linear in beta, so the
  tests are extra rows of the same NNLS and the variable projection stays exact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy.optimize import least_squares, nnls
from scipy.signal import lfilter

from insights.ml.baseline import period_days
from insights.ml.errors import InputError

SATURATIONS = ("hill", "logistic")
_THETA_MAX = 0.9  # per week: a half-life of at most ~6.6 weeks (per day: 0.9 ** (1/7))
# Weak priors on the curve shapes (see module doc), as (centre, standard deviation): the weekly
# decay, log of K relative to the mean adstock, and the Hill shape.
_PRIOR_DECAY = (0.4, 0.3)
_PRIOR_LOG_K = (0.0, 0.7)
_PRIOR_SHAPE = (1.0, 0.35)
# Shared prior on the channels' average returns (see module doc): log of a channel's outcome per
# unit of spend relative to the pooled one ~ N(0, 0.9), the spread of Meridian's default ROI
# prior; the floor keeps the log finite for a channel fitted at no effect at all.
_PRIOR_LOG_RETURN_SD = 0.9
_RETURN_FLOOR = 0.02
_K_REL = (0.1, 10.0)
_SHAPE = (0.3, 1.0)


@dataclass(frozen=True)
class ChannelCurve:
    """Fitted response of one channel, in the caller's units."""

    channel: str
    decay: float  # theta: share of last period's adstock carried over
    half_saturation: float  # K, in adstocked-spend units
    shape: float  # s (Hill) – unused by the logistic curve
    max_effect: float  # beta: outcome per period at full saturation
    saturation: str = "hill"

    def saturate(self, adstock: np.ndarray) -> np.ndarray:
        a = np.maximum(np.asarray(adstock, dtype=float), 0.0)
        if self.saturation == "logistic":
            return np.tanh(a / (2.0 * self.half_saturation))
        ratio = np.power(a / self.half_saturation, self.shape)
        return ratio / (1.0 + ratio)

    def saturate_slope(self, adstock: np.ndarray) -> np.ndarray:
        a = np.maximum(np.asarray(adstock, dtype=float), 1e-12)
        if self.saturation == "logistic":
            return (1.0 - np.tanh(a / (2.0 * self.half_saturation)) ** 2) / (2.0 * self.half_saturation)
        ratio = np.power(a / self.half_saturation, self.shape)
        return self.shape * ratio / (a * (1.0 + ratio) ** 2)

    def steady_outcome(self, spend_per_period: np.ndarray | float) -> np.ndarray:
        """Outcome per period when ``spend_per_period`` is spent every period."""
        return self.max_effect * self.saturate(np.asarray(spend_per_period, dtype=float) / (1.0 - self.decay))

    def marginal_return(self, spend_per_period: np.ndarray | float) -> np.ndarray:
        """d outcome / d spend at steady state (marginal ROAS when the outcome is revenue)."""
        scale = 1.0 / (1.0 - self.decay)
        return self.max_effect * self.saturate_slope(np.asarray(spend_per_period, dtype=float) * scale) * scale


@dataclass(frozen=True)
class LiftTest:
    """An experiment's result on one channel, per period at steady state (see module doc)."""

    channel: str
    spend_before: float
    spend_after: float
    lift: float  # measured incremental outcome per period of spend_after over spend_before
    lift_sd: float  # its standard error (> 0)


@dataclass(frozen=True)
class ResponseModel:
    """All channel curves plus the linear baseline, fitted on one history."""

    curves: dict[str, ChannelCurve]
    intercept: float
    control_coefficients: dict[str, float]
    control_means: dict[str, float]
    historical_spend: dict[str, float]  # mean spend per period
    max_spend: dict[str, float]  # largest spend per period seen
    fitted: np.ndarray
    residuals: np.ndarray
    r_squared: float
    sse: float
    lift_tests: tuple[LiftTest, ...] = ()
    lift_weight: float = 0.0  # sigma of the first fit, in target units (see module doc)
    #: coefficients of the baseline terms (trend, seasonality, holidays; ``insights.ml.baseline``),
    #: per unit of the centred, scaled term: they average to zero over the history
    baseline_terms: dict[str, float] = field(default_factory=dict)
    prior_weight: float = 0.0  # the priors' sigma (scaled units): the refits reuse it
    #: the least steady spend per period the history measured the curve at: the spend whose
    #: steady adstock equals the 5th percentile of the adstock seen (under the fitted decay).
    #: Below it the curve is extrapolated toward zero, as above ``max_spend`` (empty: no floor)
    min_spend: dict[str, float] = field(default_factory=dict)

    @property
    def channels(self) -> list[str]:
        return list(self.curves)

    def baseline(self) -> float:
        return self.intercept + sum(self.control_coefficients[k] * self.control_means[k] for k in self.control_means)

    def channel_outcomes(self, allocation: Mapping[str, float]) -> dict[str, float]:
        return {c: float(self.curves[c].steady_outcome(allocation[c])) for c in self.curves}

    def media_outcome(self, allocation: Mapping[str, float]) -> float:
        return float(sum(self.channel_outcomes(allocation).values()))


@dataclass(frozen=True)
class _Problem:
    """Scaled arrays for fitting."""

    spend: np.ndarray  # (n, C), each column divided by its mean
    controls: np.ndarray  # (n, k), standardised
    target: np.ndarray  # (n,), divided by its std
    spend_scale: np.ndarray
    control_mean: np.ndarray
    control_std: np.ndarray
    target_scale: float
    saturation: str
    free_basis: np.ndarray  # orthonormal basis of [1, controls, baseline]: the unconstrained columns
    target_off_free: np.ndarray  # target with its projection on free_basis removed
    # lift tests (see module doc), one entry per test: channel index, scaled spend before and
    # after, weighted scaled lift, and weight sigma / lift_sd (empty: no tests)
    lift_channel: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    lift_spend: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    lift_target: np.ndarray = field(default_factory=lambda: np.zeros(0))
    lift_weight: np.ndarray = field(default_factory=lambda: np.zeros(0))
    baseline: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (n, b) baseline terms
    period_days: float = 7.0  # length of a period; unknown (no dates) counts as a week
    prior_weight: float = 0.0  # sigma of the residuals, scaled: weighs the priors (0 = none)

    @property
    def theta_max(self) -> float:
        return float(_THETA_MAX ** (self.period_days / 7.0))


def geometric_adstock(spend: np.ndarray, decay: float) -> np.ndarray:
    """a_t = x_t + decay * a_{t-1}, starting from the steady state of the first period (the
    history did not start from zero spend, so assuming so would bias the first weeks)."""
    x = np.asarray(spend, dtype=float)
    if x.size == 0:
        return x
    start = decay * x[0] / (1.0 - decay) if decay < 1 else 0.0
    out, _ = lfilter([1.0], [1.0, -decay], x, zi=[start])
    return out


#: percentile of the adstock seen below which a channel's curve counts as unmeasured
FLOOR_PERCENTILE = 5.0


def measured_floor(spend: np.ndarray, decay: float) -> float:
    """The steady spend per period whose adstock ``x / (1 - decay)`` equals the
    ``FLOOR_PERCENTILE``-th percentile of the adstock the history had (see ``min_spend``)."""
    if spend.size == 0 or decay >= 1:
        return 0.0
    return float(np.percentile(geometric_adstock(spend, decay), FLOOR_PERCENTILE) * (1.0 - decay))


def _channel_column(problem: _Problem, params: np.ndarray, c: int) -> np.ndarray:
    theta, log_k, shape = params[3 * c : 3 * c + 3]
    adstock = geometric_adstock(problem.spend[:, c], theta)
    k = np.exp(log_k) / (1.0 - theta)  # mean scaled spend is 1, so mean adstock is 1/(1-theta)
    if problem.saturation == "logistic":
        return np.tanh(adstock / (2.0 * k))
    ratio = np.power(np.maximum(adstock, 0.0) / k, shape)
    return ratio / (1.0 + ratio)


def _channel_features(problem: _Problem, params: np.ndarray) -> np.ndarray:
    return np.column_stack([_channel_column(problem, params, c) for c in range(problem.spend.shape[1])])


def _linear_solve(problem: _Problem, features: np.ndarray, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best beta >= 0 (and free intercept/controls) for fixed curve shapes.

    The free columns are projected out first, so what remains is a small non-negative least
    squares problem (Lawson-Hanson NNLS); returns (beta, residuals)."""
    basis = problem.free_basis
    off_free = features - basis @ (basis.T @ features)
    if problem.lift_weight.size and problem.lift_weight.any():
        off_free = np.vstack([off_free, _lift_rows(problem, params)])
        target = np.r_[problem.target_off_free, problem.lift_target]
    else:
        target = problem.target_off_free
    beta, _ = nnls(off_free, target)
    return beta, target - off_free @ beta


def _lift_rows(problem: _Problem, params: np.ndarray) -> np.ndarray:
    """One weighted row per lift test: the steady-state feature difference of its channel."""
    rows = np.zeros((problem.lift_channel.size, problem.spend.shape[1]))
    for j, c in enumerate(problem.lift_channel):
        theta, log_k, shape = params[3 * c : 3 * c + 3]
        steady = problem.lift_spend[j] / (1.0 - theta)
        k = np.exp(log_k) / (1.0 - theta)
        if problem.saturation == "logistic":
            saturated = np.tanh(steady / (2.0 * k))
        else:
            ratio = np.power(steady / k, shape)
            saturated = ratio / (1.0 + ratio)
        rows[j, c] = problem.lift_weight[j] * (saturated[1] - saturated[0])
    return rows


def _prior_rows(problem: _Problem, params: np.ndarray) -> np.ndarray:
    """Gaussian log-priors as residual rows, ``sigma * (p - centre) / sd`` (see module doc)."""
    if problem.prior_weight <= 0:
        return np.zeros(0)
    weekly_decay = np.power(np.clip(params[0::3], 0.0, None), 7.0 / problem.period_days)
    return problem.prior_weight * np.concatenate(
        [
            (weekly_decay - _PRIOR_DECAY[0]) / _PRIOR_DECAY[1],
            (params[1::3] - _PRIOR_LOG_K[0]) / _PRIOR_LOG_K[1],
            (params[2::3] - _PRIOR_SHAPE[0]) / _PRIOR_SHAPE[1],
        ]
    )


def _return_prior_rows(problem: _Problem, features: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Shared prior on the channels' average returns (see module doc): each channel's outcome
    per unit of spend over the history, relative to the pooled one of all channels, is
    log-normal around 1, as sigma * log(ratio + floor) / sd rows."""
    if problem.prior_weight <= 0 or _PRIOR_LOG_RETURN_SD <= 0 or beta.size < 2:
        return np.zeros(0)
    contribution = beta * features.mean(axis=0)  # scaled spend has mean 1 per channel
    spend = problem.spend_scale
    pooled = contribution.sum() / spend.sum()
    if pooled <= 0:
        return np.zeros(beta.size)
    ratio = contribution / spend / pooled
    return problem.prior_weight * np.log(ratio + _RETURN_FLOOR) / _PRIOR_LOG_RETURN_SD


def _rows(problem: _Problem, features: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Every residual row of the penalised fit: data (and lift tests), then the priors."""
    beta, fit = _linear_solve(problem, features, params)
    return np.r_[fit, _prior_rows(problem, params), _return_prior_rows(problem, features, beta)]


def _residuals(params: np.ndarray, problem: _Problem) -> np.ndarray:
    return _rows(problem, _channel_features(problem, params), params)


def _jacobian(params: np.ndarray, problem: _Problem) -> np.ndarray:
    """Forward-difference Jacobian that recomputes only the channel whose parameter moved
    (the numeric default would rebuild every channel for each of the 3C parameters)."""
    features = _channel_features(problem, params)
    base = _rows(problem, features, params)
    _, upper = _bounds(problem.spend.shape[1], problem.theta_max)
    jac = np.empty((base.size, params.size))
    for j in range(params.size):
        step = np.sqrt(np.finfo(float).eps) * max(1.0, abs(params[j]))
        if params[j] + step > upper[j]:
            step = -step
        moved = params.copy()
        moved[j] += step
        c = j // 3
        perturbed = features.copy()
        perturbed[:, c] = _channel_column(problem, moved, c)
        moved_rows = _rows(problem, perturbed, moved)
        jac[:, j] = (moved_rows - base) / step
    return jac


def _bounds(channels: int, theta_max: float = _THETA_MAX) -> tuple[np.ndarray, np.ndarray]:
    lower = np.tile([0.0, np.log(_K_REL[0]), _SHAPE[0]], channels)
    upper = np.tile([theta_max, np.log(_K_REL[1]), _SHAPE[1]], channels)
    return lower, upper


def _solve_nonlinear(problem: _Problem, starts: Sequence[np.ndarray]) -> tuple[np.ndarray, float]:
    lower, upper = _bounds(problem.spend.shape[1], problem.theta_max)
    best_params, best_cost = starts[0], np.inf
    for start in starts:
        x0 = np.clip(start, lower + 1e-6, upper - 1e-6)
        result = least_squares(
            _residuals, x0, jac=_jacobian, bounds=(lower, upper), args=(problem,), x_scale="jac", max_nfev=200
        )
        if result.cost < best_cost:
            best_params, best_cost = result.x, float(result.cost)
    return best_params, best_cost


def _starts(channels: int, restarts: int, rng: np.random.Generator, theta_max: float = _THETA_MAX) -> list[np.ndarray]:
    lower, upper = _bounds(channels, theta_max)
    default = np.tile([0.3, 0.0, 1.0], channels)
    starts = [default]
    for _ in range(max(restarts - 1, 0)):
        starts.append(rng.uniform(lower, upper))
    return starts


def _prepare(
    history: pd.DataFrame,
    target: str,
    channels: Sequence[str],
    controls: Sequence[str],
    saturation: str,
    baseline: pd.DataFrame | None = None,
) -> _Problem:
    spend = history[list(channels)].to_numpy(dtype=float)
    scale = spend.mean(axis=0)
    control_values = history[list(controls)].to_numpy(dtype=float) if controls else np.zeros((len(history), 0))
    control_mean = control_values.mean(axis=0) if controls else np.zeros(0)
    control_std = control_values.std(axis=0) if controls else np.zeros(0)
    control_std = np.where(control_std > 0, control_std, 1.0)
    y = history[target].to_numpy(dtype=float)
    y_scale = float(np.std(y)) or 1.0
    controls_scaled = (control_values - control_mean) / control_std
    terms = baseline.to_numpy(dtype=float) if baseline is not None else np.zeros((len(y), 0))
    free = np.column_stack([np.ones(len(y)), controls_scaled, terms])
    left, singular, _ = np.linalg.svd(free, full_matrices=False)
    basis = left[:, singular > singular[0] * 1e-10]  # a constant or duplicated control adds nothing
    scaled_target = y / y_scale
    return _Problem(
        spend / scale,
        controls_scaled,
        scaled_target,
        scale,
        control_mean,
        control_std,
        y_scale,
        saturation,
        basis,
        scaled_target - basis @ (basis.T @ scaled_target),
        baseline=terms,
        period_days=period_days(history.index) if isinstance(history.index, pd.DatetimeIndex) else 7.0,
    )


def _to_model(
    problem: _Problem,
    params: np.ndarray,
    history: pd.DataFrame,
    target: str,
    channels: Sequence[str],
    controls: Sequence[str],
    lift_tests: tuple[LiftTest, ...] = (),
    lift_weight: float = 0.0,
    baseline: pd.DataFrame | None = None,
) -> ResponseModel:
    features = _channel_features(problem, params)
    beta, residuals = _linear_solve(problem, features, params)
    residuals = residuals[: features.shape[0]]  # the daily residuals, without the lift-test rows
    free = np.column_stack([np.ones(features.shape[0]), problem.controls, problem.baseline])
    free_coefs, *_ = np.linalg.lstsq(free, problem.target - features @ beta, rcond=None)
    coefficients = np.r_[free_coefs, beta]
    y_scale = problem.target_scale
    k_controls = len(controls)
    k_free = free.shape[1]
    control_coefs = coefficients[1 : 1 + k_controls] * y_scale / problem.control_std
    term_names = list(baseline.columns) if baseline is not None else []
    term_coefs = coefficients[1 + k_controls : k_free] * y_scale
    intercept = coefficients[0] * y_scale - float(np.sum(control_coefs * problem.control_mean))
    curves = {}
    for c, name in enumerate(channels):
        theta, log_k, shape = params[3 * c : 3 * c + 3]
        k = np.exp(log_k) / (1.0 - theta) * problem.spend_scale[c]
        curves[name] = ChannelCurve(
            name,
            float(theta),
            float(k),
            float(shape),
            float(coefficients[k_free + c] * y_scale),
            problem.saturation,
        )
    y = history[target].to_numpy(dtype=float)
    fitted = y - residuals * y_scale
    sse = float(np.sum((residuals * y_scale) ** 2))
    total = float(np.sum((y - y.mean()) ** 2)) or 1.0
    spend = history[list(channels)]
    return ResponseModel(
        curves=curves,
        intercept=float(intercept),
        control_coefficients={k: float(v) for k, v in zip(controls, control_coefs, strict=True)},
        control_means={k: float(v) for k, v in zip(controls, problem.control_mean, strict=True)},
        historical_spend={c: float(spend[c].mean()) for c in channels},
        max_spend={c: float(spend[c].max()) for c in channels},
        fitted=fitted,
        residuals=residuals * y_scale,
        r_squared=1.0 - sse / total,
        sse=sse,
        lift_tests=lift_tests,
        lift_weight=lift_weight,
        baseline_terms={str(k): float(v) for k, v in zip(term_names, term_coefs, strict=True)},
        prior_weight=problem.prior_weight,
        min_spend={name: measured_floor(spend[name].to_numpy(dtype=float), curves[name].decay) for name in channels},
    )


def fit_response_model(
    history: pd.DataFrame,
    *,
    target: str,
    channels: Sequence[str],
    controls: Sequence[str] = (),
    saturation: str = "hill",
    restarts: int = 8,
    seed: int = 0,
    lift_tests: Sequence[LiftTest] = (),
    baseline: pd.DataFrame | None = None,
    priors: bool = True,
) -> ResponseModel:
    """Fit adstock + saturation curves for ``channels`` and a linear effect for ``controls``.

    ``history`` has one row per period (day or week) in time order. ``saturation`` is
    "hill" (default; flexible S- or C-shape) or "logistic". ``lift_tests`` calibrate the
    curves with experiment results (see module doc). ``baseline`` holds one row per period of
    baseline terms (``insights.ml.baseline.baseline_features``: trend, seasonality, holidays),
    fitted with free coefficients alongside the controls. Raises InputError when the data
    cannot support a fit.
    """
    if saturation not in SATURATIONS:
        raise InputError(f"saturation must be one of {', '.join(SATURATIONS)}")
    _validate_history(history, target, channels, controls)
    if baseline is not None and len(baseline) != len(history):
        raise InputError("the baseline terms need one row per period of the history")
    tests = _validate_lift_tests(lift_tests, channels)
    problem = _prepare(history, target, channels, controls, saturation, baseline)
    rng = np.random.default_rng(seed)
    starts = _starts(len(channels), restarts, rng, problem.theta_max)
    # only with dates: a decay prior needs to know how long a period is (a day or a week)
    with_priors = priors and isinstance(history.index, pd.DatetimeIndex)
    # With priors, the fit without them only sets their weight (one start is enough for sigma);
    # the penalised fit then gets every start: its optimum can lie in another basin (a channel
    # the unpenalised fit left at no effect, its slow carry-over taken by the baseline).
    params, cost = _solve_nonlinear(problem, starts[:1] if with_priors else starts)
    # the priors weigh as much as the residuals' own noise says: sigma from the fit without them
    free = problem.free_basis.shape[1] + 4 * len(channels)
    sigma = float(np.sqrt(2.0 * cost / max(len(history) - free, 1)))
    if with_priors and sigma > 0:
        problem = replace(problem, prior_weight=sigma)
        params, _ = _solve_nonlinear(problem, [params, *starts])
    if not tests:
        return _to_model(problem, params, history, target, channels, controls, baseline=baseline)
    first = _to_model(problem, params, history, target, channels, controls, baseline=baseline)
    dof = max(len(history) - 1 - len(controls) - problem.baseline.shape[1] - 4 * len(channels), 1)
    sigma = float(np.sqrt(first.sse / dof)) or 1e-12
    problem = _with_lift_tests(problem, channels, tests, sigma)
    params, _ = _solve_nonlinear(problem, [params, *starts])
    return _to_model(problem, params, history, target, channels, controls, tests, sigma, baseline)


def refit_on(
    model_params: np.ndarray,
    history: pd.DataFrame,
    target: str,
    channels: Sequence[str],
    controls: Sequence[str],
    saturation: str,
    lift_tests: Sequence[LiftTest] = (),
    lift_weight: float = 0.0,
    baseline: pd.DataFrame | None = None,
    prior_weight: float = 0.0,
) -> ResponseModel:
    """Refit from known non-linear parameters (used by the bootstrap: one start, warm).

    ``lift_tests`` are weighted with the first fit's ``lift_weight`` (its sigma), the priors
    with its ``prior_weight``."""
    problem = replace(_prepare(history, target, channels, controls, saturation, baseline), prior_weight=prior_weight)
    tests = tuple(lift_tests)
    if tests:
        problem = _with_lift_tests(problem, channels, tests, lift_weight)
    params, _ = _solve_nonlinear(problem, [model_params])
    return _to_model(problem, params, history, target, channels, controls, tests, lift_weight, baseline)


def _with_lift_tests(problem: _Problem, channels: Sequence[str], tests: Sequence[LiftTest], sigma: float) -> _Problem:
    index = [list(channels).index(t.channel) for t in tests]
    scale = problem.spend_scale[index]
    weight = np.array([sigma / t.lift_sd for t in tests])
    return replace(
        problem,
        lift_channel=np.array(index, dtype=int),
        lift_spend=np.array([[t.spend_before, t.spend_after] for t in tests]) / scale[:, None],
        lift_target=weight * np.array([t.lift for t in tests]) / problem.target_scale,
        lift_weight=weight,
    )


def _validate_lift_tests(tests: Sequence[LiftTest], channels: Sequence[str]) -> tuple[LiftTest, ...]:
    for number, test in enumerate(tests, start=1):
        where = f"lift test {number} ({test.channel})"
        if test.channel not in channels:
            raise InputError(f"lift test {number} names channel {test.channel!r}, which is not one of the channels")
        values = (test.spend_before, test.spend_after, test.lift, test.lift_sd)
        if not all(np.isfinite(float(v)) for v in values):
            raise InputError(f"{where}: spend, lift and lift_sd must be finite numbers")
        if test.spend_before < 0 or test.spend_after < 0:
            raise InputError(f"{where}: spend cannot be negative")
        if test.spend_before == test.spend_after:
            raise InputError(f"{where}: spend_before and spend_after are equal, so it measured no change")
        if test.lift_sd <= 0:
            raise InputError(f"{where}: lift_sd must be greater than 0")
    return tuple(tests)


def model_parameters(model: ResponseModel) -> np.ndarray:
    """The scaled non-linear parameter vector of a fitted model (inverse of ``_to_model``)."""
    values = []
    for name, curve in model.curves.items():
        scale = model.historical_spend[name]
        k_rel = curve.half_saturation * (1.0 - curve.decay) / scale
        values += [curve.decay, float(np.log(np.clip(k_rel, *_K_REL))), curve.shape]
    return np.array(values)


def with_target(history: pd.DataFrame, target: str, values: np.ndarray) -> pd.DataFrame:
    out = history.copy()
    out[target] = values
    return out


def _validate_history(history: pd.DataFrame, target: str, channels: Sequence[str], controls: Sequence[str]) -> None:
    if not channels:
        raise InputError("name at least one channel")
    needed = [target, *channels, *controls]
    missing = [c for c in needed if c not in history.columns]
    if missing:
        raise InputError(f"missing column(s): {', '.join(missing)}")
    for column in needed:
        values = pd.to_numeric(history[column], errors="coerce")
        if values.isna().any():
            row = int(np.flatnonzero(values.isna().to_numpy())[0]) + 1
            raise InputError(f"column {column} has a missing or non-numeric value in data row {row}")
        if not np.isfinite(values.to_numpy(dtype=float)).all():
            raise InputError(f"column {column} has an infinite value")
    for channel in channels:
        spend = history[channel].to_numpy(dtype=float)
        if (spend < 0).any():
            raise InputError(f"channel {channel} has negative spend")
        if spend.sum() <= 0:
            raise InputError(f"channel {channel} has no spend in the history")
    minimum = max(12, 3 * len(channels) + len(controls) + 4)
    if len(history) < minimum:
        raise InputError(
            f"need at least {minimum} periods of history for {len(channels)} channel(s), got {len(history)}"
        )
