"""Celery entry points of file uploads: the workspace schema first, the upload's id, one service call."""

from __future__ import annotations

from bosco.tasks import tenant_task
from uploads.services import upload_check, upload_land


@tenant_task()
def check_upload(upload_id: int) -> str:
    """Read and check every row of an upload; lands it at once when every row is good."""
    return upload_check(upload_id=upload_id)


@tenant_task()
def land_upload(upload_id: int) -> str:
    """Replace the covered days of the upload's sources with its good rows."""
    return upload_land(upload_id=upload_id)
