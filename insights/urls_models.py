"""Insight pages under /insights/ (see insights/views/models.py)."""

from django.urls import path

from insights.views import events, incidents, lift_tests
from insights.views import models as views

app_name = "insights"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("run/", views.run_now, name="run"),
    path("anomalies/", incidents.anomalies, name="anomalies"),
    path("anomalies/incidents/<int:pk>/feedback/", incidents.incident_feedback, name="incident_feedback"),
    path("anomalies/<int:pk>/", views.anomaly_detail, name="anomaly"),
    path("forecasts/", views.forecasts, name="forecasts"),
    path("forecasts/events/", events.events, name="events"),
    path("forecasts/events/add/", events.event_add, name="event_add"),
    path("forecasts/events/country/", events.holiday_country, name="holiday_country"),
    path("forecasts/events/<int:pk>/edit/", events.event_edit, name="event_edit"),
    path("forecasts/events/<int:pk>/delete/", events.event_delete, name="event_delete"),
    path("attribution/", views.attribution, name="attribution"),
    path("attribution/import/", views.attribution_upload, name="attribution_upload"),
    path("attribution/sample.csv", views.attribution_sample, name="attribution_sample"),
    path("attribution/<int:pk>/", views.attribution_import, name="attribution_import"),
    path("attribution/<int:pk>/delete/", views.attribution_delete, name="attribution_delete"),
    path("budget/", views.budget, name="budget"),
    path("budget/scenarios/", views.budget_save, name="budget_save"),
    path("budget/scenarios/<int:pk>/delete/", views.budget_scenario_delete, name="budget_scenario_delete"),
    path("budget/lift-tests/", lift_tests.lift_test_add, name="lift_test_add"),
    path("budget/lift-tests/<int:pk>/delete/", lift_tests.lift_test_delete, name="lift_test_delete"),
    path("models/", views.registry, name="registry"),
]
