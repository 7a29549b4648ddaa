"""The Store page: what the shop really sold beside what the ads cost.

Orders, revenue, refunds, AOV, new vs returning customers (tiles with the compare period), a daily
chart of store revenue and refunds, new vs returning customers per day, top products and the latest
refunds. Totals and series come from the metrics layer (store metrics are defined once in
`warehouse.metrics`); lists come from the warehouse's store selectors.
"""

from __future__ import annotations

from dataclasses import dataclass

from insights import charts
from insights.selectors import dashboards as dash
from insights.selectors.dashboard_state import DashboardState
from insights.selectors.dashboards import Kpi
from insights.selectors.pages import Page
from warehouse.metrics import metric_label
from warehouse.queries import MetricsQuery
from warehouse.selectors import store as store_reads

STORE_TILES = ("store_revenue", "orders", "aov", "refunds", "new_customers", "returning_customers", "mer")
STORE_SERIES = ("store_revenue", "refunds", "orders", "new_customers", "returning_customers", "spend")
NEW_COLOR = "#16a34a"  # the Shopify platform colour: first orders
RETURNING_COLOR = "#475569"


@dataclass(frozen=True)
class StorePage(Page):
    connected: bool
    kpis: list[Kpi]
    revenue_chart: charts.Figure | None
    customers_chart: charts.Figure | None
    tables: store_reads.StoreTables | None


def store_page(*, state: DashboardState, currency: str) -> StorePage:
    if not store_reads.store_connected():
        return StorePage(connected=False, kpis=[], revenue_chart=None, customers_chart=None, tables=None)
    total = dash.answer(
        MetricsQuery(metrics=STORE_TILES, date_from=state.date_from, date_to=state.date_to, compare=state.compare)
    )
    series = dash.daily(state, dash.Slice({}), by="", sums=STORE_SERIES)
    revenue = charts.lines_figure(
        [
            charts.line(metric_label("store_revenue"), series.days, series.values("store_revenue"), color=NEW_COLOR),
            charts.line(metric_label("refunds"), series.days, series.values("refunds"), color="#dc2626"),
            charts.line(metric_label("spend"), series.days, series.values("spend"), color=charts.SPEND_COLOR),
        ],
        metric="store_revenue",
        currency=currency,
        height=300,
    )
    customers = charts.lines_figure(
        [
            charts.line(metric_label("new_customers"), series.days, series.values("new_customers"), color=NEW_COLOR),
            charts.line(
                metric_label("returning_customers"),
                series.days,
                series.values("returning_customers"),
                color=RETURNING_COLOR,
            ),
        ],
        metric="orders",
        currency=currency,
        height=300,
    )
    return StorePage(
        connected=True,
        kpis=dash.kpi_tiles(state, total, series, currency, metrics=STORE_TILES),
        revenue_chart=revenue,
        customers_chart=customers,
        tables=store_reads.store_tables(date_from=state.date_from, date_to=state.date_to),
    )
