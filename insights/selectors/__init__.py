"""Reads of the insights app: one module per kind of read, one page selector per page.

- `results`: what the models stored (anomaly findings, forecasts, model versions, attribution
  imports, budget scenarios), for the insight pages and the dashboards' overlays;
- `series`: daily metric series for the models, through the warehouse's metrics layer;
- `dashboards` (with its URL state, `dashboard_state`): the dashboards' questions and answers;
- `pages`: one typed page object per insight page (what its view renders).

The reads of `results` are re-exported here, so `from insights import selectors` then
`selectors.anomalies_for(...)` reads like every other app's selectors.
"""

from insights.selectors.results import (
    SEVERITY_ORDER,
    ForecastEntity,
    ForecastSeries,
    anomalies_for,
    anomaly_counts,
    anomaly_get,
    anomaly_metrics_present,
    attribution_import_get,
    attribution_imports,
    attribution_journeys_latest,
    attribution_results,
    budget_curves_latest,
    budget_scenario_get,
    budget_scenarios,
    finding_filter_q,
    forecast_entities,
    forecasts_for,
    forecasts_for_many,
    has_any_findings,
    model_version_get,
    model_versions,
    registry_summary,
    scoring_latest,
    severities_at_least,
)

__all__ = [
    "SEVERITY_ORDER",
    "ForecastEntity",
    "ForecastSeries",
    "anomalies_for",
    "anomaly_counts",
    "anomaly_get",
    "anomaly_metrics_present",
    "attribution_import_get",
    "attribution_imports",
    "attribution_journeys_latest",
    "attribution_results",
    "budget_curves_latest",
    "budget_scenario_get",
    "budget_scenarios",
    "finding_filter_q",
    "forecast_entities",
    "forecasts_for",
    "forecasts_for_many",
    "has_any_findings",
    "model_version_get",
    "model_versions",
    "registry_summary",
    "scoring_latest",
    "severities_at_least",
]
