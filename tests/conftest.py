"""Project-wide fixtures: real PostgreSQL through django-tenants, real Redis, a real Celery worker.

- The test database gets the public tenant and the migrated workspace template at session start.
- `make_workspace` creates workspaces through the real service (template clone) and drops their
  schemas afterwards, so committed (transactional) tests leave nothing behind.
- `celery_worker` starts a real worker thread consuming from Redis on a queue of its own per
  pytest-xdist worker, so parallel test processes never run each other's tasks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from accounts.management.commands.bootstrap import ensure_public_tenant, ensure_template_schema
from accounts.models import User, Workspace
from accounts.signals import SESSION_SCHEMA_KEY

PASSWORD = "correct-horse-battery-9"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any, django_db_blocker: Any) -> None:
    with django_db_blocker.unblock():
        ensure_public_tenant()
        ensure_template_schema()


@pytest.fixture(autouse=True)
def _public_tenant_present(request: pytest.FixtureRequest) -> None:
    """A committed test's flush empties public tables; put the public site back first."""
    names = set(request.fixturenames)
    if names & {"transactional_db", "live_server"}:
        request.getfixturevalue("transactional_db")
        ensure_public_tenant()
    elif "db" in names:
        ensure_public_tenant()


@pytest.fixture
def public_host() -> str:
    return settings.BOSCO_DOMAIN


def host_of(workspace: Workspace) -> str:
    return f"{workspace.slug}.{settings.BOSCO_DOMAIN}"


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    from allauth.account.models import EmailAddress

    def make(email: str = "owner@example.com", *, verified: bool = True, **extra: Any) -> User:
        user = User.objects.create_user(email, PASSWORD, **extra)
        EmailAddress.objects.create(user=user, email=email, verified=verified, primary=True)
        return user

    return make


@pytest.fixture
def make_workspace(db: None, make_user: Callable[..., User]) -> Iterator[Callable[..., Workspace]]:
    from accounts import services

    created: list[str] = []

    def make(slug: str = "acme", *, owner: User | None = None, name: str | None = None, **extra: Any) -> Workspace:
        owner = (
            owner or User.objects.filter(email=f"owner@{slug}.example").first() or make_user(f"owner@{slug}.example")
        )
        workspace = services.workspace_create(owner=owner, name=name or slug.title(), slug=slug, **extra)
        created.append(workspace.schema_name)
        return workspace

    yield make
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        for schema in created:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def login_client(client: Client, user: User, workspace: Workspace | None = None) -> Client:
    """Sign `user` in on the workspace's host (or the public host), as the handoff would."""
    client.defaults["HTTP_HOST"] = host_of(workspace) if workspace else settings.BOSCO_DOMAIN
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session[SESSION_SCHEMA_KEY] = workspace.schema_name if workspace else "public"
    session.save()
    return client


@pytest.fixture
def workspace_client() -> Callable[[User, Workspace | None], Client]:
    def make(user: User, workspace: Workspace | None = None) -> Client:
        return login_client(Client(), user, workspace)

    return make


@pytest.fixture(scope="session")
def celery_queue(worker_id: str) -> str:
    return f"bosco-test-{worker_id}-{os.getpid()}"


@pytest.fixture(scope="session")
def celery_worker_session(django_db_setup: None, django_db_blocker: Any, celery_queue: str) -> Iterator[Any]:
    from celery.contrib.testing.worker import start_worker

    from bosco.celery import app

    app.conf.task_default_queue = celery_queue
    app.conf.task_always_eager = False
    with (
        django_db_blocker.unblock(),
        start_worker(
            app,
            pool="threads",
            concurrency=1,
            queues=[celery_queue],
            perform_ping_check=False,
            loglevel="WARNING",
            shutdown_timeout=30,
        ) as worker,
    ):
        yield worker


@pytest.fixture
def celery_worker(transactional_db: None, celery_worker_session: Any) -> Any:
    """A real worker on Redis; the test's data must be committed, hence transactional_db."""
    return celery_worker_session


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    """Each test starts with an empty cache (rate limits, cached queries) of its own prefix."""
    _delete_cache_keys()
    yield
    _delete_cache_keys()


def _delete_cache_keys() -> None:
    import redis as redis_lib

    from bosco.redis_urls import cache_url_for

    client = redis_lib.Redis.from_url(cache_url_for(settings.REDIS_URL))
    try:
        prefix = settings.CACHES["default"]["KEY_PREFIX"]
        keys = list(client.scan_iter(match=f"*:{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
