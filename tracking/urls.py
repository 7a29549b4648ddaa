"""The Tracking tab of a workspace's Settings (names global: the settings tabs link them)."""

from django.urls import path

from tracking import views

urlpatterns = [
    path("", views.tracking_settings, name="settings_tracking"),
    path("save/", views.tracking_settings_save, name="tracking_settings_save"),
    path("rotate-key/", views.tracking_key_rotate, name="tracking_key_rotate"),
    path("erase/", views.tracking_erase, name="tracking_erase"),
]
