"""A workspace in Berlin with ad accounts in Berlin, New York, London and Tokyo, synced at chosen moments.

The data go the real way (synthetic raw rows → the warehouse's window transform); a "sync" is a
window transform with the moment the sync began reading (`synced_from`), exactly what the
connectors' hand-off gives the warehouse. `make_partial` makes an account's day look the way a
sync early in that day reads it: a twentieth of the day's delivery.

The clock, in January (no daylight saving anywhere involved):

    NOW (2026-01-20 23:30 UTC)  Berlin Jan 21 00:30 · London Jan 20 23:30 · New York Jan 20 18:30
                                Tokyo Jan 21 08:30
    EVENING_SYNC (23:05 UTC)    over in Berlin and Tokyo, not in London and New York
    NEXT_MORNING (Jan 21 05:30 UTC) after NIGHT_SYNC (05:10 UTC = 00:10 in New York)
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.db import connection

from devtools.synthetic import SyntheticSpec
from tests.insights.conftest import land_history
from warehouse.services.transform import run_window

#: google_ads: Berlin, New York; meta: London, Tokyo (the generator's zones in order)
SPEC = SyntheticSpec(
    platforms=("google_ads", "meta"),
    accounts_per_platform=2,
    campaigns_per_account=2,
    ad_groups_per_campaign=8,
    currencies=("EUR", "USD"),
    seed=23,
)
DAY = date(2026, 1, 20)
NOW = datetime(2026, 1, 20, 23, 30, tzinfo=UTC)
EVENING_SYNC = datetime(2026, 1, 20, 23, 5, tzinfo=UTC)
NIGHT_SYNC = datetime(2026, 1, 21, 5, 10, tzinfo=UTC)
NEXT_MORNING = datetime(2026, 1, 21, 5, 30, tzinfo=UTC)


def account(zone: str) -> tuple[str, str]:
    """(platform, account id) of the scenario's account in `zone`."""
    found = [(a["platform"], a["account_id"]) for a in SPEC.accounts() if a["time_zone"] == zone]
    assert len(found) == 1, zone
    return found[0]


BERLIN, NEW_YORK, LONDON, TOKYO = (
    account(z) for z in ("Europe/Berlin", "America/New_York", "Europe/London", "Asia/Tokyo")
)
ALL = (BERLIN, NEW_YORK, LONDON, TOKYO)

_sync_runs = iter(range(100, 10_000))


def land(*, days: int) -> None:
    """History through DAY for every account, transformed without any sync moment (as synthetic or
    uploaded data are): on its own it holds nothing back."""
    land_history(as_of=DAY, days=days, spec=SPEC)


def sync(which: tuple[str, str], *, at: datetime, days: int = 3) -> None:
    """A sync of one account that began reading at `at` and landed its last `days` days to DAY."""
    platform, account_id = which
    run_window(
        connection_id=7,
        platform=platform,
        account_ids=[account_id],
        date_from=DAY - timedelta(days=days - 1),
        date_to=DAY,
        sync_run_id=next(_sync_runs),
        synced_from=at,
    )


def make_partial(which: tuple[str, str], *, share: int = 20) -> None:
    """Cut a Google Ads account's DAY to 1/`share` of its delivery in the raw rows (what a sync
    early in that day reads); the next `sync` of it carries the cut into the facts."""
    platform, account_id = which
    assert platform == "google_ads", "partial days are cut in Google Ads rows"
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE raw_record
                  SET payload = jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(payload,
                        '{metrics,costMicros}', to_jsonb(((payload #>> '{metrics,costMicros}')::bigint / %(n)s)::text)),
                        '{metrics,impressions}', to_jsonb(((payload #>> '{metrics,impressions}')::bigint / %(n)s)::text)),
                        '{metrics,clicks}', to_jsonb(((payload #>> '{metrics,clicks}')::bigint / %(n)s)::text)),
                        '{metrics,conversions}', to_jsonb((payload #>> '{metrics,conversions}')::numeric / %(n)s)),
                        '{metrics,conversionsValue}',
                        to_jsonb((payload #>> '{metrics,conversionsValue}')::numeric / %(n)s))
                WHERE stream = 'google_ads.ad_group_daily' AND account_id = %(account)s AND date = %(day)s""",
            {"n": share, "account": account_id, "day": DAY},
        )
        assert cursor.rowcount > 0
