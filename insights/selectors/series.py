"""Daily metric series for the insight models, read through the warehouse metrics layer.

Every series the models score comes from `warehouse.queries.metrics_query`, the same numbers
the dashboards and the API show. Only sums are fetched (spend, clicks, conversions, conversion
value); ratios (CPC, CPA, ROAS, CTR, CVR) are computed here from those sums per day, never averaged, and
the workspace total is the sum of its platforms. Days without a row inside an entity's span
are zero (nothing was spent), days after its last row are not invented.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from bosco.platforms import platform_label
from insights.models import Scope
from warehouse.metrics import RATIOS
from warehouse.queries import MetricsQuery, metrics_query

SUM_METRICS: tuple[str, ...] = ("spend", "impressions", "clicks", "conversions", "conversion_value")
#: ratios computed per day from the sums, as the catalogue defines them (CTR and CVR in percent)
RATIO_METRICS: tuple[str, ...] = ("cpc", "cpa", "roas", "ctr", "cvr")
#: the longest history any insight model reads (forecast calibration wants about a year)
MAX_HISTORY_DAYS = 400


@dataclass(frozen=True)
class Entity:
    """Who a series belongs to: the whole workspace, one platform or one campaign."""

    scope: str
    key: str
    label: str
    platform: str = ""

    @property
    def slug(self) -> str:
        return f"{self.scope}/{self.key}" if self.key else self.scope


@dataclass
class EntitySeries:
    entity: Entity
    #: daily sums and ratios, DatetimeIndex of days, one column per metric
    frame: pd.DataFrame

    def metric(self, name: str) -> pd.Series:
        """The metric's daily series without the days it is undefined (a ratio over zero)."""
        return self.frame[name].dropna()

    @property
    def first_day(self) -> date:
        return self.frame.index[0].date()

    @property
    def last_day(self) -> date:
        return self.frame.index[-1].date()


WORKSPACE = Entity(Scope.WORKSPACE, "", "All channels")


def workspace_today(time_zone: str, *, now: datetime | None = None) -> date:
    try:
        zone = ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    moment = now or datetime.now(tz=ZoneInfo("UTC"))
    return moment.astimezone(zone).date()


def _frame(rows: Iterable[dict], columns: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows))
    if frame.empty:
        return pd.DataFrame(columns=["day", *columns])
    for column in SUM_METRICS:
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float).fillna(0.0)
    frame["day"] = pd.to_datetime(frame["day"])
    return frame


def with_ratios(sums: pd.DataFrame) -> pd.DataFrame:
    """Add the ratios from the day's sums (undefined, NaN, where the denominator is 0)."""
    out = sums.copy()
    for name in RATIO_METRICS:
        ratio = RATIOS[name]
        den = out[ratio.denominator].to_numpy(dtype=float)
        num = out[ratio.numerator].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[name] = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan) * ratio.multiplier
    return out


def _daily(frame: pd.DataFrame) -> pd.DataFrame:
    """Sum per day over the entity's own span, zero-filled inside it, with ratios."""
    sums = frame.groupby("day")[list(SUM_METRICS)].sum().sort_index()
    full = pd.date_range(sums.index.min(), sums.index.max(), freq="D", name="day")
    return with_ratios(sums.reindex(full, fill_value=0.0))


def _history_window(as_of: date, days: int) -> tuple[date, date]:
    days = max(1, min(days, MAX_HISTORY_DAYS))
    return as_of - timedelta(days=days - 1), as_of


def platform_series(*, as_of: date, days: int = MAX_HISTORY_DAYS) -> list[EntitySeries]:
    """The workspace total first, then one series per platform that has data in the window."""
    date_from, date_to = _history_window(as_of, days)
    result = metrics_query(
        MetricsQuery(metrics=SUM_METRICS, date_from=date_from, date_to=date_to, dimensions=("day", "platform"))
    )
    frame = _frame(result.rows, SUM_METRICS)
    if frame.empty or not (frame[list(SUM_METRICS)].to_numpy().sum() > 0):
        return []
    out = [EntitySeries(WORKSPACE, _daily(frame))]
    for code, rows in frame.groupby("platform", sort=True):
        out.append(EntitySeries(Entity(Scope.PLATFORM, str(code), platform_label(str(code)), str(code)), _daily(rows)))
    return out


def top_campaigns(*, as_of: date, limit: int, days: int = 28) -> list[Entity]:
    """Campaigns with the most spend in the last `days` days (the ones worth scoring nightly)."""
    date_from, date_to = _history_window(as_of, days)
    result = metrics_query(
        MetricsQuery(
            metrics=("spend",),
            date_from=date_from,
            date_to=date_to,
            dimensions=("campaign",),
            order_by=("-spend",),
            limit=limit,
        )
    )
    return [
        Entity(Scope.CAMPAIGN, row["campaign"], row.get("campaign_name") or row["campaign"], row.get("platform") or "")
        for row in result.rows
        if (row.get("spend") or 0) > 0
    ]


def campaign_series(*, campaigns: Sequence[Entity], as_of: date, days: int = MAX_HISTORY_DAYS) -> list[EntitySeries]:
    """Daily series of the given campaigns, in the order given."""
    if not campaigns:
        return []
    date_from, date_to = _history_window(as_of, days)
    result = metrics_query(
        MetricsQuery(
            metrics=SUM_METRICS,
            date_from=date_from,
            date_to=date_to,
            dimensions=("day", "campaign"),
            filters={"campaign": tuple(c.key for c in campaigns)},
        )
    )
    frame = _frame(result.rows, SUM_METRICS)
    if frame.empty:
        return []
    by_key = {str(k): rows for k, rows in frame.groupby("campaign", sort=False)}
    return [EntitySeries(c, _daily(by_key[c.key])) for c in campaigns if c.key in by_key]


def entity_series(*, entity: Entity, as_of: date, days: int = MAX_HISTORY_DAYS) -> EntitySeries | None:
    """One entity's series (for a detail chart); None when it has no data in the window."""
    if entity.scope == Scope.CAMPAIGN:
        found = campaign_series(campaigns=[entity], as_of=as_of, days=days)
        return found[0] if found else None
    for series in platform_series(as_of=as_of, days=days):
        if series.entity.scope == entity.scope and series.entity.key == entity.key:
            return series
    return None


def channel_history(*, scope: str, as_of: date, days: int, campaigns: Sequence[Entity] = ()) -> pd.DataFrame:
    """One row per day: spend per channel (platform, or campaign key) and the outcome sums.

    The budget planner's input: columns `spend:<channel>` plus `conversions` and
    `conversion_value` summed over the same channels, zero-filled over the whole window.
    """
    date_from, date_to = _history_window(as_of, days)
    if scope == Scope.CAMPAIGN:
        result = metrics_query(
            MetricsQuery(
                metrics=SUM_METRICS,
                date_from=date_from,
                date_to=date_to,
                dimensions=("day", "campaign"),
                filters={"campaign": tuple(c.key for c in campaigns)},
            )
        )
        column = "campaign"
    else:
        result = metrics_query(
            MetricsQuery(metrics=SUM_METRICS, date_from=date_from, date_to=date_to, dimensions=("day", "platform"))
        )
        column = "platform"
    frame = _frame(result.rows, SUM_METRICS)
    days_index = pd.date_range(date_from, date_to, freq="D", name="day")
    if frame.empty:
        return pd.DataFrame(index=days_index)
    spend = (
        frame.pivot_table(index="day", columns=column, values="spend", aggfunc="sum").reindex(days_index).fillna(0.0)
    )
    spend.columns = [f"spend:{c}" for c in spend.columns]
    outcome = frame.groupby("day")[["conversions", "conversion_value"]].sum().reindex(days_index).fillna(0.0)
    return pd.concat([spend, outcome], axis=1)


def data_days(*, as_of: date) -> int:
    """How many days of data the workspace has up to `as_of` (for "not enough history" notes)."""
    series = platform_series(as_of=as_of, days=MAX_HISTORY_DAYS)
    return len(series[0].frame) if series else 0
