"""The dashboards' tables — platforms, ad accounts and campaigns with totals, deltas and daily
spend sparklines — and the campaigns that moved most (the Overview's movers).

Every question goes through `dashboards.answer` and the page size is `dashboards.PAGE_SIZE`,
both looked up when called: the pages benchmark records a page's questions and the tests shrink
the page by patching them there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bosco.platforms import platform_label
from insights.selectors import dashboards as base
from insights.selectors.dashboard_state import DashboardState
from insights.selectors.dashboards import (
    DEFAULT_SORT,
    MOVER_POOL,
    TABLE_METRICS,
    Delta,
    Slice,
    Table,
    TableRow,
    cells_for,
    columns,
    delta_for,
    number_or_none,
    sort_rows,
    spark_lines,
)
from warehouse.metrics import format_metric
from warehouse.queries import MetricsQuery, MetricsResult


def platform_rows(state: DashboardState, slice_: Slice) -> list[dict[str, Any]]:
    """Every table metric per platform with the compare period (rollup_day_platform), by spend."""
    result = base.answer(
        MetricsQuery(
            metrics=TABLE_METRICS,
            dimensions=("platform",),
            date_from=state.date_from,
            date_to=state.date_to,
            filters=slice_.filters,
            compare=state.compare,
            order_by=("-spend",),
        )
    )
    return result.rows


def platform_table(state: DashboardState, slice_: Slice, total_result: MetricsResult, currency: str) -> Table:
    """One row per platform (rollup_day_platform) with its spend sparkline."""
    sparks = spark_lines(state, slice_.filters, by="platform")
    rows = [
        TableRow(
            key=r["platform"],
            label=platform_label(r["platform"]),
            platform=r["platform"],
            cells=cells_for(r, currency, bool(state.compare)),
            spark=sparks.get(r["platform"], ""),
        )
        for r in sort_rows(platform_rows(state, slice_), state.sort or DEFAULT_SORT)
    ]
    total = cells_for(total_result.rows[0] if total_result.rows else {}, currency, bool(state.compare))
    return Table(columns(), rows, total, first=1 if rows else 0, last=len(rows), count=len(rows))


def account_table(
    state: DashboardState, slice_: Slice, total_result: MetricsResult, currency: str, *, page_size: int | None = None
) -> Table:
    """One row per ad account (rollup_day_account), sorted in Python, paginated."""
    page_size = page_size or base.PAGE_SIZE
    result = base.answer(
        MetricsQuery(
            metrics=TABLE_METRICS,
            dimensions=("account",),
            date_from=state.date_from,
            date_to=state.date_to,
            filters=slice_.filters,
            compare=state.compare,
        )
    )
    ordered = sort_rows(result.rows, state.sort or DEFAULT_SORT)
    start = (state.page - 1) * page_size
    shown = ordered[start : start + page_size]
    sparks = (
        spark_lines(state, {**slice_.filters, "account": tuple(r["account"] for r in shown)}, by="account")
        if shown
        else {}
    )
    rows = [
        TableRow(
            key=r["account"],
            label=r["account_name"],
            sublabel=platform_label(r["platform"]),
            platform=r["platform"],
            cells=cells_for(r, currency, bool(state.compare)),
            spark=sparks.get(r["account"], ""),
        )
        for r in shown
    ]
    total = cells_for(total_result.rows[0] if total_result.rows else {}, currency, bool(state.compare))
    return Table(
        columns(),
        rows,
        total,
        page=state.page,
        has_next=start + page_size < len(ordered),
        first=start + 1 if rows else 0,
        last=start + len(rows),
        count=len(ordered),
    )


def campaign_table(
    state: DashboardState,
    slice_: Slice,
    total_result: MetricsResult,
    currency: str,
    *,
    url_for: Any = None,
    page_size: int | None = None,
) -> Table:
    """A page of campaigns, sorted by the metrics layer (ORDER BY … LIMIT … OFFSET over
    rollup_campaign_cumulative: two rows per campaign whatever the range), with one daily
    spend query for the page's sparklines (rollup_day_campaign).

    The layer ranks every campaign but joins the compare period and names for the page's rows
    only; one row more than the page says whether there is a next page.
    """
    if slice_.nothing_matches:
        return Table(columns(), [], cells_for({}, currency, bool(state.compare)))
    page_size = page_size or base.PAGE_SIZE
    start = (state.page - 1) * page_size
    result = base.answer(
        MetricsQuery(
            metrics=TABLE_METRICS,
            dimensions=("campaign",),
            date_from=state.date_from,
            date_to=state.date_to,
            filters=slice_.filters,
            compare=state.compare,
            order_by=(state.sort or DEFAULT_SORT,),
            limit=page_size + 1,
            offset=start,
        )
    )
    shown = result.rows[:page_size]
    sparks = spark_lines(state, {"campaign": tuple(r["campaign"] for r in shown)}, by="campaign") if shown else {}
    rows = [
        TableRow(
            key=r["campaign"],
            label=r["campaign_name"],
            sublabel=r["account_name"],
            platform=r["platform"],
            url=url_for(r["campaign"]) if url_for else "",
            cells=cells_for(r, currency, bool(state.compare)),
            spark=sparks.get(r["campaign"], ""),
        )
        for r in shown
    ]
    total = cells_for(total_result.rows[0] if total_result.rows else {}, currency, bool(state.compare))
    return Table(
        columns(),
        rows,
        total,
        page=state.page,
        has_next=len(result.rows) > page_size,
        first=start + 1 if rows else 0,
        last=start + len(rows),
    )


# --------------------------------------------------------------------------- movers


@dataclass(frozen=True)
class Mover:
    campaign: str
    name: str
    account_name: str
    platform: str
    metric: str
    current: Any
    previous: Any
    difference: float
    current_text: str
    difference_text: str
    delta: Delta
    url: str


def movers(state: DashboardState, slice_: Slice, currency: str, *, url_for: Any = None, count: int = 6) -> list[Mover]:
    """Campaigns whose revenue (and spend) changed most against the compare period.

    Taken from the `MOVER_POOL` campaigns with the most spend in the period (one ORDER BY …
    LIMIT over rollup_campaign_cumulative with the compare period joined); a campaign that
    stopped spending altogether is not in that pool — the campaigns table sorted by spend
    change would show it.
    """
    if slice_.nothing_matches:
        return []
    compare = state.compare or "previous_period"
    result = base.answer(
        MetricsQuery(
            metrics=("spend", "conversion_value"),
            dimensions=("campaign",),
            date_from=state.date_from,
            date_to=state.date_to,
            filters=slice_.filters,
            compare=compare,
            order_by=("-spend",),
            limit=MOVER_POOL,
        )
    )
    # (row, metric, difference) of every change; only the chosen few are formatted and linked
    # (formatting and reversing URLs for all 400 candidates was most of the fragment's time).
    candidates: list[tuple[dict[str, Any], str, float]] = []
    for row in result.rows:
        for metric in ("conversion_value", "spend"):
            difference = float(row.get(metric) or 0) - float(row.get(f"{metric}_previous") or 0)
            if difference != 0:
                candidates.append((row, metric, difference))
    chosen: list[Mover] = []
    seen: set[str] = set()
    # Revenue moves first; a campaign appears once (its biggest move).
    for row, metric, difference in sorted(candidates, key=lambda c: (c[1] != "conversion_value", -abs(c[2]))):
        if row["campaign"] in seen:
            continue
        seen.add(row["campaign"])
        current, previous = row.get(metric), row.get(f"{metric}_previous")
        sign = "+" if difference > 0 else "−"
        chosen.append(
            Mover(
                campaign=row["campaign"],
                name=row["campaign_name"],
                account_name=row["account_name"],
                platform=row["platform"],
                metric=metric,
                current=current,
                previous=previous,
                difference=difference,
                current_text=format_metric(metric, number_or_none(current), currency),
                difference_text=sign + format_metric(metric, abs(difference), currency),
                delta=delta_for(metric, row.get(f"{metric}_change")),
                url=url_for(row["campaign"]) if url_for else "",
            )
        )
        if len(chosen) == count:
            break
    return sorted(chosen, key=lambda m: -m.difference)
