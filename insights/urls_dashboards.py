"""Dashboard pages at the root of a workspace host (the overview is its home page)."""

from django.urls import path

from insights.views import dashboards, store

urlpatterns = [
    path("", dashboards.overview, name="workspace_home"),
    path("channels/", dashboards.channels, name="channels"),
    path("campaigns/", dashboards.campaigns, name="campaigns"),
    # Campaign ids are "platform:account:campaign" (the metrics layer's public id); no slashes.
    path("campaigns/<str:campaign_id>/", dashboards.campaign_detail, name="campaign_detail"),
    # The shop's orders, refunds, customers and products (Shopify).
    path("store/", store.store, name="store"),
    # The billing tab of Settings, until it moves to its app; see the view module's docstring.
    path("settings/billing/", dashboards.settings_billing, name="settings_billing"),
]
