"""pytest: real PostgreSQL and Redis, fast password hashing, no outbound e-mail."""

from bosco.settings.base import *  # noqa: F403  (settings modules extend the base namespace)
from bosco.settings.base import env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# A worker subprocess of a test may send to the test's local SMTP server (EMAIL_URL names it).
EMAIL_BACKEND = env("BOSCO_TEST_EMAIL_BACKEND", default=EMAIL_BACKEND)
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver", "127.0.0.1"]  # noqa: F405
# The emulators and the demo commands are dev tooling: tests use them, production never installs them.
SHARED_APPS = [*SHARED_APPS, "devtools"]  # noqa: F405
INSTALLED_APPS = [*INSTALLED_APPS, "devtools"]  # noqa: F405
# A fixed key set so encrypted fixtures decrypt across test processes.
BOSCO_ENCRYPTION_KEYS = env.list("BOSCO_ENCRYPTION_KEYS", default=["tK1Q5rJx6nXvJ9c3m2PpB7sHq8wz0aLrEoYdUfGiNkM="])
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Worker threads in the tests close their connection after each task, so the test database
# can be dropped at the end of the session.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# pytest-xdist workers share one Redis: each gets its own cache key prefix.
CACHES["default"]["KEY_PREFIX"] = f"bosco-test-{env('PYTEST_XDIST_WORKER', default='main')}"  # noqa: F405
# The tests' local webhook receivers speak plain http (loopback stays refused unless a test allows it).
ALERTS_WEBHOOK_ALLOW_HTTP = True
# ... and its own record of unacked broker messages: a test's worker with a short visibility
# timeout sweeps that record every few seconds and would otherwise hand the other test process's
# still-running tasks out again (queues are already per process, tests/conftest.py celery_queue).
_xdist = env("PYTEST_XDIST_WORKER", default="main")
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,  # noqa: F405
    "unacked_key": f"unacked-{_xdist}",
    "unacked_index_key": f"unacked_index-{_xdist}",
    "unacked_mutex_key": f"unacked_mutex-{_xdist}",
}
