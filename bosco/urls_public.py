"""URLs of the public site (the bare BOSCO_DOMAIN): marketing pages, sign-up, admin, the shared OAuth callback."""

from django.contrib import admin
from django.urls import include, path

from connectors import views_public as connectors_public

urlpatterns = [
    # accounts.admin_site.StaffAdminSite: staff who passed allauth's sign-in and second factor.
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    # The one OAuth redirect URI registered with Google and Meta; hands the answer to the workspace.
    path("oauth/callback/", connectors_public.oauth_callback, name="oauth_callback"),
    # Stripe's webhook endpoint (signed; the only CSRF-exempt view).
    path("billing/", include("billing.urls_public")),
    path("", include("accounts.urls_public")),
]
