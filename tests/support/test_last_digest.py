"""The console's "Last digest" column is the digests app's record, read through the core's
workspace-facts registry (support does not import digests)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from digests.models import DigestSend
from support.services import health_refresh

pytestmark = pytest.mark.django_db


def test_health_shows_when_the_last_digest_covering_the_workspace_went_out(make_workspace, make_user) -> None:
    acme, other = make_workspace("acme"), make_workspace("other")
    member = make_user("ana@example.com")
    sent_at = timezone.now() - timedelta(hours=3)
    common = {"user": member, "frequency": "weekly", "to_email": member.email}
    period = {"period_start": date(2026, 11, 30), "period_end": date(2026, 12, 6)}
    DigestSend.objects.create(
        scope="acme", schemas=[acme.schema_name], state="sent", sent_at=sent_at, **common, **period
    )
    # a later one that failed, and one for another workspace: neither counts for acme
    DigestSend.objects.create(scope="acme-2", schemas=[acme.schema_name], state="failed", **common, **period)
    DigestSend.objects.create(
        scope="other", schemas=[other.schema_name], state="sent", sent_at=timezone.now(), **common, **period
    )

    with schema_context(acme.schema_name):
        assert health_refresh().last_digest_at == sent_at
    with schema_context(other.schema_name):
        assert health_refresh().last_digest_at > sent_at
