"""Digest charts as small PNG images (Pillow), which every mail client shows: no SVG, no script.

Pure Python with Pillow, no Django. A chart is the period's daily values as a line with a soft
area, the previous period as a dashed grey line for comparison. It is drawn at twice its size
and scaled down (anti-aliased lines), then reduced to a small palette so a PNG weighs a few KB.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Sequence

from PIL import Image, ImageDraw

WIDTH, HEIGHT = 560, 120
SCALE = 2
PAD = 8


def _hex(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    if len(color) != 6:
        return (79, 70, 229)
    return (int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16))


def _points(values: Sequence[float | None], low: float, high: float, count: int) -> list[tuple[float, float]]:
    span = high - low or 1.0
    width, height = WIDTH * SCALE, HEIGHT * SCALE
    pad = PAD * SCALE
    step = (width - 2 * pad) / max(count - 1, 1)
    points = []
    for index, value in enumerate(values):
        if value is None:
            continue
        x = pad + index * step
        y = height - pad - (float(value) - low) / span * (height - 2 * pad)
        points.append((x, y))
    return points


def _dashed(draw: ImageDraw.ImageDraw, points: list[tuple[float, float]], color: tuple[int, int, int]) -> None:
    dash, gap = 10 * SCALE, 6 * SCALE
    for (x1, y1), (x2, y2) in itertools.pairwise(points):
        length = ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5 or 1.0
        position = 0.0
        while position < length:
            end = min(position + dash, length)
            a, b = position / length, end / length
            draw.line((x1 + (x2 - x1) * a, y1 + (y2 - y1) * a, x1 + (x2 - x1) * b, y1 + (y2 - y1) * b),
                      fill=color, width=2 * SCALE)  # fmt: skip
            position += dash + gap


def line_chart_png(
    current: Sequence[float | None], previous: Sequence[float | None] = (), *, color: str = "#4f46e5"
) -> bytes:
    """A PNG of `current` (solid, filled) over `previous` (dashed grey), same x positions."""
    count = max(len(current), len(previous), 2)
    numbers = [float(v) for v in (*current, *previous) if v is not None]
    low = min([0.0, *numbers]) if numbers else 0.0
    high = max(numbers) if numbers else 1.0
    high = high + (high - low) * 0.08 or 1.0
    rgb = _hex(color)
    image = Image.new("RGB", (WIDTH * SCALE, HEIGHT * SCALE), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    baseline_y = HEIGHT * SCALE - PAD * SCALE
    draw.line((PAD * SCALE, baseline_y, (WIDTH - PAD) * SCALE, baseline_y), fill=(226, 232, 240), width=SCALE)
    line = _points(current, low, high, count)
    if len(line) >= 2:
        fill = tuple(int(c + (255 - c) * 0.85) for c in rgb)
        draw.polygon([(line[0][0], baseline_y), *line, (line[-1][0], baseline_y)], fill=fill)
    before = _points(previous, low, high, count)
    if len(before) >= 2:
        _dashed(draw, before, (148, 163, 184))
    if len(line) >= 2:
        draw.line(line, fill=rgb, width=3 * SCALE, joint="curve")
    for x, y in line[-1:]:
        r = 4 * SCALE
        draw.ellipse((x - r, y - r, x + r, y + r), fill=rgb)
    small = image.reduce(SCALE)  # a box filter: anti-aliased edges at a fraction of LANCZOS's cost
    paletted = small.quantize(colors=32, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    paletted.save(out, format="PNG", optimize=True)
    return out.getvalue()
