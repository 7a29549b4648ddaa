"""Project-wide fixtures: real PostgreSQL through django-tenants, real Redis, a real Celery worker.

- The test database gets the public tenant and the migrated workspace template at session start.
- `make_workspace` creates workspaces through the real service (template clone) and drops their
  schemas afterwards, so committed (transactional) tests leave nothing behind.
- `celery_worker` starts a real worker thread consuming from Redis on a queue of its own per
  pytest-xdist worker, so parallel test processes never run each other's tasks.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from accounts.models import User, Workspace
from accounts.services import public_workspace_ensure
from accounts.signals import SESSION_SCHEMA_KEY
from bosco.management.commands.bootstrap import ensure_template_schema

PASSWORD = "correct-horse-battery-9"


# Long tests that use no test database: each starts its own PostgreSQL, PgBouncer or gunicorn, or
# fits models for a minute or more. pytest-django puts tests without a database last and
# pytest-xdist hands tests out in that order, so these ran at the very end, one process busy for
# minutes while the other had nothing left (the last CI's tail). Handed out first they overlap
# with everything else; they share nothing with the other tests, so moving them changes no result.
LONG_WITHOUT_DATABASE = (
    "tests/ops/test_processes.py",
    "tests/ops/test_pgbouncer.py",
    "tests/ops/test_backup_restore.py",
    "tests/ops/test_replica.py",
    "tests/ops/test_gunicorn.py",
    "tests/insights/ml/test_forecast_calendar.py",
    "tests/insights/ml/test_cli_forecast_calendar.py",
    "tests/insights/ml/test_cli.py",
)
_DATABASE_FIXTURES = {"db", "transactional_db", "live_server", "django_db_setup"}


@pytest.hookimpl(trylast=True)  # after pytest-django's ordering (database tests, then committed ones)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def early(item: pytest.Item) -> bool:
        uses_database = item.get_closest_marker("django_db") is not None or bool(
            _DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))
        )
        return item.nodeid.startswith(LONG_WITHOUT_DATABASE) and not uses_database

    first = [item for item in items if early(item)]
    items[:] = first + [item for item in items if not early(item)]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: Any, django_db_blocker: Any) -> None:
    with django_db_blocker.unblock():
        public_workspace_ensure()
        ensure_template_schema()


@pytest.fixture(autouse=True)
def _public_tenant_present(request: pytest.FixtureRequest) -> None:
    """A committed test's flush empties public tables; put the public site back first."""
    names = set(request.fixturenames)
    if names & {"transactional_db", "live_server"}:
        request.getfixturevalue("transactional_db")
        public_workspace_ensure()
    elif "db" in names:
        public_workspace_ensure()


def committed_setup_guard(name: str) -> None:
    """Fail loudly when a fixture that commits shared data is being built inside a test's
    transaction: whatever it "commits" there is rolled back with that test, and every later test
    of the process finds the shared rows gone. It happens when a test reaches a session- or
    package-scoped fixture only through `request.getfixturevalue` (pytest then builds it after the
    test's `db` transaction opened); name the fixture in a signature instead."""
    if connection.in_atomic_block:
        raise RuntimeError(
            f"{name} is being built inside a test's transaction and would be rolled back with it; "
            "request it by name (in a fixture's or test's signature), not via getfixturevalue"
        )


def test_database_url() -> str:
    """DATABASE_URL of the test database, for processes the tests start (TCP or Unix socket)."""
    from urllib.parse import quote

    db = settings.DATABASES["default"]
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    socket_dir = db.get("OPTIONS", {}).get("host")
    if not db.get("HOST") and socket_dir:
        return f"postgresql://{db['USER']}{password}@/{db['NAME']}?host={socket_dir}"
    return f"postgresql://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


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
    for schema in created:
        _drop_schema(schema)


def _drop_schema(schema: str) -> None:
    """Drop a test's workspace schema. Outside a transaction a task the test queued may still be
    running in a worker on that schema: PostgreSQL then picks one of the two as a deadlock victim,
    and if it is the drop, it is tried again once the task is gone (seen in a CI run)."""
    from django.db import OperationalError

    for attempt in range(5):
        try:
            with connection.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            return
        except OperationalError:
            if connection.in_atomic_block or attempt == 4:
                raise
            time.sleep(1)


def login_client(client: Client, user: User, workspace: Workspace | None = None) -> Client:
    """Sign `user` in on the workspace's host (or the public host), as the handoff would."""
    client.defaults["HTTP_HOST"] = host_of(workspace) if workspace else settings.BOSCO_DOMAIN
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session[SESSION_SCHEMA_KEY] = workspace.schema_name if workspace else "public"
    session.save()
    return client


def staff_admin_client(user: User) -> Client:
    """A public-site session of a staff `user` that passed the second factor, as the admin requires.

    Gives the user an authenticator app if they have none, signs them in, then answers allauth's
    re-authentication with one of their unused recovery codes (through the real form)."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, generate_totp_secret())
        RecoveryCodes.activate(user)
    codes = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES).wrap().get_unused_codes()
    client = login_client(Client(), user)
    response = client.post("/accounts/2fa/reauthenticate/?next=/admin/", {"code": codes[0]})
    assert response.status_code == 302 and response["Location"] == "/admin/", response
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
    from bosco.queues import all_queue_names

    # Every queue name derives from the default queue, so this process's tasks land on its own
    # set of queues ("<celery_queue>.syncs", ...), and the worker consumes all of them.
    app.conf.task_default_queue = celery_queue
    app.conf.task_always_eager = False
    with (
        django_db_blocker.unblock(),
        start_worker(
            app,
            pool="threads",
            concurrency=1,
            queues=all_queue_names(),
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


# --- Browser tests -------------------------------------------------------------------------
# Debian's chromium driven by Playwright (no browser download). Playwright's sync API runs an
# event loop in this thread, so Django's async-safety guard is lifted for the test process only.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOT_DIR = settings.BASE_DIR / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def _chromium_path() -> str | None:
    import shutil

    return os.environ.get("BOSCO_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = _chromium_path()
    if not path:
        pytest.skip(
            "chromium is not installed: browser tests did not run (apt-get install chromium, or set BOSCO_CHROMIUM)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


class BrowserPage:
    """A Playwright page that records console errors and failed requests, and takes screenshots."""

    def __init__(self, context: Any, base_port: int) -> None:
        self.context = context
        self.page = context.new_page()
        self.port = base_port
        self.errors: list[str] = []
        self.page.on(
            "console",
            lambda msg: self.errors.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None,
        )
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        self.page.on(
            "response",
            lambda resp: self.errors.append(f"HTTP {resp.status} {resp.url}") if resp.status >= 500 else None,
        )

    def url(self, path: str = "/", workspace: Workspace | None = None) -> str:
        host = host_of(workspace) if workspace else settings.BOSCO_DOMAIN
        return f"http://{host}:{self.port}{path}"

    def goto(self, path: str = "/", workspace: Workspace | None = None) -> Any:
        return self.page.goto(self.url(path, workspace), wait_until="networkidle")

    def screenshot(self, name: str) -> None:
        """Save the current page at desktop and phone width (artifacts/screenshots/NAME-*.png)."""
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        original = self.page.viewport_size
        for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
            self.page.set_viewport_size(size)
            self.page.wait_for_timeout(150)
            self.page.screenshot(path=str(SCREENSHOT_DIR / f"{name}-{label}.png"), full_page=True)
        if original:
            self.page.set_viewport_size(original)

    def login(self, user: User, workspace: Workspace | None = None) -> None:
        """Sign in through the real sign-in form on the workspace (or public) host."""
        self.goto("/accounts/login/", workspace)
        self.page.fill("input[name=login]", user.email)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("main form button[type=submit]")
        self.page.wait_for_load_state("networkidle")


@pytest.fixture
def web(browser: Any, live_server: Any, settings: Any) -> Iterator[BrowserPage]:
    from urllib.parse import urlsplit

    port = urlsplit(live_server.url).port
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    page = BrowserPage(context, port)
    # The shared OAuth callback is the live server's public site (in production: the URL
    # registered with Google and Meta).
    settings.CONNECTORS_OAUTH_REDIRECT_URI = page.url("/oauth/callback/")
    yield page
    context.close()
    assert not page.errors, "browser reported errors:\n" + "\n".join(page.errors)
