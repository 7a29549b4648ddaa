"""/api/v1/ on a workspace host. Each app contributes its endpoints here.

Paths have no trailing slash. Ids in paths are plain strings to the URL resolver and are
validated by the views, so a malformed id answers the same 404 problem as a missing one.
"""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

import bosco.api.schema  # noqa: F401  (registers the OpenAPI auth schemes)
from accounts.api.views import WorkspaceView
from connectors.api.views import ConnectionViewSet
from warehouse.api.views import CampaignViewSet, FactsCsvView, FactsParquetView, MetricsView

urlpatterns = [
    path("workspace", WorkspaceView.as_view(), name="api-workspace"),
    path("campaigns", CampaignViewSet.as_view({"get": "list"}), name="api-campaigns"),
    path("campaigns/<str:campaign_id>", CampaignViewSet.as_view({"get": "retrieve"}), name="api-campaign"),
    path("metrics", MetricsView.as_view(), name="api-metrics"),
    path("exports/facts.csv", FactsCsvView.as_view(), name="api-export-facts-csv"),
    path("exports/facts.parquet", FactsParquetView.as_view(), name="api-export-facts-parquet"),
    path("connections", ConnectionViewSet.as_view({"get": "list"}), name="api-connections"),
    path("connections/<str:connection_id>", ConnectionViewSet.as_view({"get": "retrieve"}), name="api-connection"),
    path(
        "connections/<str:connection_id>/sync", ConnectionViewSet.as_view({"post": "sync"}), name="api-connection-sync"
    ),
    path(
        "connections/<str:connection_id>/runs", ConnectionViewSet.as_view({"get": "runs"}), name="api-connection-runs"
    ),
    path(
        "connections/<str:connection_id>/runs/<str:run_id>",
        ConnectionViewSet.as_view({"get": "run"}),
        name="api-connection-run",
    ),
    path("", include("insights.api.urls")),
    path("", include("alerts.api.urls")),
    path("", include("tracking.api.urls")),
    path("schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]), name="api-schema"),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", authentication_classes=[], permission_classes=[]),
        name="api-docs",
    ),
    path(
        "redoc/",
        SpectacularRedocView.as_view(url_name="api-schema", authentication_classes=[], permission_classes=[]),
        name="api-redoc",
    ),
]
