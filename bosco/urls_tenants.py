"""URLs of a workspace host (<slug>.<BOSCO_DOMAIN>). Every view here runs in the workspace schema."""

from django.urls import include, path

urlpatterns = [
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls_workspace")),
    path("", include("insights.urls")),
]
