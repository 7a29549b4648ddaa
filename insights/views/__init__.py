"""Workspace pages about performance: `dashboards` (overview, channels, campaigns) and
`models` (anomalies, forecasts, attribution, budget planner)."""
