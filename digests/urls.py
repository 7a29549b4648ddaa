"""The Digests tab of a workspace's Settings (names kept global: the settings tabs link them)."""

from django.urls import path

from digests import views

urlpatterns = [
    path("", views.digest_settings, name="settings_digests"),
    path("preview/", views.digest_preview, name="digests_preview"),
    path("send-now/", views.digest_send_now, name="digests_send_now"),
    path("branding/", views.digest_branding, name="digests_branding"),
]
