"""/metrics: protected, and its series move after real requests, real tasks, webhooks and e-mails."""

from __future__ import annotations

import time
import uuid

import pytest
from django.conf import settings
from django.core.mail import send_mail
from django.test import Client

from bosco.celery import app
from bosco.tasks import enqueue, public_task
from tests.ops.scrape import TOKEN, scrape, value


@pytest.fixture(autouse=True)
def _metrics_token(settings) -> None:
    settings.BOSCO_METRICS_TOKEN = TOKEN


@public_task()
def metrics_ok() -> str:
    return "done"


@public_task()
def metrics_broken() -> None:
    raise ValueError("a bug, not a hiccup")


def test_metrics_is_404_without_a_configured_token(settings) -> None:
    settings.BOSCO_METRICS_TOKEN = ""
    response = Client(HTTP_HOST=settings.BOSCO_DOMAIN).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 404


@pytest.mark.django_db
def test_metrics_needs_the_bearer_token() -> None:
    client = Client(HTTP_HOST=settings.BOSCO_DOMAIN)
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=TOKEN).status_code == 401  # no scheme
    ok = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert ok.status_code == 200
    assert ok["Content-Type"].startswith("text/plain")


@pytest.mark.django_db
def test_request_latency_is_recorded_by_view_and_status() -> None:
    client = Client(HTTP_HOST=settings.BOSCO_DOMAIN)
    name = "bosco_http_request_duration_seconds_count"
    before = scrape()
    client.get("/healthz")
    client.get("/healthz")
    client.get("/no-such-page/")
    after = scrape()
    assert (
        value(after, name, view="healthz", method="GET", status="200")
        - value(before, name, view="healthz", method="GET", status="200")
        == 2
    )
    assert (
        value(after, name, view="unresolved", method="GET", status="404")
        - value(before, name, view="unresolved", method="GET", status="404")
        == 1
    )
    # the scrape itself is a resolved view of the public site
    assert value(after, name, view="metrics", method="GET", status="200") >= 1


def _wait_until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert predicate()


@pytest.mark.celery_worker
def test_task_durations_and_failures_are_recorded_by_task(celery_worker) -> None:
    ok, broken = metrics_ok.name, metrics_broken.name
    duration = "bosco_celery_task_duration_seconds_count"
    before = scrape()
    assert metrics_ok.delay().get(timeout=30) == "done"
    with pytest.raises(ValueError, match="a bug"):
        metrics_broken.delay().get(timeout=30)
    _wait_until(
        lambda: (
            value(scrape(), duration, task=broken, state="FAILURE")
            > value(before, duration, task=broken, state="FAILURE")
        )
    )
    after = scrape()
    assert value(after, duration, task=ok, state="SUCCESS") == value(before, duration, task=ok, state="SUCCESS") + 1
    assert value(after, "bosco_celery_task_failures_total", task=broken) == (
        value(before, "bosco_celery_task_failures_total", task=broken) + 1
    )
    assert value(after, "bosco_celery_task_failures_total", task=ok) == 0


@pytest.mark.django_db
def test_queue_depth_is_read_from_the_broker_per_queue(settings) -> None:
    """Tasks nobody consumes yet wait on their group's queue, and the scrape counts them."""
    import redis

    default = app.conf.task_default_queue
    app.conf.task_default_queue = f"bosco-depth-{uuid.uuid4().hex[:8]}"  # queues no worker consumes
    try:
        enqueue("connectors.tasks.sync_connection", "some_workspace", 1)
        enqueue("connectors.tasks.sync_connection", "some_workspace", 2)
        enqueue("billing.tasks.process_stripe_event", "evt_x")
        samples = scrape()
        queue = app.conf.task_default_queue
        assert value(samples, "bosco_celery_queue_depth", queue=f"{queue}.syncs") == 2
        assert value(samples, "bosco_celery_queue_depth", queue=f"{queue}.billing") == 1
        assert value(samples, "bosco_celery_queue_depth", queue=f"{queue}.scoring") == 0
    finally:
        client = redis.Redis.from_url(app.conf.broker_url)
        client.delete(*[f"{app.conf.task_default_queue}.{group}" for group in ("syncs", "billing")])
        client.close()
        app.conf.task_default_queue = default


@pytest.mark.django_db
def test_refused_webhooks_are_counted() -> None:
    name = "bosco_webhook_failures_total"
    before = value(scrape(), name, source="stripe", stage="received")
    response = Client(HTTP_HOST=settings.BOSCO_DOMAIN).post(
        "/billing/stripe/webhook/", data=b"{}", content_type="application/json", HTTP_STRIPE_SIGNATURE="t=1,v1=bad"
    )
    assert response.status_code in (400, 503)
    assert value(scrape(), name, source="stripe", stage="received") == before + 1


@pytest.mark.django_db
def test_undeliverable_mail_is_counted_and_still_raises(settings) -> None:
    settings.EMAIL_BACKEND = "bosco.mail.MeteredEmailBackend"
    settings.BOSCO_EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2  # nothing listens
    name = "bosco_email_failures_total"
    before = value(scrape(), name, backend="smtp")
    with pytest.raises(ConnectionRefusedError):
        send_mail("subject", "body", None, ["someone@example.com"])
    assert value(scrape(), name, backend="smtp") == before + 1


@pytest.mark.django_db
def test_mail_through_the_metered_backend_reaches_the_real_backend(settings) -> None:
    from django.core import mail

    settings.EMAIL_BACKEND = "bosco.mail.MeteredEmailBackend"
    settings.BOSCO_EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert send_mail("hello", "body", None, ["someone@example.com"]) == 1
    assert [message.subject for message in mail.outbox] == ["hello"]
