"""Bind each session to the host (schema) it signed in on."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from bosco.db import connection

SESSION_SCHEMA_KEY = "_bosco_schema"


@receiver(user_logged_in)
def _bind_session_to_host(sender: Any, request: Any, user: Any, **_: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return
    tenant = getattr(request, "tenant", None)
    request.session[SESSION_SCHEMA_KEY] = tenant.schema_name if tenant is not None else connection.schema_name
