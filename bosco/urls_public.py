"""URLs of the public site (the bare BOSCO_DOMAIN): marketing pages, sign-up, admin, the shared OAuth callback."""

from django.contrib import admin
from django.urls import include, path

from bosco.metrics import metrics_view
from connectors import views_public as connectors_public

urlpatterns = [
    # accounts.admin_site.StaffAdminSite: staff who passed allauth's sign-in and second factor.
    path("admin/", admin.site.urls),
    # Prometheus scrape endpoint, bearer-token protected (404 unless BOSCO_METRICS_TOKEN is set).
    path("metrics", metrics_view, name="metrics"),
    path("accounts/", include("allauth.urls")),
    # The one OAuth redirect URI registered with Google and Meta; hands the answer to the workspace.
    path("oauth/callback/", connectors_public.oauth_callback, name="oauth_callback"),
    # Shopify's webhooks (HMAC-signed; orders, uninstall and the GDPR topics), routed to workspaces.
    path("shopify/webhooks/", connectors_public.shopify_webhook, name="shopify_webhook"),
    # Shopify's app URL: a signed link from the Shopify admin, explained and sent to Data sources.
    path("shopify/install/", connectors_public.shopify_install, name="shopify_install"),
    # First-party tracking: the snippet's beacons and the versioned snippet itself (docs/tracking.md).
    path("", include("tracking.urls_public")),
    # Stripe's webhook endpoint (signed; the only CSRF-exempt view).
    path("billing/", include("billing.urls_public")),
    # Digest unsubscribe links (signed; the one-click POST carries no CSRF token, RFC 8058).
    path("", include("digests.urls_public")),
    path("", include("accounts.urls_public")),
]
