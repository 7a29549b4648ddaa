"""Bosco's insight models: anomalies, forecasts, attribution and budget allocation.

Pure numpy / pandas / scipy / scikit-learn - nothing here imports Django, so the models
can be tested and benchmarked on their own (``python -m insights.ml ...``,
``python bench/insights_eval.py``). The Django side calls the functions re-exported here;
they are imported on first use so the CLI starts without loading every model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from insights.ml.anomaly import detect_anomalies, score_series
    from insights.ml.attribution import attribute
    from insights.ml.budget import BudgetPlan, optimize_allocation, plan_budget
    from insights.ml.errors import InputError
    from insights.ml.forecasting import backtest, forecast
    from insights.ml.response import ResponseModel, fit_response_model

_EXPORTS = {
    "detect_anomalies": "insights.ml.anomaly",
    "score_series": "insights.ml.anomaly",
    "forecast": "insights.ml.forecasting",
    "backtest": "insights.ml.forecasting",
    "attribute": "insights.ml.attribution",
    "plan_budget": "insights.ml.budget",
    "optimize_allocation": "insights.ml.budget",
    "BudgetPlan": "insights.ml.budget",
    "fit_response_model": "insights.ml.response",
    "ResponseModel": "insights.ml.response",
    "InputError": "insights.ml.errors",
}

__all__ = [
    "BudgetPlan",
    "InputError",
    "ResponseModel",
    "attribute",
    "backtest",
    "detect_anomalies",
    "fit_response_model",
    "forecast",
    "optimize_allocation",
    "plan_budget",
    "score_series",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'insights.ml' has no attribute {name!r}")
