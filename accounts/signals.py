"""Bind each session to the host (schema) it signed in on; announce workspace changes to the apps above.

Accounts sits below the warehouse and the other tenant apps, so it never calls them: it sends a
signal, and each app that cares connects a receiver in its `AppConfig.ready` (the way
django-tenants announces `post_schema_sync`).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import Signal, receiver

from bosco.db import connection

SESSION_SCHEMA_KEY = "_bosco_schema"

#: A workspace's reporting currency changed; sent inside the saving transaction (a receiver that
#: queues work uses on-commit), with `workspace=` the saved Workspace. Sender: the Workspace class.
reporting_currency_changed = Signal()

#: sent inside workspace_create's transaction (`workspace=`); billing starts the trial on it.
#: Accounts sits below billing, so it announces instead of importing.
workspace_created = Signal()

#: sent before a member or invitation is added (`workspace=`, `seats=` taken now); a receiver
#: that refuses answers with the message to show (billing's member limit), otherwise None.
seat_requested = Signal()


@receiver(user_logged_in)
def _bind_session_to_host(sender: Any, request: Any, user: Any, **_: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return
    tenant = getattr(request, "tenant", None)
    request.session[SESSION_SCHEMA_KEY] = tenant.schema_name if tenant is not None else connection.schema_name
