"""What makes a deviation worth an alert: volume gates, ratio metrics from their components, and
the sentence a marketer reads.

The detector (`insights.ml.anomaly`) judges any series it is given. Most of the noise the demo
workspace used to show came from what it was given: ROAS on a day with €0.03 of spend, one
conversion against a usual of none, a ratio over two tiny numbers. So:

- a sum metric's finding counts only when the value or the usual amount reaches the metric's
  minimum daily volume (`INSIGHTS_ANOMALY_MIN_VOLUME`, defaults below);
- a ratio (ROAS, CPA, CPC, CTR, CVR) is scored only on the days where both its components reach
  their minimums; the other days are gaps for the detector, not zeros or infinities;
- a day is judged only once its series has enough history before it (`judged_from`): a new
  campaign's second week, ramping up from days without conversions, is not compared with a
  seasonal profile the detector built from five days;
- a finding whose usual amount is below the metric's minimum volume is capped in severity
  (`severity_ceiling`): revenue of €56 against a usual €0.29 passes the gate on the day's value,
  but a jump from next to nothing is worth a look, not an alert;
- texts format numbers through the metric catalogue like every page (`format_metric`), and say
  "far above the usual" instead of a multiple when the usual amount is next to nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import numpy as np
import pandas as pd

from bosco.formatting import format_money
from insights.ml.anomaly import SEVERITY_Z, Severity
from insights.services.common import setting
from warehouse.metrics import RATIOS, SUMS, format_metric, metric_label, metric_unit

#: the catalogue's minimum daily volume of each sum (`SumMetric.alert_min_volume`)
MIN_VOLUME_DEFAULTS: dict[str, float] = {name: metric.alert_min_volume for name, metric in SUMS.items()}
#: a multiple above this reads as "far above the usual": 1120× says nothing a person can use
_LARGEST_MULTIPLE = 20.0
#: a usual amount below this share of the minimum volume is "next to nothing": at most "low"
_NEXT_TO_NOTHING = 0.1
#: a ratio or percent value beyond this is not quoted (a ROAS of 10¹⁸ came from €0.000001 of spend)
_LARGEST_RATIO = 1000.0


def min_volumes() -> dict[str, float]:
    """The defaults, overridden per metric by `settings.INSIGHTS_ANOMALY_MIN_VOLUME`."""
    overrides: Mapping[str, float] = setting("INSIGHTS_ANOMALY_MIN_VOLUME", {}) or {}
    return {**MIN_VOLUME_DEFAULTS, **{k: float(v) for k, v in overrides.items()}}


def components(metric: str) -> tuple[str, ...]:
    """The sums a metric is made of: itself for a sum, numerator and denominator for a ratio."""
    ratio = RATIOS.get(metric)
    return (ratio.numerator, ratio.denominator) if ratio else (metric,)


def scorable_values(frame: pd.DataFrame, metric: str, volumes: Mapping[str, float]) -> pd.Series:
    """The daily values of `metric` the detector may judge.

    A sum is returned from its first non-zero day on (its gate applies to findings: a fall to
    zero must stay visible). A ratio keeps only the days on which every component reaches its
    minimum volume.
    """
    if metric not in RATIOS:
        return _from_first_amount(frame[metric].dropna())
    enough = np.ones(len(frame), dtype=bool)
    for part in components(metric):
        enough &= frame[part].to_numpy(dtype=float) >= volumes.get(part, 0.0)
    return _from_first_amount(frame[metric][enough].dropna())


def _from_first_amount(values: pd.Series) -> pd.Series:
    """The series from its first non-zero day: leading zeros are a metric not yet measured.

    A new campaign's first days without conversions, or revenue before the tag was installed,
    are not a usual amount of nothing; scored, they also leave the detector a log-level of next
    to nothing in its weekly profile for four weeks (a usual of 10⁷ for €90). A fall to zero
    later on stays in the series and visible.
    """
    started = values.ne(0).cummax()
    return values[started]


def judged_from(values: pd.Series, min_days: int) -> pd.Timestamp | None:
    """The first day of `values` a finding may be raised on: the first with `min_days` values before it.

    The detector scores from its second week on, with a weekly profile and a spread read from
    the few days it has; the product waits until the series has the history it asks for. None
    when no day has that much.
    """
    if len(values) <= min_days:
        return None
    return pd.Timestamp(values.index[min_days])


#: days before a day whose median is the series' usual daily amount (`usual_levels`)
USUAL_DAYS = 28


def usual_levels(values: pd.Series, days: int = USUAL_DAYS) -> pd.Series:
    """Each day's usual amount: the median of the `days` days before it (NaN without any).

    The minimum volumes are daily amounts as a person reads them. The detector's expected value
    is a level on the log scale, below the arithmetic one for small counts: a campaign with five
    conversions on a typical day is expected at about 4.5, and its conversions falling to zero
    would be gated away while its median says it has the volume.
    """
    return values.astype(float).rolling(days, min_periods=1).median().shift(1)


def has_volume(
    metric: str, *, value: float, expected: float, volumes: Mapping[str, float], usual: float | None = None
) -> bool:
    """A sum's finding counts when the day, its expected or its usual amount reaches the minimum volume."""
    if metric in RATIOS:
        return True  # gated on its components before scoring
    level = max(value, expected, usual if usual is not None and np.isfinite(usual) else 0.0)
    return level >= volumes.get(metric, 0.0)


def severity_ceiling(metric: str, *, expected: float, volumes: Mapping[str, float]) -> Severity:
    """The highest severity a finding may have, from how its usual amount compares with the gate.

    A sum whose usual amount is below its minimum daily volume passed the gate on the day's own
    value only: a move from next to nothing (below a tenth of the minimum) is at most "low", one
    from a usual below the minimum at most "medium". Ratios are gated on their components before
    scoring, so their usual amount always has the volume and they are not capped.
    """
    floor = volumes.get(metric, 0.0)
    if metric in RATIOS or floor <= 0 or not np.isfinite(expected) or expected >= floor:
        return "high"
    return "low" if expected < _NEXT_TO_NOTHING * floor else "medium"


def capped_severity(severity: Severity, ceiling: Severity) -> Severity:
    """`severity`, lowered to `ceiling` when above it."""
    levels = list(SEVERITY_Z)
    return levels[min(levels.index(severity), levels.index(ceiling))]


def capped_z(z: float, ceiling: Severity) -> float:
    """A deviation clipped to the top of `ceiling`'s band: what severity may be read from it."""
    levels = list(SEVERITY_Z)
    above = levels.index(ceiling) + 1
    return z if above >= len(levels) else min(z, float(np.nextafter(SEVERITY_Z[levels[above]], 0.0)))


def _reads_as_zero(text: str) -> bool:
    """ "0", "0.0", "€0.00", "0.00×": an amount that prints as nothing must not be quoted as a bound."""
    return not any(ch in "123456789" for ch in text)


def _range_phrase(metric: str, lower: float, upper: float, currency: str) -> str:
    low, high = format_metric(metric, lower, currency), format_metric(metric, upper, currency)
    if metric_unit(metric) == "money" and max(abs(lower), abs(upper)) >= 1000:
        # amounts of 1,000 and more drop the cents; both ends of a range then do: "€249–€2,926",
        # not "€249.45–€2,926"
        low, high = format_money(lower, currency, decimals=0), format_money(upper, currency, decimals=0)
    if _reads_as_zero(high):
        return "usually none"
    if low == high:
        return f"usually about {high}"
    if lower <= 0 or _reads_as_zero(low):
        return f"usually up to {high}"
    return f"usually {low}–{high}"  # an en dash: this text is read by people


def _change_phrase(value: float, expected: float) -> str:
    if not np.isfinite(expected) or expected <= 0:
        return "above the usual" if value > 0 else "below the usual"
    ratio = value / expected
    if ratio > _LARGEST_MULTIPLE:
        return "far above the usual"
    if ratio >= 1.5:
        return f"{ratio:.1f}× the usual"
    if ratio >= 1:
        return f"{100 * (ratio - 1):.0f}% above the usual"
    if value <= 0:
        return "down to zero from the usual"
    return f"{100 * (1 - ratio):.0f}% below the usual"


def _value_text(metric: str, value: float, currency: str) -> str:
    """The day's value; a ratio or percent beyond 1,000 is a division by next to nothing, not news."""
    if metric_unit(metric) in ("ratio", "percent") and abs(value) >= _LARGEST_RATIO:
        return f"over {format_metric(metric, _LARGEST_RATIO, currency)}"
    if metric_unit(metric) == "money" and value == 0:
        return format_money(0, currency, decimals=0)  # "Revenue was €0", not "€0.00"
    return format_metric(metric, value, currency)


def explain(metric: str, *, value: float, expected: float, lower: float, upper: float, day: date, currency: str) -> str:
    """One sentence, e.g. "Spend was €1,240, 2.4× the usual for a Tuesday (usually €310–€420)."."""
    label = metric_label(metric)
    verb = "were" if label.endswith("s") and metric_unit(metric) != "ratio" else "was"
    weekday = pd.Timestamp(day).day_name()
    return (
        f"{label} {verb} {_value_text(metric, value, currency)}, {_change_phrase(value, expected)} "
        f"for a {weekday} ({_range_phrase(metric, lower, upper, currency)})."
    )
