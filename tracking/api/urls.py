"""Paths of the tracking API under /api/v1/ (included by bosco/urls_api.py)."""

from django.urls import path

from tracking.api.views import ErasureView

urlpatterns = [
    path("tracking/erasure", ErasureView.as_view(), name="api-tracking-erasure"),
]
