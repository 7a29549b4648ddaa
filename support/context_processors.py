"""The impersonation banner on every workspace page while support looks as a member."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def impersonation_banner(request: HttpRequest) -> dict[str, Any]:
    impersonation = getattr(request, "impersonation", None)
    return {"impersonation": impersonation} if impersonation is not None else {}
