"""Budget planner services: fit response curves once a day, then allocate on them interactively."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from django.db import transaction

from bosco.platforms import platform_label
from insights import selectors
from insights.ml.budget import MODEL_VERSION as BUDGET_ALGORITHM
from insights.ml.budget import plan_budget
from insights.ml.errors import InputError
from insights.ml.planning import (
    PERIODS,
    FittedCurves,
    PlanResult,
    allocate,
    check_bounds,
    curves_from_params,
    curves_to_params,
    default_bounds,
    historical_budget,
)
from insights.models import BudgetScenario, ModelVersion, Scope
from insights.selectors.events import forecast_events, holiday_country
from insights.selectors.lift_tests import lift_tests_for_fit
from insights.selectors.series import Entity, channel_history, top_campaigns
from insights.services import versioning
from insights.services.common import InsightsError, current_workspace, jsonable, model_version_record, setting
from warehouse.metrics import metric_label
from warehouse.selectors.freshness import newest_complete_day

BUDGET_HISTORY_DAYS = 180
BUDGET_MIN_DAYS = 42
BUDGET_MIN_ACTIVE_DAYS = 28
BUDGET_TARGETS = ("conversion_value", "conversions")


# --------------------------------------------------------------------------- budget curves


def budget_default_target(history: pd.DataFrame) -> str:
    """Revenue when the workspace reports conversion value, else conversions (lead generation)."""
    return (
        "conversion_value"
        if float(history.get("conversion_value", pd.Series(dtype=float)).sum()) > 0
        else "conversions"
    )


def _budget_history(*, scope: str, as_of: date) -> tuple[pd.DataFrame, dict[str, str]]:
    """Daily spend per eligible channel plus outcomes, leading days without data trimmed."""
    labels: dict[str, str] = {}
    campaigns: list[Entity] = []
    if scope == Scope.CAMPAIGN:
        campaigns = top_campaigns(as_of=as_of, limit=setting("INSIGHTS_BUDGET_CAMPAIGNS", 8))
        labels = {c.key: c.label for c in campaigns}
    history = channel_history(scope=scope, as_of=as_of, days=BUDGET_HISTORY_DAYS, campaigns=campaigns)
    spend_columns = [c for c in history.columns if c.startswith("spend:")]
    if not spend_columns:
        return pd.DataFrame(), labels
    activity = history[spend_columns].sum(axis=1) + history["conversions"] + history["conversion_value"]
    active = np.flatnonzero(activity.to_numpy() > 0)
    if active.size == 0:
        return pd.DataFrame(), labels
    history = history.iloc[int(active[0]) :]
    keep = [c for c in spend_columns if int((history[c] > 0).sum()) >= BUDGET_MIN_ACTIVE_DAYS]
    renamed = history[keep].rename(columns=lambda c: c.removeprefix("spend:"))
    out = pd.concat([renamed, history[["conversions", "conversion_value"]]], axis=1)
    if scope != Scope.CAMPAIGN:
        labels = {c: platform_label(c) for c in renamed.columns}
    return out, labels


def budget_curves_fit(
    *, scope: str, target: str | None, as_of: date | None = None, bootstrap: int | None = None
) -> ModelVersion:
    """Fit response curves (and bootstrap refits) per platform or campaign; record the version.

    Expensive (seconds): the nightly task calls it for platforms and revenue, pages call it only
    when no fit of today exists. Raises InsightsError when the data cannot support a plan.
    """
    if scope not in (Scope.PLATFORM, Scope.CAMPAIGN):
        raise InsightsError("The planner works per platform or per campaign.")
    workspace = current_workspace()
    as_of = as_of or newest_complete_day(time_zone=workspace.time_zone)
    history, labels = _budget_history(scope=scope, as_of=as_of)
    if history.empty:
        raise InsightsError("There is no spend to plan with yet: connect a data source and let it sync.")
    target = target or budget_default_target(history)
    if target not in BUDGET_TARGETS:
        raise InsightsError("The planner optimises revenue or conversions.")
    channels = [c for c in history.columns if c not in ("conversions", "conversion_value")]
    if len(history) < BUDGET_MIN_DAYS:
        raise InsightsError(
            f"The planner needs {BUDGET_MIN_DAYS} days of spend history to fit response curves; this workspace has {len(history)}."
        )
    if len(channels) < 2:
        what = "campaigns" if scope == Scope.CAMPAIGN else "platforms"
        raise InsightsError(
            f"The planner needs at least two {what} that spent on {BUDGET_MIN_ACTIVE_DAYS} or more of the last {BUDGET_HISTORY_DAYS} days."
        )
    if float(history[target].sum()) <= 0:
        raise InsightsError("There are no conversions to plan for in the history.")
    refits = bootstrap if bootstrap is not None else setting("INSIGHTS_BUDGET_BOOTSTRAP", 20)
    frame = history[channels].copy()
    frame["__outcome"] = history[target].to_numpy(dtype=float)
    budget = float(frame[channels].mean().sum())
    # lift tests are per platform; a campaign-level fit has no channel they could calibrate
    lift_tests, lift_ids = lift_tests_for_fit(target=target, channels=channels) if scope == Scope.PLATFORM else ([], [])
    frame.index = pd.DatetimeIndex(history.index)  # dates: the baseline's weekdays, season and events
    try:
        plan = plan_budget(
            frame,
            target="__outcome",
            channels=channels,
            budget=budget,
            bootstrap=refits,
            lift_tests=lift_tests,
            country=holiday_country(),
            events=forecast_events(),
        )
    except InputError as exc:
        raise InsightsError(f"Response curves could not be fitted: {exc}") from exc
    params = {
        "scope": scope,
        "target": target,
        "bootstrap": refits,
        "lift_tests": lift_ids,
        **curves_to_params(plan.model, plan.refits, labels),
    }
    rows = [tuple(round(float(v), 4) for v in row) for row in frame.itertuples(index=False)]
    data_hash = versioning.data_hash([*rows, tuple(float(i) for i in lift_ids)])
    return model_version_record(
        kind=ModelVersion.Kind.BUDGET,
        name=f"{'Campaigns' if scope == Scope.CAMPAIGN else 'Platforms'} · {metric_label(target)}",
        algorithm=BUDGET_ALGORITHM,
        params=params,
        training_start=history.index[0].date(),
        training_end=history.index[-1].date(),
        metrics={
            "r_squared": plan.model.r_squared,
            "periods": len(frame),
            "channels": len(channels),
            "uplift_at_current_budget": plan.uplift,
            "uplift_band": list(plan.uplift_band),
            "current_outcome": plan.current_total,
            "lift_tests": len(lift_ids),
            "warnings": list(plan.warnings),
        },
        data_hash=data_hash,
    )


def budget_curves_get_or_fit(*, scope: str, target: str | None) -> ModelVersion:
    """Today's fitted curves for (scope, target), fitting them now if tonight's run has not."""
    workspace = current_workspace()
    as_of = newest_complete_day(time_zone=workspace.time_zone)
    latest = selectors.budget_curves_latest(scope=scope, target=target)
    if (
        latest is not None
        and latest.training_end is not None
        and latest.training_end >= as_of
        and _lift_tests_unchanged(latest, scope=scope)
    ):
        return latest
    try:
        return budget_curves_fit(scope=scope, target=target, as_of=as_of)
    except InsightsError:
        if latest is not None:
            return latest  # yesterday's curves beat no plan at all
        raise


def _lift_tests_unchanged(version: ModelVersion, *, scope: str) -> bool:
    """True when the workspace's lift tests are the ones `version` was fitted with: a test
    entered (or deleted) today refits the curves on the next plan instead of tomorrow night."""
    if scope != Scope.PLATFORM:
        return True
    target = str(version.params.get("target", ""))
    channels = list(version.params.get("channels", []))
    _, ids = lift_tests_for_fit(target=target, channels=channels)
    return sorted(version.params.get("lift_tests", [])) == ids


@dataclass(frozen=True)
class PlannerInput:
    scope: str = Scope.PLATFORM
    target: str | None = None
    period: str = "month"
    budget: float | None = None  # per period; None = the current (historical) budget
    bounds: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict)  # per period


@dataclass(frozen=True)
class PlannerView:
    version: ModelVersion
    curves: FittedCurves
    plan: PlanResult | None  # per period
    inputs: PlannerInput
    budget: float  # per period
    bounds: dict[str, tuple[float, float]]  # per period, every channel
    error: str | None = None
    #: what the reader must know about this plan (spend beyond the history), in page words
    warnings: tuple[str, ...] = ()

    @property
    def target(self) -> str:
        return str(self.version.params.get("target", "conversion_value"))

    @property
    def factor(self) -> float:
        return PERIODS[self.inputs.period]


def plan_budget_for_workspace(inputs: PlannerInput, *, money: Any = None) -> PlannerView:
    """The planner page's computation: stored curves, then only the allocation (fast).

    `inputs.budget` and `inputs.bounds` are per `inputs.period`; missing bounds default to 0 and
    the channel's largest past spend. A budget the bounds cannot hold comes back as
    `error` (with the default allocation left out) rather than an exception.
    """
    if inputs.period not in PERIODS:
        raise InsightsError("Choose a period: day, week or month.")
    version = budget_curves_get_or_fit(scope=inputs.scope, target=inputs.target)
    curves = curves_from_params(version.params)
    factor = PERIODS[inputs.period]
    budget = float(inputs.budget) if inputs.budget is not None else historical_budget(curves) * factor
    # a budget above the historical one scales the default maximums with it: planned, with a warning
    defaults = default_bounds(curves, budget / factor)
    bounds: dict[str, tuple[float, float]] = {}
    for channel in curves.channels:
        low, high = inputs.bounds.get(channel, (None, None))
        floor = defaults[channel][0] * factor
        lo = floor if low is None else float(low)
        hi = defaults[channel][1] * factor if high is None else float(high)
        # The page sends the default floor back as the channel's minimum (rounded for display): a
        # maximum set below it caps the channel, and the floor gives way rather than refuse the plan.
        if lo > hi and (low is None or abs(lo - floor) <= 1.0):
            lo = hi
        bounds[channel] = (lo, hi)
    if sum(low for low, _ in bounds.values()) > budget:  # default floors give way (budget.with_defaults)
        bounds = {
            c: (0.0 if inputs.bounds.get(c, (None, None))[0] is None else lo, hi) for c, (lo, hi) in bounds.items()
        }
    fmt = money or (lambda v: f"{v:,.0f}")
    error = check_bounds(budget, bounds, money=fmt, labels=curves.labels)
    plan = None
    if error is None:
        try:
            per_day = {c: (lo / factor, hi / factor) for c, (lo, hi) in bounds.items()}
            plan = allocate(curves, budget / factor, bounds=per_day).scaled(factor)
        except InputError as exc:
            error = str(exc)
    warnings = _extrapolation_notes(curves, plan, factor, fmt) if plan is not None else ()
    return PlannerView(
        version=version,
        curves=curves,
        plan=plan,
        inputs=inputs,
        budget=budget,
        bounds=bounds,
        error=error,
        warnings=warnings,
    )


def _extrapolation_notes(curves: FittedCurves, plan: PlanResult, factor: float, money: Any) -> tuple[str, ...]:
    """Where the plan spends beyond what the history has seen, said in the page's money and period."""
    notes = []
    seen = sum(curves.model.max_spend.values()) * factor
    if plan.budget > seen * (1 + 1e-9):
        notes.append(
            f"This budget is above the most the channels have ever spent together ({money(seen)}): "
            "the curves are extrapolated there, so read the expected outcome as a rough guide; its band is wider."
        )
    for row in plan.channels:
        most = curves.model.max_spend[row.channel] * factor
        if row.spend > most * (1 + 1e-6):
            notes.append(
                f"{row.label} gets {money(row.spend)}, above the most it has spent ({money(most)}): its curve is a guess there."
            )
    return tuple(notes)


@transaction.atomic
def budget_scenario_save(*, view: PlannerView, name: str, user_id: int | None) -> BudgetScenario:
    name = name.strip()
    if not name:
        raise InsightsError("Give the scenario a name.")
    if "\x00" in name:
        raise InsightsError("The scenario name cannot contain a NUL character.")
    if view.plan is None:
        raise InsightsError(view.error or "There is no plan to save.")
    return BudgetScenario.objects.create(
        name=name[:120],
        version=view.version,
        scope=view.inputs.scope,
        target=view.target,
        period=view.inputs.period,
        budget=view.budget,
        bounds={c: list(b) for c, b in view.bounds.items()},
        result=jsonable(view.plan.to_dict()),
        created_by_id=user_id,
    )


@transaction.atomic
def budget_scenario_delete(*, pk: int) -> None:
    BudgetScenario.objects.filter(pk=pk).delete()
