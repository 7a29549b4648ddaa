"""Fixtures of the digests tests: workspaces with synthetic warehouse data, members' subscriptions,
the real local SMTP server of the alerts tests (aiosmtpd), and an Agency plan switch."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from accounts.models import User, Workspace
from digests.models import DigestProfile, DigestSubscription
from tests.alerts.conftest import Inbox, free_port, smtp_server  # noqa: F401  (the fixture, shared)
from tests.conftest import PASSWORD, committed_setup_guard
from tests.insights.conftest import in_schema, land_history, yesterday_utc

HISTORY_DAYS = 35


def with_history(workspace: Workspace, *, days: int = HISTORY_DAYS, as_of: date | None = None) -> Workspace:
    """Synthetic data through yesterday (UTC) in the workspace's schema, transformed into facts."""
    with in_schema(workspace):
        land_history(as_of=as_of or yesterday_utc(), days=days)
    return workspace


@pytest.fixture(scope="package")
def digest_workspace_committed(django_db_setup: None, django_db_blocker: Any) -> Iterator[Workspace]:
    """The digests workspace, committed once per test process for the package's `db` tests.

    A schema clone plus five weeks landed and transformed costs seconds and about twenty tests
    read it; each test still runs in its own rolled-back transaction on top of it. Only plain
    `db` tests may use it: pytest-django runs them before any transactional test, whose flush
    would empty the public tables it depends on.
    """
    from allauth.account.models import EmailAddress

    from accounts.services import workspace_create, workspace_drop

    email = "owner@dgst.example"
    with django_db_blocker.unblock():
        committed_setup_guard("digest_workspace_committed")
        owner = User.objects.create_user(email, PASSWORD)
        EmailAddress.objects.create(user=owner, email=email, verified=True, primary=True)
        workspace = workspace_create(
            owner=owner, name="Digest Shop", slug="dgst", reporting_currency="EUR", time_zone="Europe/Berlin",
            number_format="de-DE",
        )  # fmt: skip
        try:
            with schema_context(workspace.schema_name):
                land_history(as_of=yesterday_utc(), days=HISTORY_DAYS)
            yield workspace
        finally:
            connection.set_schema_to_public()
            workspace_drop(workspace=workspace)
            User.objects.filter(email=email).delete()


@pytest.fixture
def digest_workspace(db: None, digest_workspace_committed: Workspace) -> Workspace:
    """A workspace in euros written the German way (1.234,50 €), with five weeks of data."""
    return digest_workspace_committed


def owner_of(workspace: Workspace) -> User:
    return User.objects.get(email=f"owner@{workspace.slug}.example")


def subscribe(
    user: User,
    workspace: Workspace,
    *,
    frequency: str = "weekly",
    weekday: int = 0,
    hour: int = 8,
    time_zone: str = "UTC",
    delivery: str = "per_workspace",
) -> DigestSubscription:
    DigestProfile.objects.update_or_create(user=user, defaults={"time_zone": time_zone, "delivery": delivery})
    subscription, _ = DigestSubscription.objects.update_or_create(
        user=user, workspace=workspace, defaults={"frequency": frequency, "weekday": weekday, "hour": hour}
    )
    return subscription


def make_agency(workspace: Workspace) -> None:
    """The workspace on the Agency plan (white-label allowed), its cached entitlements dropped."""
    from billing import entitlements
    from billing.models import BillingAccount

    BillingAccount.objects.update_or_create(workspace=workspace, defaults={"plan": "agency", "status": "comped"})
    entitlements._redis().delete(entitlements._cache_key(workspace.schema_name))  # type: ignore[attr-defined]


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def images_of(message: EmailMessage) -> dict[str, bytes]:
    """The inline images by Content-ID (without the angle brackets)."""
    return {
        part["Content-ID"].strip("<>"): part.get_payload(decode=True)
        for part in message.walk()
        if part.get_content_type() == "image/png"
    }


def days_ago(days: int) -> date:
    return yesterday_utc() - timedelta(days=days - 1)


@pytest.fixture
def inbox(smtp_server: Inbox) -> Inbox:  # noqa: F811  (the shared fixture, renamed for reading)
    return smtp_server


__all__ = ["Any", "Inbox", "free_port", "in_schema"]
