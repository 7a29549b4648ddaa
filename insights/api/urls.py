"""Paths of the insights API under /api/v1/ (included by bosco/urls_api.py); none published yet."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
