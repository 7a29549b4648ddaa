"""The events the nightly journey build reads: one plain tuple per event, streamed.

Raw SQL on a server-side cursor instead of model instances: the build reads every event of the
lookback window (a million rows in a busy workspace), and building a model object per row would
cost more than the journeys themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.db import connection, transaction

#: the columns of each row, in order (the same names and order as `insights.ml.journeys.EventRow`,
#: which the build makes of each row without renaming anything)
JOURNEY_COLUMNS = (
    "occurred_at",
    "kind",
    # the anonymous id; "hint:<session_hint>" for an event counted without a cookie (consent mode),
    # "event:<event_id>" when not even a hint came
    "visitor",
    "host",  # the page's host, from its URL
    "referrer_host",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "click_id_type",
    "click_id",
    "customer_id",
    "email_sha256",
    "order_id",
    "checkout_token",
    "cart_token",
    "revenue",
    "currency",
)


_SQL = """
    SELECT occurred_at, kind,
           coalesce(nullif(anonymous_id, ''), 'hint:' || nullif(session_hint, ''), 'event:' || event_id::text),
           -- the page's host; split_part instead of a regular expression: a third of the cost
           lower(split_part(split_part(split_part(split_part(split_part(url, '://', 2), '/', 1), '?', 1), '#', 1),
                            ':', 1)),
           lower(referrer_host), utm_source, utm_medium, utm_campaign,
           coalesce(click_id_type, ''), coalesce(click_id, ''), coalesce(customer_id, ''),
           coalesce(email_sha256, ''), coalesce(order_id, ''), coalesce(checkout_token, ''),
           coalesce(cart_token, ''), coalesce(revenue, 0)::float8, coalesce(currency, '')
    FROM tracking_event
    WHERE occurred_at >= %(since)s AND occurred_at < %(until)s
"""


def journey_event_rows(*, since: dt.datetime, until: dt.datetime, batch: int = 20_000) -> Iterator[tuple[Any, ...]]:
    """Events with since <= occurred_at < until as tuples of `JOURNEY_COLUMNS`, in no particular
    order (the build sorts per visitor)."""
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.itersize = batch  # type: ignore[attr-defined]
        cursor.execute(_SQL, {"since": since, "until": until})
        while rows := cursor.fetchmany(batch):
            yield from rows
