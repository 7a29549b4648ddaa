"""Workspace pages about performance. The dashboards issue fills these in."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    return render(request, "workspace/overview.html", {"section": "overview"})
