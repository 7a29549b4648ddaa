"""Data sources pages under /data-sources/ on a workspace host."""

from django.urls import path

from connectors import views, views_airbyte

app_name = "connectors"

urlpatterns = [
    path("", views.data_sources, name="data_sources"),
    path("connect/<str:platform>/", views.connect, name="connect"),
    path("oauth/callback/", views.oauth_callback, name="oauth_callback"),
    path("<int:pk>/", views.connection_detail, name="detail"),
    path("<int:pk>/accounts/", views.choose_accounts, name="accounts"),
    path("<int:pk>/sync/", views.sync_now, name="sync_now"),
    path("<int:pk>/pause/", views.pause, name="pause"),
    path("<int:pk>/resume/", views.resume, name="resume"),
    path("<int:pk>/reauthorize/", views.reauthorize, name="reauthorize"),
    path("<int:pk>/disconnect/", views.disconnect, name="disconnect"),
    path("<int:pk>/settings/", views.update_settings, name="settings"),
    # Airbyte sources (connectors/views_airbyte.py)
    path("airbyte/", views_airbyte.airbyte_sources, name="airbyte_sources"),
    path("airbyte/add/<str:source_key>/", views_airbyte.airbyte_add, name="airbyte_add"),
    path("<int:pk>/airbyte/", views_airbyte.airbyte_card, name="airbyte_card"),
    path("<int:pk>/airbyte/streams/", views_airbyte.airbyte_streams, name="airbyte_streams"),
    path("<int:pk>/airbyte/recheck/", views_airbyte.airbyte_recheck, name="airbyte_recheck"),
    path("<int:pk>/airbyte/schema-changes/", views_airbyte.airbyte_schema_ack, name="airbyte_schema_ack"),
    path("<int:pk>/airbyte/export/<str:stream>/", views_airbyte.airbyte_export, name="airbyte_export"),
]
