"""Sparklines: tiny lines of a series' shape for KPI tiles and table rows, as inline SVG."""

from __future__ import annotations

from collections.abc import Sequence


def sparkline_points(
    values: Sequence[float | None],
    *,
    width: float = 100.0,
    height: float = 28.0,
    pad: float = 3.0,
    zero_based: bool = False,
) -> str:
    """SVG polyline points ("0,26 4.2,20.1 …") of a tiny line scaled to its own range.

    Tables draw dozens of sparklines; as inline SVG they cost no JavaScript and no layout work,
    where a Plotly figure each would. A sparkline shows shape, so it spans its own minimum to
    maximum (`zero_based` starts the scale at 0 instead); a flat series is a line in the middle.
    Missing values are skipped (the line joins across them).
    """
    numbers = [None if v is None else float(v) for v in values]
    present = [v for v in numbers if v is not None]
    if len(numbers) < 2 or not present:
        return ""
    top, bottom = max(present), min(present)
    if zero_based:
        top, bottom = max(top, 0.0), min(bottom, 0.0)
    span = top - bottom
    step = width / (len(numbers) - 1)
    points = []
    for i, v in enumerate(numbers):
        if v is None:
            continue
        y = height / 2 if span == 0 else height - pad - (v - bottom) / span * (height - 2 * pad)
        points.append(f"{i * step:.1f},{y:.1f}")
    return " ".join(points)
