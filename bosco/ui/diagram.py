"""Layout of a layered diagram (a DAG drawn left to right) for an inline SVG.

A UI helper of the project core: the Data sources page draws the warehouse's lineage with it,
and any page may draw a pipeline the same way. Pure Python: positions and SVG paths only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


def _get(item: Any, name: str, default: Any = None) -> Any:
    """Attribute or key: nodes may be model instances, dataclasses or dicts."""
    if isinstance(item, Mapping):
        return item.get(name, default)
    return getattr(item, name, default)


@dataclass(frozen=True)
class DiagramNode:
    name: str
    layer: str
    x: float
    y: float
    w: float
    h: float
    status: str = ""
    title: str = ""


@dataclass(frozen=True)
class DiagramEdge:
    source: str
    target: str
    path: str


@dataclass(frozen=True)
class Diagram:
    width: float
    height: float
    nodes: list[DiagramNode]
    edges: list[DiagramEdge]
    columns: list[tuple[float, str]]


def layered_diagram(
    nodes: Iterable[Any],
    edges: Iterable[tuple[str, str]],
    *,
    layers: Sequence[str | tuple[str, ...]] | None = None,
    box_w: float = 188.0,
    box_h: float = 30.0,
    gap_x: float = 56.0,
    gap_y: float = 12.0,
    margin: float = 8.0,
) -> Diagram:
    """Left-to-right layout of a DAG (the warehouse's lineage) for an inline SVG.

    Columns are each node's longest path from a source, so every edge points right — or, with
    `layers` (e.g. ("sources", "seeds"), staging, dimensions, facts, rollups), one column per
    layer or group of layers, which
    keeps the diagram as wide as the warehouse has layers; edges inside a layer then arc along
    its right side. Within a column nodes are ordered by depth and the mean position of their
    inputs, which keeps most edges short and uncrossed. `nodes` have name, layer and optionally
    status/title.
    """
    info = {str(_get(n, "name")): n for n in nodes}
    edge_list = [(str(a), str(b)) for a, b in edges]
    for a, b in edge_list:
        for name in (a, b):
            if name not in info:
                info[name] = {"name": name, "layer": "sources"}
    inputs: dict[str, list[str]] = {name: [] for name in info}
    for a, b in edge_list:
        if a != b:
            inputs[b].append(a)
    depth: dict[str, int] = {}

    def rank(name: str, trail: frozenset[str] = frozenset()) -> int:
        if name in depth:
            return depth[name]
        parents = [p for p in inputs[name] if p not in trail]
        value = 0 if not parents else 1 + max(rank(p, trail | {name}) for p in parents)
        depth[name] = value
        return value

    for name in info:
        rank(name)
    order: dict[str, int] = {}
    for i, group in enumerate(layers or ()):
        for layer_name in (group,) if isinstance(group, str) else group:
            order[layer_name] = i

    def column_of(name: str) -> int:
        if order:
            return order.get(str(_get(info[name], "layer", "")), len(order))
        return depth[name]

    by_column: dict[int, list[str]] = {}
    for name in depth:
        by_column.setdefault(column_of(name), []).append(name)
    # Columns may be empty (a layer without models): close the gaps.
    renumber = {col: i for i, col in enumerate(sorted(by_column))}
    by_column = {renumber[col]: names for col, names in by_column.items()}
    position: dict[str, float] = {}
    for col in sorted(by_column):
        names = by_column[col]
        names.sort(
            key=lambda n: (
                depth[n],
                sum(position.get(p, 0.0) for p in inputs[n]) / max(1, len(inputs[n])) if inputs[n] else 0.0,
                str(_get(info[n], "layer", "")),
                n,
            )
        )
        for i, name in enumerate(names):
            position[name] = float(i)
    tallest = max(len(v) for v in by_column.values()) if by_column else 0
    height = margin * 2 + tallest * box_h + max(0, tallest - 1) * gap_y
    placed: dict[str, DiagramNode] = {}
    columns: list[tuple[float, str]] = []
    for col in sorted(by_column):
        names = by_column[col]
        x = margin + col * (box_w + gap_x)
        column_h = len(names) * box_h + max(0, len(names) - 1) * gap_y
        top = (height - column_h) / 2
        column_layers = {str(_get(info[n], "layer", "")) for n in names}
        columns.append((x, " / ".join(sorted(column_layers))))
        for i, name in enumerate(names):
            node = info[name]
            placed[name] = DiagramNode(
                name=name,
                layer=str(_get(node, "layer", "")),
                x=x,
                y=top + i * (box_h + gap_y),
                w=box_w,
                h=box_h,
                status=str(_get(node, "status", "") or ""),
                title=str(_get(node, "title", "") or ""),
            )
    paths = []
    for a, b in edge_list:
        if a == b or a not in placed or b not in placed:
            continue
        s, t = placed[a], placed[b]
        if s.x == t.x:  # same column: an arc along its right side
            x, y1, y2 = s.x + s.w, s.y + s.h / 2, t.y + t.h / 2
            bulge = min(gap_x - 10, 14.0 + abs(y2 - y1) / 8)
            paths.append(
                DiagramEdge(
                    a, b, f"M{x:.1f},{y1:.1f} C{x + bulge:.1f},{y1:.1f} {x + bulge:.1f},{y2:.1f} {x:.1f},{y2:.1f}"
                )
            )
            continue
        x1, y1 = s.x + s.w, s.y + s.h / 2
        x2, y2 = t.x, t.y + t.h / 2
        bend = max(24.0, (x2 - x1) / 2)
        paths.append(
            DiagramEdge(
                a, b, f"M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
            )
        )
    width = margin * 2 + len(by_column) * box_w + max(0, len(by_column) - 1) * gap_x
    if order:  # room for the arcs of edges inside the last column
        width += gap_x / 2
    return Diagram(width=width, height=height, nodes=list(placed.values()), edges=paths, columns=columns)
