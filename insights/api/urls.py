"""Paths of the insights API under /api/v1/ (included by bosco/urls_api.py)."""

from django.urls import path

from insights.api.views import AnomaliesView, AttributionView, BudgetPlanView, ForecastsView

urlpatterns = [
    path("insights/anomalies", AnomaliesView.as_view(), name="api-insights-anomalies"),
    path("insights/forecasts", ForecastsView.as_view(), name="api-insights-forecasts"),
    path("insights/attribution", AttributionView.as_view(), name="api-insights-attribution"),
    path("insights/budget/plan", BudgetPlanView.as_view(), name="api-insights-budget-plan"),
]
