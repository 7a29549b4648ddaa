"""Every metric Bosco shows, defined once: sums of stored measures and ratios of those sums.

This is the one metric catalogue: name, label, unit, direction (is a rise good news?) and how
to compute it. Pages, the API, e-mail and the insight models read labels, units and directions
only from here (`metric_label`, `metric_unit`, `higher_is_better`) and format values through
`format_metric` / `plotly_tickformat`, which pick the unit here and leave the writing of a unit
(currency symbol, digit grouping, decimals) to `bosco.formatting` — the project core knows units
and number formats, not metrics, so it sits below every app.

Pure Python (no Django), so every consumer shares one definition and it is cheap to test. A ratio is always computed from the sums of its parts over exactly the
rows asked for — CTR of a week is Σclicks / Σimpressions, never the mean of daily CTRs.

Stored measures are integers: counts as they are, money and fractional conversions in micros
(10⁻⁶). `SumMetric.value` turns a sum into the metric's unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from bosco.formatting import Unit, format_value, plotly_format

MICROS = Decimal(1_000_000)


@dataclass(frozen=True)
class SumMetric:
    """The sum of a stored measure (column of the facts and rollups)."""

    name: str
    label: str
    column: str
    unit: Unit
    #: the stored integer is this many times the value (10⁶ for micros)
    scale: int = 1
    #: whether a rise is good news (spend rising is not "green")
    higher_is_better: bool | None = None
    #: which fact provides it: "ads" (fct_ad_performance_daily and its rollups), "orders"
    #: (fct_orders_daily), "sessions" (fct_sessions_daily); `warehouse.queries.FACT_SOURCES` says
    #: where a source's columns live
    source: str = "ads"
    #: smallest daily amount at which a change in it is worth an anomaly alert (money in the
    #: workspace currency); ratios need both components at this level (insights.services.anomaly_rules)
    alert_min_volume: float = 0.0

    def value(self, total: int | None) -> Decimal | int | None:
        if total is None:
            return None
        if self.scale == 1:
            return int(total)
        if self.scale == 1_000_000:
            return Decimal(int(total)).scaleb(-6)  # exact, and cheaper than a division
        return Decimal(int(total)) / Decimal(self.scale)


@dataclass(frozen=True)
class RatioMetric:
    """numerator / denominator × multiplier, from sums; None when the denominator is 0."""

    name: str
    label: str
    numerator: str
    denominator: str
    unit: Unit
    multiplier: int = 1
    higher_is_better: bool | None = None

    @property
    def sources(self) -> frozenset[str]:
        """The facts its parts come from: two for a blended metric (MER: orders over ads)."""
        return frozenset({SUMS[self.numerator].source, SUMS[self.denominator].source})

    def value(self, sums: Mapping[str, Decimal | int | None]) -> float | None:
        """From metric values (`{"spend": Decimal("12.5"), "clicks": 10}`)."""
        num, den = sums.get(self.numerator), sums.get(self.denominator)
        if num is None or den is None or den == 0:
            return None
        return float(num) / float(den) * self.multiplier

    def from_columns(self, column_sums: Mapping[str, int | None]) -> float | None:
        """From stored-column sums, in exactly the floating-point steps `sql_value` uses."""
        num, den = SUMS[self.numerator], SUMS[self.denominator]
        a, b = column_sums.get(num.column), column_sums.get(den.column)
        if a is None or b is None or b == 0:
            return None
        return (float(a) / num.scale) / (float(b) / den.scale) * self.multiplier


Metric = SumMetric | RatioMetric

SUMS: dict[str, SumMetric] = {
    m.name: m
    for m in (
        SumMetric(
            "spend", "Spend", "spend_micros", "money", scale=1_000_000, higher_is_better=None, alert_min_volume=20.0
        ),
        SumMetric("impressions", "Impressions", "impressions", "count", higher_is_better=True, alert_min_volume=1000.0),
        SumMetric("clicks", "Clicks", "clicks", "count", higher_is_better=True, alert_min_volume=20.0),
        SumMetric(
            "conversions",
            "Conversions",
            "conversions_micros",
            "count",
            scale=1_000_000,
            higher_is_better=True,
            alert_min_volume=5.0,
        ),
        SumMetric(
            "conversion_value",
            "Revenue",
            "conversions_value_micros",
            "money",
            scale=1_000_000,
            higher_is_better=True,
            alert_min_volume=50.0,
        ),
        # --- the store (Shopify, fct_orders_daily), in the reporting currency -------------------
        SumMetric(
            "store_revenue",
            "Store revenue",
            "net_revenue_micros",
            "money",
            scale=1_000_000,
            higher_is_better=True,
            source="orders",
            alert_min_volume=50.0,
        ),
        SumMetric("orders", "Orders", "orders", "count", higher_is_better=True, source="orders", alert_min_volume=5.0),
        SumMetric(
            "new_customers",
            "New customers",
            "new_customers",
            "count",
            higher_is_better=True,
            source="orders",
            alert_min_volume=5.0,
        ),
        SumMetric(
            "returning_customers",
            "Returning customers",
            "returning_customers",
            "count",
            higher_is_better=True,
            source="orders",
        ),
        SumMetric("items", "Items sold", "items", "count", higher_is_better=True, source="orders"),
        SumMetric(
            "gross_sales",
            "Gross sales",
            "gross_sales_micros",
            "money",
            1_000_000,
            higher_is_better=True,
            source="orders",
        ),
        SumMetric("discounts", "Discounts", "discounts_micros", "money", 1_000_000, source="orders"),
        SumMetric("refunds", "Refunds", "refunds_micros", "money", 1_000_000, higher_is_better=False, source="orders"),
        SumMetric(
            "new_customer_revenue",
            "New-customer revenue",
            "new_customer_revenue_micros",
            "money",
            1_000_000,
            higher_is_better=True,
            source="orders",
        ),
        # --- the site (GA4, fct_sessions_daily), revenue in the reporting currency ------------------
        SumMetric("sessions", "Sessions", "sessions", "count", higher_is_better=True, source="sessions"),
        SumMetric(
            "engaged_sessions",
            "Engaged sessions",
            "engaged_sessions",
            "count",
            higher_is_better=True,
            source="sessions",
        ),
        SumMetric("key_events", "Key events", "key_events", "count", higher_is_better=True, source="sessions"),
        SumMetric(
            "purchase_revenue",
            "Purchase revenue (GA4)",
            "purchase_revenue_micros",
            "money",
            scale=1_000_000,
            higher_is_better=True,
            source="sessions",
        ),
    )
}
RATIOS: dict[str, RatioMetric] = {
    m.name: m
    for m in (
        RatioMetric("ctr", "CTR", "clicks", "impressions", "percent", multiplier=100, higher_is_better=True),
        RatioMetric("cpc", "CPC", "spend", "clicks", "money", higher_is_better=False),
        RatioMetric("cpm", "CPM", "spend", "impressions", "money", multiplier=1000, higher_is_better=False),
        RatioMetric("cpa", "CPA", "spend", "conversions", "money", higher_is_better=False),
        RatioMetric("roas", "ROAS", "conversion_value", "spend", "ratio", higher_is_better=True),
        RatioMetric("cvr", "CVR", "conversions", "clicks", "percent", multiplier=100, higher_is_better=True),
        RatioMetric("aov", "AOV", "store_revenue", "orders", "money", higher_is_better=True),
        # Blended: a store fact over the ad fact, joined by day in the reporting currency.
        RatioMetric("mer", "MER", "store_revenue", "spend", "ratio", higher_is_better=True),
        RatioMetric("blended_cac", "Blended CAC", "spend", "new_customers", "money", higher_is_better=False),
        RatioMetric(
            "new_customer_roas", "New-customer ROAS", "new_customer_revenue", "spend", "ratio", higher_is_better=True
        ),
        #: what the platforms claim over what the store took: 1.4× means 40 % more than really sold
        RatioMetric("platform_over_reporting", "Platform over-reporting", "conversion_value", "store_revenue", "ratio"),
        # The site: GA4's own conversion and engagement rates, and the store's orders over GA4's sessions.
        RatioMetric(
            "ga4_conversion_rate",
            "Conversion rate (GA4)",
            "key_events",
            "sessions",
            "percent",
            multiplier=100,
            higher_is_better=True,
        ),
        RatioMetric(
            "engagement_rate",
            "Engagement rate",
            "engaged_sessions",
            "sessions",
            "percent",
            multiplier=100,
            higher_is_better=True,
        ),
        RatioMetric(
            "conversion_rate", "Conversion rate", "orders", "sessions", "percent", multiplier=100, higher_is_better=True
        ),
    )
}
#: Names reserved for metrics whose fact is not in the warehouse yet.
PLANNED: dict[str, str] = {}
ALIASES: dict[str, str] = {"revenue": "conversion_value", "conversions_value": "conversion_value"}
METRICS: dict[str, Metric] = {**SUMS, **RATIOS}
#: GA4's measures and ratios (source "sessions": fct_sessions_daily), for the Channels page's reads
#: (warehouse.selectors.sessions); they are in the catalogue above like every other metric.
SESSION_SUMS: dict[str, SumMetric] = {k: v for k, v in SUMS.items() if v.source == "sessions"}
SESSION_RATIOS: dict[str, RatioMetric] = {k: v for k, v in RATIOS.items() if v.sources == {"sessions"}}
SESSION_METRICS: dict[str, Metric] = {**SESSION_SUMS, **SESSION_RATIOS}


class UnknownMetric(ValueError):
    pass


def resolve(name: str) -> Metric:
    key = ALIASES.get(name, name)
    if key in METRICS:
        return METRICS[key]
    if key in PLANNED:
        raise UnknownMetric(f"{name}: not available yet — {PLANNED[key]}")
    raise UnknownMetric(f"unknown metric {name!r}; known: {', '.join(sorted(METRICS))}")


def metric_label(name: str) -> str:
    """The metric's name as pages, the API and e-mail write it ("ROAS", "Revenue").

    A name outside the catalogue (a filter typed into a URL, a planned metric) reads as itself,
    capitalised, instead of failing the page that shows it.
    """
    try:
        return resolve(name).label
    except UnknownMetric:
        return name.replace("_", " ").capitalize()


def metric_unit(name: str) -> Unit:
    """money, count, ratio or percent; a name outside the catalogue counts as a count."""
    try:
        return resolve(name).unit
    except UnknownMetric:
        return "count"


def higher_is_better(name: str) -> bool | None:
    """Whether a rise is good news; None when it depends (spend rising is not "green")."""
    return resolve(name).higher_is_better


def format_metric(name: str, value: float | int | Decimal | None, currency: str) -> str:
    """A metric value in its unit: money in the currency, ROAS as 3.20×, CTR as 1.25%."""
    return format_value(metric_unit(name), value, currency)


def plotly_tickformat(name: str, currency: str) -> dict[str, str]:
    """Axis tick and hover formats of a chart of metric `name` (d3-format)."""
    return plotly_format(metric_unit(name), currency)


def metric_sources(name: str) -> frozenset[str]:
    """The facts a metric reads: {"ads"}, {"orders"}, or both for a blended metric such as MER."""
    metric = resolve(name)
    return frozenset({metric.source}) if isinstance(metric, SumMetric) else metric.sources


def base_sums(names: Iterable[str]) -> list[SumMetric]:
    """The stored sums needed to compute `names`, in a stable order."""
    needed: set[str] = set()
    for name in names:
        metric = resolve(name)
        if isinstance(metric, SumMetric):
            needed.add(metric.name)
        else:
            needed.update((metric.numerator, metric.denominator))
    return [m for m in SUMS.values() if m.name in needed]


class Evaluator:
    """Computes a fixed list of metrics from rows of stored-column sums (resolved once)."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = list(names)
        self.metrics = [resolve(n) for n in self.names]
        self.sums = base_sums(self.names)

    def __call__(self, column_sums: Mapping[str, int | None]) -> dict[str, Decimal | int | float | None]:
        return {
            name: metric.value(column_sums.get(metric.column))
            if isinstance(metric, SumMetric)
            else metric.from_columns(column_sums)
            for name, metric in zip(self.names, self.metrics, strict=True)
        }


def compute(names: Iterable[str], column_sums: Mapping[str, int | None]) -> dict[str, Decimal | int | float | None]:
    """Metric values from stored-column sums (`{"spend_micros": 12_000_000, ...}`)."""
    return Evaluator(names)(column_sums)


def sql_value(name: str, alias: str) -> str:
    """SQL computing metric `name` from a row of summed stored columns (`alias.spend_micros`, ...).

    Sums come back exact (integers, or numeric with 6 decimals for micros); ratios as double
    precision, computed in the same steps as `RatioMetric.from_columns`.
    """
    metric = resolve(name)
    if isinstance(metric, SumMetric):
        column = f"{alias}.{metric.column}"
        return column if metric.scale == 1 else f"round({column} / {metric.scale}.0, 6)"
    num, den = SUMS[metric.numerator], SUMS[metric.denominator]
    return (
        f"(({alias}.{num.column}::float8 / {num.scale}) / nullif({alias}.{den.column}::float8 / {den.scale}, 0)"
        f" * {metric.multiplier})"
    )


def sql_order_expression(name: str, alias: str = "q") -> str:
    """A SQL expression ranking rows by metric `name` over a row of summed stored columns."""
    metric = resolve(name)
    if isinstance(metric, SumMetric):
        return f"{alias}.{metric.column}"
    num, den = SUMS[metric.numerator].column, SUMS[metric.denominator].column
    # double precision: ranking needs order, not exactness, and numeric division is ~10× slower
    return f"({alias}.{num}::float8 / nullif({alias}.{den}, 0))"


def relative_change(current: Decimal | int | float | None, previous: Decimal | int | float | None) -> float | None:
    """(current − previous) / |previous|; None when there is no previous value to compare with."""
    if current is None or previous is None or previous == 0:
        return None
    return (float(current) - float(previous)) / abs(float(previous))
