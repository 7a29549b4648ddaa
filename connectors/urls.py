"""Data sources pages under /data-sources/ on a workspace host."""

from django.urls import path

from connectors import views

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
]
