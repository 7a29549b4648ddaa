"""Reads from a streaming replica, with read-your-writes after a person's own change.

With `DATABASE_REPLICA_URL` set, the `replica` database alias points at a hot standby of the
primary. What goes there, and why only that:

- Only the reads of a page or API answer (`GET`/`HEAD`), inside the view (`ReplicaReadsMiddleware`
  runs last, so tenant routing, sessions, sign-in, membership and billing checks all read the
  primary), outside any transaction, and only for workspace data (models of the tenant apps, and
  raw SQL that asks `read_connection()`, such as the metrics layer). Identity and permission
  rows — users, memberships, API keys, sessions, plans — are always read on the primary, so a
  revoked key or a removed member loses access at once, whatever the replica's lag.
- Read-your-writes: every request that could have written (any method but GET/HEAD/OPTIONS, or a
  GET that wrote workspace data through the ORM) notes the primary's WAL position (`pg_current_wal_insert_lsn()`) in a
  cookie (browsers) and, for API keys, in the cache under a hash of the `Authorization` header.
  A later read by the same person uses the replica only once the replica has replayed past that
  position (`pg_last_wal_replay_lsn()`), so they always see their own change; everyone else may
  see it one replication lag later.
- A replica that cannot be reached when a request starts is not used for that request; the answer
  comes from the primary (logged). Django's connection health checks drop a broken kept connection.

The replica connection follows the primary's workspace schema: django-tenants sets the schema on
the `default` connection only, so `_sync_schema` copies it before every routed read.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

REPLICA = "replica"
PRIMARY = "default"
COOKIE = "bosco_wal"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_LSN = re.compile(r"^[0-9A-F]{1,8}/[0-9A-F]{1,8}$")

# Per request (or task): may reads of workspace data go to the replica right now?
_replica_ok: contextvars.ContextVar[bool] = contextvars.ContextVar("bosco_replica_ok", default=False)
# Did this request write through the ORM (so its answer must carry a fresh WAL position)?
_wrote: contextvars.ContextVar[bool] = contextvars.ContextVar("bosco_replica_wrote", default=False)


def configured() -> bool:
    return REPLICA in settings.DATABASES


@functools.cache
def _tenant_app_labels() -> frozenset[str]:
    """Labels of the apps whose tables live in each workspace schema (asked once the registry is ready)."""
    tenant, shared = set(settings.TENANT_APPS), set(settings.SHARED_APPS)
    return frozenset(c.label for c in apps.get_app_configs() if c.name in tenant and c.name not in shared)


def _sync_schema() -> None:
    """Give the replica connection the primary's current workspace schema (cheap when equal)."""
    primary, replica = connections[PRIMARY], connections[REPLICA]
    if replica.schema_name != primary.schema_name or replica.tenant is not primary.tenant:  # type: ignore[attr-defined]
        replica.set_tenant(primary.tenant, include_public=primary.include_public_schema)  # type: ignore[attr-defined]


def _replica_usable() -> bool:
    return _replica_ok.get() and configured() and not connections[PRIMARY].in_atomic_block


def read_alias() -> str:
    """The alias workspace-data reads should use now: `replica` or `default`."""
    if _replica_usable():
        _sync_schema()
        return REPLICA
    return PRIMARY


def read_connection() -> Any:
    """The connection for a raw-SQL read of workspace data (the metrics layer, page selectors)."""
    return connections[read_alias()]


class ReplicaRouter:
    """Workspace-data reads of a page or API answer go to the replica when allowed (see module)."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        if model._meta.app_label in _tenant_app_labels() and _replica_usable():  # type: ignore[attr-defined]
            _sync_schema()
            return REPLICA
        return None

    def db_for_write(self, model: type, **hints: Any) -> str | None:
        # Workspace data only: identity rows are read on the primary anyway, and an API key's
        # "last used" stamp on every read must not pin that key's reads to the primary.
        if model._meta.app_label in _tenant_app_labels():  # type: ignore[attr-defined]
            _wrote.set(True)
        return None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True  # the replica holds the same rows as the primary

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        return False if db == REPLICA else None


def _primary_lsn() -> str:
    with connections[PRIMARY].cursor() as cursor:
        # The insert position, not the write position: with asynchronous commit the commit record
        # may still sit in WAL buffers, beyond pg_current_wal_lsn().
        cursor.execute("SELECT pg_current_wal_insert_lsn()::text")
        return str(cursor.fetchone()[0])


def _lsn_value(lsn: str) -> int:
    high, low = lsn.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def _replica_replayed(lsn: str) -> bool:
    """Has the replica replayed the primary's WAL up to `lsn`? False if it cannot tell."""
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT pg_last_wal_replay_lsn()::text")
            replayed = cursor.fetchone()[0]
    except DatabaseError:
        logger.warning("replica unreachable; reading from the primary", exc_info=True)
        return False
    return replayed is not None and _lsn_value(str(replayed)) >= _lsn_value(lsn)


def _replica_reachable() -> bool:
    """Connect (or keep the kept connection); a replica that is down is skipped for this request."""
    replica = connections[REPLICA]
    try:
        replica.close_if_health_check_failed()  # a kept connection to a replica that went away
        replica.ensure_connection()
    except DatabaseError:
        logger.warning("replica unreachable; reading from the primary", exc_info=True)
        return False
    return True


def _api_key(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        return None
    return "replica:wal:" + hashlib.sha256(header.encode()).hexdigest()


def _waiting_for(request: HttpRequest) -> str | None:
    """The WAL position this person's own last change reached, if they may not have seen it yet."""
    positions = []
    cookie = request.COOKIES.get(COOKIE, "")
    if _LSN.match(cookie):
        positions.append(cookie)
    key = _api_key(request)
    if key:
        stored = cache.get(key)
        if isinstance(stored, str) and _LSN.match(stored):
            positions.append(stored)
    return max(positions, key=_lsn_value) if positions else None


@contextmanager
def primary_reads() -> Iterator[None]:
    """Read everything from the primary inside this block (e.g. a view that must see a fresh row)."""
    token = _replica_ok.set(False)
    try:
        yield
    finally:
        _replica_ok.reset(token)


class ReplicaReadsMiddleware:
    """Last in MIDDLEWARE: lets the view's workspace-data reads use the replica (see module)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.pin_seconds = int(getattr(settings, "DATABASE_REPLICA_PIN_SECONDS", 300))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not configured():
            return self.get_response(request)
        safe = request.method in SAFE_METHODS
        use_replica = safe and _replica_reachable()
        if use_replica:
            waiting = _waiting_for(request)
            use_replica = waiting is None or _replica_replayed(waiting)
        ok_token, wrote_token = _replica_ok.set(use_replica), _wrote.set(False)
        try:
            response = self.get_response(request)
        finally:
            wrote = _wrote.get()
            _replica_ok.reset(ok_token)
            _wrote.reset(wrote_token)
        if not safe or wrote:
            self._remember_write(request, response)
        return response

    def _remember_write(self, request: HttpRequest, response: HttpResponse) -> None:
        lsn = _primary_lsn()
        response.set_cookie(
            COOKIE,
            lsn,
            max_age=self.pin_seconds,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
        key = _api_key(request)
        if key:
            cache.set(key, lsn, timeout=self.pin_seconds)
