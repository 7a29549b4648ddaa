"""The ad accounts' and shops' time zones PostgreSQL can convert to, shared by the SQL models (transform)
and the data-lag check (quality), which both compute an account's "today" in the database."""

from __future__ import annotations

from django.db import DatabaseError, transaction

from bosco.db import connection

_time_zone_known: dict[str, bool] = {}


def valid_time_zones() -> list[str]:
    """The ad accounts' and GA4 properties' time zones PostgreSQL accepts (checked once per zone and process).

    pg_timezone_names would answer too, but reads the whole zone database on every query
    (~100 ms); a zone name either converts or raises, so try each new one once.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT time_zone FROM dim_ad_account WHERE time_zone IS NOT NULL"
            " UNION SELECT time_zone FROM stg_ga4__property WHERE time_zone IS NOT NULL"  # GA4 properties' zones
            " UNION SELECT time_zone FROM stg_shopify__shop WHERE time_zone IS NOT NULL"
        )
        names = [row[0] for row in cursor.fetchall()]
        for name in names:
            if name not in _time_zone_known:
                try:
                    with transaction.atomic():
                        cursor.execute("SELECT now() AT TIME ZONE %s", [name])
                    _time_zone_known[name] = True
                except DatabaseError:
                    _time_zone_known[name] = False
    return [name for name in names if _time_zone_known[name]]
