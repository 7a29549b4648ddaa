"""Every Plotly figure Bosco draws, one module per chart family, one way to build each figure.

- `base`: palette, fonts, the base layout, the workspace's number format on every axis;
- `timeseries`: daily lines and stacked areas, forecast bands, expected ranges, anomaly markers,
  settling-day shading;
- `bars`: platforms against the compare period, attribution credit, the budget allocation;
- `curves`: the budget planner's response curves;
- `sparklines`: SVG points of tiny lines for KPI tiles and table rows.

Each builder takes plain values (lists, dicts, dataclasses or model instances with the named
attributes) and returns a plain figure dict that a page embeds as it is (`json_script`); the
lineage diagram's layout is a core UI helper (`bosco.ui.diagram`). No Django import.
"""

from insights.charts.bars import (
    MODEL_COLORS,
    MODEL_LABELS,
    MODEL_SHORT_LABELS,
    attribution_bar,
    budget_allocation_bar,
    channel_swatches,
    compare_bars_figure,
)
from insights.charts.base import ACCENT, Figure, base_layout, rgba
from insights.charts.curves import response_curves_figure
from insights.charts.sparklines import sparkline_points
from insights.charts.timeseries import (
    SEVERITY_COLORS,
    SEVERITY_SIZES,
    SPEND_COLOR,
    Line,
    add_settling_shading,
    anomaly_marker_traces,
    expected_band_traces,
    forecast_band_traces,
    line,
    lines_figure,
    stacked_area_figure,
)

__all__ = [
    "ACCENT",
    "MODEL_COLORS",
    "MODEL_LABELS",
    "MODEL_SHORT_LABELS",
    "SEVERITY_COLORS",
    "SEVERITY_SIZES",
    "SPEND_COLOR",
    "Figure",
    "Line",
    "add_settling_shading",
    "anomaly_marker_traces",
    "attribution_bar",
    "base_layout",
    "budget_allocation_bar",
    "channel_swatches",
    "compare_bars_figure",
    "expected_band_traces",
    "forecast_band_traces",
    "line",
    "lines_figure",
    "response_curves_figure",
    "rgba",
    "sparkline_points",
    "stacked_area_figure",
]
