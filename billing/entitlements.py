"""What a workspace may do now: the ONE question every app asks billing.

`for_workspace(schema)` combines the plan's limits (billing.plans) with the subscription state
(trial over, payment failed past its grace period, canceled) into a `WorkspaceEntitlements`.
It is read on every page and API request, so it is cached in Redis under a key that does not
depend on the current schema (the cache's key function adds the active schema, and billing
writes happen in the public schema while pages read in the workspace's), for at most until the
state next changes by itself (a trial or grace period ending), and dropped whenever billing
changes the account (`invalidate`, after commit).

`check(schema, "data_sources", current=n)` raises `EntitlementError` with a message fit to show.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from accounts.models import Workspace
from billing.plans import Entitlements, Plan, entitlements_for
from billing.selectors import account_for_schema, read_only_reason

logger = logging.getLogger(__name__)

CACHE_SECONDS = 300
UPGRADE_HINT = "Upgrade under Settings → Plan and billing."
SUSPENDED_REASON = "Bosco support suspended this workspace, so it is read-only and syncs are stopped."


class EntitlementError(Exception):
    """A request the workspace's plan or billing state does not allow, with a message to show."""

    def __init__(self, message: str, *, limit: str) -> None:
        super().__init__(message)
        self.message = message
        self.limit = limit


@dataclass(frozen=True)
class WorkspaceEntitlements:
    plan: str
    status: str
    max_connections: int
    max_members: int
    api_requests_per_minute: int
    history_months: int
    min_sync_interval_hours: int
    api_access: bool
    white_label: bool
    #: syncs, scoring and writes stop; pages and the API still show the data
    read_only: bool
    #: why the workspace is read-only (empty when it is not), for banners and logs
    read_only_reason: str
    trial_end: str | None
    grace_until: str | None
    #: last, with a default: entitlements cached before it existed still load
    max_alert_rules: int = 50

    @property
    def plan_label(self) -> str:
        return Plan(self.plan).label if self.plan in Plan.values else self.plan

    @property
    def history_days(self) -> int:
        """`history_months` as days (the depth synced and shown)."""
        return round(self.history_months * 30.44)

    def history_start(self, today: date | None = None) -> date:
        """The oldest day synced and shown."""
        return (today or timezone.localdate()) - timedelta(days=self.history_days - 1)


def _cache_key(schema: str) -> str:
    # Shaped like django-tenants' keys (schema first), so every cache key names its workspace.
    return f"{schema}:{settings.CACHES['default'].get('KEY_PREFIX', '')}:billing:entitlements"


def _redis() -> object:
    return cache.raw_client(write=True)  # type: ignore[attr-defined]


def _from_plan(plan: str, limits: Entitlements, **state: object) -> WorkspaceEntitlements:
    return WorkspaceEntitlements(
        plan=plan,
        max_connections=limits.max_connections,
        max_members=limits.max_members,
        api_requests_per_minute=limits.api_requests_per_minute,
        history_months=limits.history_months,
        min_sync_interval_hours=limits.min_sync_interval_hours,
        api_access=limits.api_access,
        white_label=limits.white_label,
        max_alert_rules=limits.max_alert_rules,
        **state,  # type: ignore[arg-type]
    )


def compute(schema: str, *, now: datetime | None = None) -> tuple[WorkspaceEntitlements, int]:
    """Entitlements from the database, and how many seconds they stay true by themselves."""
    now = now or timezone.now()
    account = account_for_schema(schema)
    if account is None:
        # Billing not set up for this workspace (created before billing existed): its plan decides.
        plan = Workspace.objects.filter(schema_name=schema).values_list("plan", flat=True).first() or Plan.TRIAL
        suspended = Workspace.objects.filter(schema_name=schema, status=Workspace.Status.SUSPENDED).exists()
        ent = _from_plan(
            plan,
            entitlements_for(plan),
            status="active",
            read_only=suspended,
            read_only_reason=SUSPENDED_REASON if suspended else "",
            trial_end=None,
            grace_until=None,
        )
        return ent, CACHE_SECONDS
    reason, changes_at = read_only_reason(account, now=now)
    if account.workspace.status == Workspace.Status.SUSPENDED:
        # Support suspended it (support.services.workspace_suspend): read-only whatever the plan.
        reason, changes_at = SUSPENDED_REASON, None
    key = Plan.TRIAL if account.status == "trialing" else account.plan
    ent = _from_plan(
        account.plan,
        entitlements_for(key),
        status=account.status,
        read_only=bool(reason),
        read_only_reason=reason,
        trial_end=account.trial_end.isoformat() if account.trial_end else None,
        grace_until=account.grace_until.isoformat() if account.grace_until else None,
    )
    seconds = CACHE_SECONDS
    if changes_at is not None:
        seconds = max(1, min(seconds, int((changes_at - now).total_seconds()) + 1))
    return ent, seconds


def for_workspace(schema: str) -> WorkspaceEntitlements:
    """The workspace's entitlements now (one Redis GET when cached)."""
    key = _cache_key(schema)
    try:
        raw = _redis().get(key)  # type: ignore[attr-defined]
    except Exception:  # Redis down: answer from the database rather than fail the page
        logger.warning("entitlements cache unavailable", exc_info=True)
        raw = None
    if raw:
        return WorkspaceEntitlements(**json.loads(raw))
    ent, seconds = compute(schema)
    try:
        _redis().set(key, json.dumps(asdict(ent)), ex=seconds)  # type: ignore[attr-defined]
    except Exception:
        logger.warning("entitlements cache unavailable", exc_info=True)
    return ent


def invalidate(schema: str) -> None:
    """Forget the cached entitlements once the change that makes them stale is committed."""

    def drop() -> None:
        _redis().delete(_cache_key(schema))  # type: ignore[attr-defined]

    transaction.on_commit(drop)


LIMIT_MESSAGES = {
    "data_sources": "Your {plan} plan includes {limit} connected data sources, and {current} are in use.",
    "members": "Your {plan} plan includes {limit} members (pending invitations count), and {current} are taken.",
    "alert_rules": "Your {plan} plan includes {limit} alert rules, and {current} exist.",
}


def check(schema: str, limit: str, *, current: int = 0) -> WorkspaceEntitlements:
    """Raise EntitlementError if adding one more `limit` ("data_sources", "members") is not allowed,
    or if the action is a write ("write") or an API call ("api") the workspace may not make now."""
    ent = for_workspace(schema)
    if limit in ("write", "data_sources", "members", "sync", "scoring", "alert_rules") and ent.read_only:
        raise EntitlementError(f"{ent.read_only_reason} {UPGRADE_HINT}", limit="read_only")
    if limit == "api" and not ent.api_access:
        raise EntitlementError(
            f"Your {ent.plan_label} plan does not include API access. {UPGRADE_HINT}", limit="api_access"
        )
    maximum = {"data_sources": ent.max_connections, "members": ent.max_members, "alert_rules": ent.max_alert_rules}.get(
        limit
    )
    if maximum is not None and current >= maximum:
        message = LIMIT_MESSAGES[limit].format(plan=ent.plan_label, limit=maximum, current=current)
        raise EntitlementError(f"{message} {UPGRADE_HINT}", limit=limit)
    return ent
