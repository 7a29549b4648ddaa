"""Every metric Bosco shows, defined once: sums of stored measures and ratios of those sums.

Pure Python (no Django), so pages, the API, digests and the insight models share one definition
and it is cheap to test. A ratio is always computed from the sums of its parts over exactly the
rows asked for — CTR of a week is Σclicks / Σimpressions, never the mean of daily CTRs.

Stored measures are integers: counts as they are, money and fractional conversions in micros
(10⁻⁶). `SumMetric.value` turns a sum into the metric's unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Unit = Literal["count", "money", "ratio", "percent"]
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
    #: which fact provides it; "orders" and "sessions" come with the Shopify / GA4 facts
    source: str = "ads"

    def value(self, total: int | None) -> Decimal | int | None:
        if total is None:
            return None
        if self.scale == 1:
            return int(total)
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
    source: str = "ads"

    def value(self, sums: Mapping[str, Decimal | int | None]) -> float | None:
        num, den = sums.get(self.numerator), sums.get(self.denominator)
        if num is None or den is None or den == 0:
            return None
        return float(Decimal(num) / Decimal(den) * self.multiplier)


Metric = SumMetric | RatioMetric

SUMS: dict[str, SumMetric] = {
    m.name: m
    for m in (
        SumMetric("spend", "Spend", "spend_micros", "money", scale=1_000_000, higher_is_better=None),
        SumMetric("impressions", "Impressions", "impressions", "count", higher_is_better=True),
        SumMetric("clicks", "Clicks", "clicks", "count", higher_is_better=True),
        SumMetric("conversions", "Conversions", "conversions_micros", "count", scale=1_000_000, higher_is_better=True),
        SumMetric(
            "conversion_value",
            "Conversion value",
            "conversions_value_micros",
            "money",
            scale=1_000_000,
            higher_is_better=True,
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
    )
}
#: Defined with the orders fact (Shopify) — listed so names stay reserved and documented.
PLANNED: dict[str, str] = {
    "mer": "MER = Shopify revenue / ad spend (needs the orders fact)",
    "aov": "AOV = Shopify revenue / orders (needs the orders fact)",
}
ALIASES: dict[str, str] = {"revenue": "conversion_value", "conversions_value": "conversion_value"}
METRICS: dict[str, Metric] = {**SUMS, **RATIOS}


class UnknownMetric(ValueError):
    pass


def resolve(name: str) -> Metric:
    key = ALIASES.get(name, name)
    if key in METRICS:
        return METRICS[key]
    if key in PLANNED:
        raise UnknownMetric(f"{name}: not available yet — {PLANNED[key]}")
    raise UnknownMetric(f"unknown metric {name!r}; known: {', '.join(sorted(METRICS))}")


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


def compute(names: Iterable[str], column_sums: Mapping[str, int | None]) -> dict[str, Decimal | int | float | None]:
    """Metric values from stored-column sums (`{"spend_micros": 12_000_000, ...}`)."""
    values: dict[str, Decimal | int | None] = {m.name: m.value(column_sums.get(m.column)) for m in SUMS.values()}
    out: dict[str, Decimal | int | float | None] = {}
    for name in names:
        metric = resolve(name)
        out[name] = values[metric.name] if isinstance(metric, SumMetric) else metric.value(values)
    return out


def sql_order_expression(name: str, alias: str = "q") -> str:
    """A SQL expression ranking rows by metric `name` over a row of summed stored columns."""
    metric = resolve(name)
    if isinstance(metric, SumMetric):
        return f"{alias}.{metric.column}"
    num, den = SUMS[metric.numerator].column, SUMS[metric.denominator].column
    return f"({alias}.{num}::numeric / nullif({alias}.{den}, 0))"


def relative_change(current: Decimal | int | float | None, previous: Decimal | int | float | None) -> float | None:
    """(current − previous) / |previous|; None when there is no previous value to compare with."""
    if current is None or previous is None or previous == 0:
        return None
    return float((Decimal(str(current)) - Decimal(str(previous))) / abs(Decimal(str(previous))))
