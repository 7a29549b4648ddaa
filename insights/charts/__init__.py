"""Every Plotly figure Bosco's insight and dashboard pages draw (split by chart family next)."""

from insights.charts.timeseries import *  # noqa: F403
