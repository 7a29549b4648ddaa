"""One metric catalogue: every label, unit and direction Bosco shows comes from warehouse.metrics.

A second table of metric labels, units or directions anywhere in the product drifts (one said
"Conversion value" where the pages said "Revenue"), so the source is searched for one, and the
API, the template filters, the dashboard tables and the charts are checked to say what the
catalogue says. Pure Python: no database.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from insights.charts import lines_figure
from insights.selectors import dashboards
from insights.templatetags.dashboard_tags import metric_name
from insights.templatetags.insights_tags import metric_label as metric_label_filter
from warehouse import metrics as m
from warehouse.api.views import _column

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("accounts", "billing", "bosco", "connectors", "warehouse", "insights")
CATALOGUE = ROOT / "warehouse" / "metrics.py"
#: insights.ml is a model library that may import no app (the layer contract): it words its
#: explanations itself unless the product hands it the catalogue's label and unit.
OUTSIDE_THE_PRODUCT = (ROOT / "insights" / "ml",)
METRIC_NAMES = set(m.METRICS) | set(m.ALIASES)


def _product_modules() -> list[Path]:
    return [
        path
        for app in PRODUCT
        for path in (ROOT / app).rglob("*.py")
        if path != CATALOGUE
        and "migrations" not in path.parts
        and not any(path.is_relative_to(outside) for outside in OUTSIDE_THE_PRODUCT)
    ]


def _metric_tables(tree: ast.AST) -> list[tuple[int, list[str]]]:
    """Dict literals keyed by three or more metric names whose values are constants: a table of
    labels, units or directions per metric (a second catalogue)."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Dict):
            continue
        keys = [k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
        named = [k for k in keys if k in METRIC_NAMES]
        constant_values = all(isinstance(v, ast.Constant) for v in node.values)
        if len(named) >= 3 and constant_values:
            found.append((node.lineno, named))
    return found


def test_no_product_module_keeps_a_second_table_of_metric_labels_units_or_directions() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line} defines {', '.join(names)}"
        for path in _product_modules()
        for line, names in _metric_tables(ast.parse(path.read_text(), filename=str(path)))
    ]
    assert offenders == [], "metric definitions belong in warehouse/metrics.py only"


def test_the_drift_check_finds_a_table_like_the_one_that_drifted() -> None:
    # the shape of the old insights.formatting.METRIC_LABELS
    source = 'LABELS = {"spend": "Spend", "conversion_value": "Revenue", "roas": "ROAS"}\nCOLS = {"spend": 1}'
    assert _metric_tables(ast.parse(source)) == [(1, ["spend", "conversion_value", "roas"])]


@pytest.mark.parametrize("name", sorted(METRIC_NAMES))
def test_api_template_filters_and_tables_use_the_catalogue_label_and_unit(name: str) -> None:
    metric = m.resolve(name)
    assert _column(metric.name)["label"] == metric.label == m.metric_label(name)
    assert _column(metric.name)["unit"] == metric.unit == m.metric_unit(name)
    assert metric_label_filter(name) == metric.label
    assert metric_name(name) == metric.label


def test_dashboard_table_columns_are_labelled_by_the_catalogue() -> None:
    assert [(c.metric, c.label) for c in dashboards.columns()] == [
        (name, m.METRICS[name].label) for name in dashboards.TABLE_METRICS
    ]


def test_pages_and_api_name_conversion_value_the_same() -> None:
    # the two catalogues disagreed here: the API said "Conversion value", the pages "Revenue"
    assert _column("conversion_value")["label"] == metric_label_filter("conversion_value") == "Revenue"


@pytest.mark.parametrize(
    ("name", "value", "text", "tick"),
    [
        ("spend", 1234.5, "€1,234", {"tickprefix": "€"}),
        ("roas", 3.2, "3.20×", {"ticksuffix": "×"}),
        ("ctr", 1.25, "1.25%", {"ticksuffix": "%"}),
        ("clicks", 1234, "1,234", {"tickformat": "~s"}),
    ],
)
def test_values_and_chart_axes_are_written_in_the_catalogue_unit(
    name: str, value: float, text: str, tick: dict[str, str]
) -> None:
    assert m.format_metric(name, value, "EUR") == text
    axis = lines_figure([], metric=name, currency="EUR")["layout"]["yaxis"]
    assert tick.items() <= axis.items()


def test_direction_comes_from_the_catalogue() -> None:
    assert dashboards.delta_for("cpa", 0.2).tone == "bad"
    assert dashboards.delta_for("roas", 0.2).tone == "good"
    assert dashboards.delta_for("spend", 0.2).tone == "neutral"
    assert {name: m.higher_is_better(name) for name in ("cpa", "roas", "spend")} == {
        "cpa": False,
        "roas": True,
        "spend": None,
    }
