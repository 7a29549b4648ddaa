"""The events the nightly journey build reads: one light tuple per event, streamed.

Raw SQL on a server-side cursor instead of model instances: the build reads every event of the
lookback window (a million rows in a busy workspace), and building a model object per row would
cost more than the journeys themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import NamedTuple

from django.db import connection, transaction


class JourneyEvent(NamedTuple):
    occurred_at: dt.datetime
    kind: str
    #: the anonymous id; "hint:<session_hint>" for an event counted without a cookie (consent
    #: mode), "event:<event_id>" when not even a hint came
    visitor: str
    host: str  # the page's host, from its URL
    referrer_host: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    click_id_type: str
    click_id: str
    customer_id: str
    email_sha256: str
    order_id: str
    checkout_token: str
    cart_token: str
    revenue: float
    currency: str


_SQL = """
    SELECT occurred_at, kind,
           coalesce(nullif(anonymous_id, ''), 'hint:' || nullif(session_hint, ''), 'event:' || event_id::text),
           lower(coalesce(substring(url from '^[A-Za-z][A-Za-z0-9+.-]*://([^/:?#]+)'), '')),
           lower(referrer_host), utm_source, utm_medium, utm_campaign,
           coalesce(click_id_type, ''), coalesce(click_id, ''), coalesce(customer_id, ''),
           coalesce(email_sha256, ''), coalesce(order_id, ''), coalesce(checkout_token, ''),
           coalesce(cart_token, ''), coalesce(revenue, 0)::float8, coalesce(currency, '')
    FROM tracking_event
    WHERE occurred_at >= %(since)s AND occurred_at < %(until)s
"""


def journey_event_rows(*, since: dt.datetime, until: dt.datetime, batch: int = 20_000) -> Iterator[JourneyEvent]:
    """Events with since <= occurred_at < until, in no particular order (the build sorts per visitor)."""
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.itersize = batch  # type: ignore[attr-defined]
        cursor.execute(_SQL, {"since": since, "until": until})
        while rows := cursor.fetchmany(batch):
            for row in rows:
                yield JourneyEvent._make(row)
