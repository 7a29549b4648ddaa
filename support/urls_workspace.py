"""Mounted at /auth/handoff/support/ on workspace hosts (the handoff prefix is open to signed-out visitors)."""

from django.urls import path

from support import views

urlpatterns = [
    path("", views.impersonation_enter, name="support_impersonation_enter"),
    path("end/", views.impersonation_end, name="support_impersonation_end"),
]
