"""/api/v1/ on a workspace host. Each app contributes its endpoints here."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

import bosco.api.schema  # noqa: F401  (registers the OpenAPI auth schemes)
from accounts.api.views import WorkspaceView

urlpatterns = [
    path("workspace", WorkspaceView.as_view(), name="api-workspace"),
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
