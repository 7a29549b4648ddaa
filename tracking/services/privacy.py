"""Privacy: events past the workspace's retention removed, one person's events erased on request."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.utils import timezone

from bosco.db import connection
from tracking.collect.parsing import sha256_email
from tracking.models import Event, TrackingSettings
from tracking.services import landing

logger = logging.getLogger(__name__)


class ErasureError(ValueError):
    """An erasure request that names nobody, with a message fit to show."""


@dataclass(frozen=True)
class ErasureResult:
    events_deleted: int
    visitors: int


def schemas_with_tracking() -> list[str]:
    return list(TrackingSettings.objects.values_list("workspace__schema_name", flat=True).order_by("workspace_id"))


def events_expire(*, schema: str) -> int:
    """Delete the current workspace's events older than its retention (whole months back from now)."""
    settings = TrackingSettings.objects.filter(workspace__schema_name=schema).first()
    months = settings.retention_months if settings else 13
    cutoff = timezone.now() - relativedelta(months=months)
    deleted, _ = Event.objects.filter(occurred_at__lt=cutoff).delete()
    if deleted:
        logger.info("tracking events past retention deleted", extra={"deleted": deleted, "months": months})
    return deleted


def customer_events_erase(*, customer_id: str = "", email: str = "", email_sha256: str = "") -> ErasureResult:
    """Erase one person's events in the current workspace (GDPR / CCPA request).

    The person is found by customer id and/or e-mail (hashed here, never stored); every visitor id
    that was ever linked to them (by an identify or an order) is erased too, so their anonymous
    browsing before they identified themselves goes with them.
    """
    customer_id = customer_id.strip()
    digest = email_sha256.strip().lower() or (sha256_email(email) if email.strip() else "")
    if not customer_id and not digest:
        raise ErasureError("Give a customer id or an e-mail address.")
    if connection.schema_name == "public":
        raise ErasureError("Erasure runs inside a workspace.")
    # Beacons still in the buffer are landed first, so none of the person's events arrives later.
    landing.land_pending(schema=connection.schema_name)
    return _erase(customer_id=customer_id, digest=digest)


@transaction.atomic
def _erase(*, customer_id: str, digest: str) -> ErasureResult:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH person AS (
                SELECT DISTINCT anonymous_id FROM tracking_event
                WHERE ((%(customer)s <> '' AND customer_id = %(customer)s)
                       OR (%(digest)s <> '' AND email_sha256 = %(digest)s))
                  AND anonymous_id <> ''
            ), deleted AS (
                DELETE FROM tracking_event
                WHERE (%(customer)s <> '' AND customer_id = %(customer)s)
                   OR (%(digest)s <> '' AND email_sha256 = %(digest)s)
                   OR anonymous_id IN (SELECT anonymous_id FROM person)
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM deleted), (SELECT count(*) FROM person)
            """,
            {"customer": customer_id, "digest": digest},
        )
        deleted, visitors = cursor.fetchone()
    logger.info("tracking events erased on request", extra={"deleted": deleted, "visitors": visitors})
    return ErasureResult(events_deleted=int(deleted), visitors=int(visitors))
