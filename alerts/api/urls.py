"""Paths of the alerts API under /api/v1/ (included by bosco/urls_api.py)."""

from django.urls import path

from alerts.api.views import IncidentViewSet, RuleViewSet

urlpatterns = [
    path("alerts/rules", RuleViewSet.as_view({"get": "list", "post": "create"}), name="api-alert-rules"),
    path(
        "alerts/rules/<str:rule_id>",
        RuleViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="api-alert-rule",
    ),
    path("alerts/incidents", IncidentViewSet.as_view({"get": "list"}), name="api-alert-incidents"),
    path("alerts/incidents/<str:incident_id>", IncidentViewSet.as_view({"get": "retrieve"}), name="api-alert-incident"),
    path(
        "alerts/incidents/<str:incident_id>/resolve",
        IncidentViewSet.as_view({"post": "resolve"}),
        name="api-alert-incident-resolve",
    ),
]
