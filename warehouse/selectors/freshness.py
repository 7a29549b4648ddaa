"""Which days the warehouse holds whole: the newest complete day of a workspace.

A platform reports an ad account's days in the account's own time zone, and a day's numbers are
whole only once the day has ended there AND a sync read the account after that. Until then the
newest day is partial (a New York account at 18:00 local has three quarters of its day), and a
model or an alert that took it for whole would see a collapse.

The warehouse knows both facts: each ad account's zone (`dim_ad_account.time_zone`) and, per
successful window transform, when the sync behind it began reading the platform
(`wh_transform_run.synced_from`, handed over by connectors). An account's last whole day is the
day before its newest such moment, in its zone. The workspace's newest complete day is the
earliest of those over its active accounts, and never later than yesterday in the workspace's zone.

Who counts as active: an account with a successful synced window in the last
`ACTIVE_SYNC_DAYS` days. An account never synced (known only from uploads or synthetic data),
one whose connection was paused or disconnected, or one whose syncs keep failing stops holding
the other accounts back after that many days; the freshness and data-lag checks report it instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from warehouse.models import AdAccount, TransformRun

#: an account whose newest successful sync is older than this no longer holds the workspace back
ACTIVE_SYNC_DAYS = 3


@dataclass(frozen=True)
class AccountWholeDay:
    """One active ad account: when its data were last read, and the newest day then whole."""

    platform: str
    account_id: str
    time_zone: str
    synced_from: datetime
    last_whole_day: date


def _zone(name: str | None, fallback: ZoneInfo) -> ZoneInfo:
    if not name:
        return fallback
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


def account_whole_days(*, time_zone: str, now: datetime | None = None) -> list[AccountWholeDay]:
    """Every active ad account's newest whole day (accounts without a zone use the workspace's)."""
    moment = now or datetime.now(tz=UTC)
    workspace_zone = _zone(time_zone, ZoneInfo("UTC"))
    runs = TransformRun.objects.filter(
        kind__in=(TransformRun.Kind.WINDOW, TransformRun.Kind.READ),
        status=TransformRun.Status.SUCCESS,
        synced_from__gt=moment - timedelta(days=ACTIVE_SYNC_DAYS),
        synced_from__lte=moment,
    ).values_list("platforms", "account_ids", "synced_from")
    # newest read per account; None in account_ids means every account of the run's platforms
    newest: dict[tuple[str, str], datetime] = {}
    whole_platform: dict[str, datetime] = {}
    for platforms, account_ids, synced_from in runs:
        if synced_from is None:  # excluded by the filter; tells the type checker
            continue
        for platform in platforms or ():
            if account_ids is None:
                whole_platform[platform] = max(synced_from, whole_platform.get(platform, synced_from))
                continue
            for account_id in account_ids:
                key = (platform, str(account_id))
                newest[key] = max(synced_from, newest.get(key, synced_from))
    if not newest and not whole_platform:
        return []
    accounts = AdAccount.objects.filter(platform__in={p for p, _ in newest} | set(whole_platform)).values_list(
        "platform", "account_id", "time_zone"
    )
    out = []
    for platform, account_id, zone_name in accounts:
        reads = [t for t in (newest.get((platform, account_id)), whole_platform.get(platform)) if t is not None]
        if not reads:
            continue
        synced_from = max(reads)
        zone = _zone(zone_name, workspace_zone)
        out.append(
            AccountWholeDay(
                platform=platform,
                account_id=account_id,
                time_zone=str(zone),
                synced_from=synced_from,
                last_whole_day=synced_from.astimezone(zone).date() - timedelta(days=1),
            )
        )
    return sorted(out, key=lambda a: (a.last_whole_day, a.platform, a.account_id))


def newest_complete_day(*, time_zone: str, now: datetime | None = None) -> date:
    """The newest day whose numbers are whole for every active ad account of the workspace.

    Never later than yesterday in the workspace's zone (`time_zone`; an unknown one reads as UTC).
    Scoring, the budget fit, the insight pages' "data through" and the alerts all stop here.
    """
    moment = now or datetime.now(tz=UTC)
    yesterday = moment.astimezone(_zone(time_zone, ZoneInfo("UTC"))).date() - timedelta(days=1)
    accounts = account_whole_days(time_zone=time_zone, now=moment)
    return min([yesterday, *(a.last_whole_day for a in accounts)])
