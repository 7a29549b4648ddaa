"""URLs of a workspace host (<slug>.<BOSCO_DOMAIN>). Every view here runs in the workspace schema."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.defaults import page_not_found, server_error

from bosco.api.exceptions import api_not_found, api_server_error

urlpatterns = [
    path("api/v1/", include("bosco.urls_api")),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls_workspace")),
    path("settings/digests/", include("digests.urls")),
    path("settings/billing/", include("billing.urls_workspace")),
    path("settings/tracking/", include("tracking.urls")),
    path("", include("insights.urls")),
    path("data-sources/", include("connectors.urls")),
    path("alerts/", include("alerts.urls")),
    # Support's impersonation ticket (open to signed-out visitors, like the host handoff).
    path("auth/handoff/support/", include("support.urls_workspace")),
    path("data-sources/uploads/", include("uploads.urls")),
]


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return api_not_found(request, exception)
    return page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return api_server_error(request)
    return server_error(request)
