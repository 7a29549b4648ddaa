from __future__ import annotations

from accounts import services
from bosco.tasks import public_task


@public_task()
def expire_invitations() -> int:
    return services.invitations_expire()
