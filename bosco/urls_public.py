"""URLs of the public site (the bare BOSCO_DOMAIN): marketing pages, sign-up, admin."""

from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Bosco support"
admin.site.site_title = "Bosco support"
admin.site.index_title = "Workspaces, people and subscriptions"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls_public")),
]
