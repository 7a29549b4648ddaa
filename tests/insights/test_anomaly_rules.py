"""What is worth an alert: volume gates, ratios from their components, and sentences that read well.

The bad cases are the ones the demo workspace showed (issue 18): "ROAS was 1369369321579328512.0×
the usual for a Friday (expected 0.00–0.00)", "Conversions were 1, unusual for a Saturday
(expected 0–0.0)", "Conversions were 1120.0× the usual".
"""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pandas as pd
import pytest

from insights.ml.anomaly import detect_anomalies
from insights.selectors.series import with_ratios
from insights.services import anomaly_rules
from insights.services.anomaly_rules import MIN_VOLUME_DEFAULTS, explain, has_volume, scorable_values

FRIDAY = date(2024, 5, 3)


def _no_unreadable_number(text: str) -> None:
    assert not re.search(r"\de[+-]?\d", text), text  # no scientific notation
    assert not re.search(r"\d{7,}", text.replace(",", "")), text  # no 1369369321579328512
    assert "0–0" not in text and "0.00–0.00" not in text, text
    multiples = [float(m.replace(",", "")) for m in re.findall(r"([\d,.]+)× the usual", text)]
    assert all(m <= 20 for m in multiples), text


def test_a_roas_far_above_a_usual_of_nothing_reads_as_far_above_without_the_multiple() -> None:
    text = explain(
        "roas", value=1.369369321579328512e18, expected=1e-9, lower=0.0, upper=0.0, day=FRIDAY, currency="EUR"
    )

    _no_unreadable_number(text)
    assert text == "ROAS was over 1,000.00×, far above the usual for a Friday (usually none)."


def test_one_conversion_against_a_usual_of_none_says_none_not_zero_to_zero() -> None:
    text = explain("conversions", value=1, expected=0.0, lower=0.0, upper=0.04, day=date(2024, 5, 4), currency="EUR")

    assert text == "Conversions were 1, above the usual for a Saturday (usually none)."
    # and the gate keeps it off the page: one conversion is below the minimum volume
    assert not has_volume("conversions", value=1, expected=0.0, volumes=MIN_VOLUME_DEFAULTS)


def test_a_thousandfold_jump_is_far_above_and_a_modest_one_keeps_its_multiple() -> None:
    assert "far above the usual" in explain(
        "conversions", value=1120, expected=1, lower=0, upper=3, day=FRIDAY, currency="EUR"
    )
    modest = explain("spend", value=1240, expected=500, lower=310, upper=420, day=FRIDAY, currency="EUR")
    assert modest == "Spend was €1,240, 2.5× the usual for a Friday (usually €310.00–€420.00)."


def test_a_money_range_reaching_a_thousand_drops_the_cents_at_both_ends() -> None:
    # amounts of 1,000 and more print without cents; "€249.45–€2,926" mixed the two
    wide = explain("conversion_value", value=6897, expected=930, lower=249.45, upper=2926.3, day=FRIDAY, currency="EUR")
    assert wide.endswith("(usually €249–€2,926).")
    narrow = explain("spend", value=67.9, expected=300, lower=173.09, upper=523.11, day=FRIDAY, currency="EUR")
    assert narrow.endswith("(usually €173.09–€523.11).")


def test_no_money_at_all_reads_as_a_plain_zero() -> None:
    text = explain("conversion_value", value=0.0, expected=400, lower=90, upper=1181, day=FRIDAY, currency="EUR")
    assert text == "Revenue was €0, down to zero from the usual for a Friday (usually €90–€1,181)."


@pytest.mark.parametrize(
    ("metric", "value", "expected", "lower", "upper", "wanted"),
    [
        ("ctr", 0.4, 2.0, 1.5, 2.6, "CTR was 0.40%, 80% below the usual for a Friday (usually 1.50%–2.60%)."),
        (
            "cpa",
            0.0,
            12.5,
            9.0,
            16.0,
            "CPA was €0, down to zero from the usual for a Friday (usually €9.00–€16.00).",
        ),
        ("roas", 3.1, 2.5, 0.0, 2.9, "ROAS was 3.10×, 24% above the usual for a Friday (usually up to 2.90×)."),
    ],
)
def test_ratios_are_written_in_their_catalogue_unit(metric, value, expected, lower, upper, wanted) -> None:
    assert (
        explain(metric, value=value, expected=expected, lower=lower, upper=upper, day=FRIDAY, currency="EUR") == wanted
    )


def _day_sums(spend: list[float], revenue: list[float]) -> pd.DataFrame:
    n = len(spend)
    frame = pd.DataFrame(
        {
            "spend": spend,
            "impressions": [5000.0] * n,
            "clicks": [100.0] * n,
            "conversions": [8.0] * n,
            "conversion_value": revenue,
        },
        index=pd.date_range("2024-05-01", periods=n, freq="D"),
    )
    return with_ratios(frame)


def test_roas_is_scored_only_on_days_where_spend_and_revenue_both_have_volume() -> None:
    # day 2 spent €0.03 (the campaign was paused early): its ROAS of 3,333× is not a signal
    frame = _day_sums(spend=[100.0, 120.0, 0.03, 90.0, 110.0], revenue=[300.0, 330.0, 100.0, 20.0, 280.0])

    roas = scorable_values(frame, "roas", MIN_VOLUME_DEFAULTS)

    # day 2: spend below €20; day 3: revenue €20 below €50 — both gaps, not values
    assert list(roas.index.day) == [1, 2, 5]
    assert np.allclose(roas.to_numpy(), [3.0, 2.75, 2.545454], atol=1e-5)
    # a sum is handed over whole: spend falling to nothing must stay visible
    assert len(scorable_values(frame, "spend", MIN_VOLUME_DEFAULTS)) == 5


def test_ctr_and_cvr_come_from_their_components_in_percent() -> None:
    frame = _day_sums(spend=[100.0], revenue=[300.0])
    assert frame["ctr"].iloc[0] == pytest.approx(2.0)  # 100 clicks / 5,000 impressions
    assert frame["cvr"].iloc[0] == pytest.approx(8.0)  # 8 conversions / 100 clicks


def test_the_minimum_volumes_are_a_setting_per_metric(settings) -> None:
    settings.INSIGHTS_ANOMALY_MIN_VOLUME = {"conversions": 1}

    volumes = anomaly_rules.min_volumes()

    assert volumes["conversions"] == 1.0 and volumes["spend"] == MIN_VOLUME_DEFAULTS["spend"]
    assert has_volume("conversions", value=1, expected=0.0, volumes=volumes)
    assert not has_volume("spend", value=5.0, expected=3.0, volumes=volumes)
    assert has_volume("spend", value=0.0, expected=400.0, volumes=volumes)  # a fall to zero counts


def _new_campaign_revenue(days: int = 60) -> pd.DataFrame:
    """Revenue of a campaign whose first three days had no orders, with one real fall on day 50."""
    rng = np.random.default_rng(5)
    values = np.r_[np.zeros(3), np.full(days - 3, 100.0)] * np.exp(0.2 * rng.standard_normal(days))
    values[50] = 5.0
    return pd.DataFrame({"conversion_value": values}, index=pd.date_range("2024-03-04", periods=days))


def test_a_series_is_scored_from_its_first_amount_and_judged_after_21_days_of_it() -> None:
    frame = _new_campaign_revenue()
    values = scorable_values(frame, "conversion_value", MIN_VOLUME_DEFAULTS)

    assert values.index[0] == pd.Timestamp("2024-03-07")  # the three days without orders are not history
    assert anomaly_rules.judged_from(values, 21) == pd.Timestamp("2024-03-28")
    assert anomaly_rules.judged_from(values.iloc[:21], 21) is None
    # a fall to zero later on stays in the series
    frame.iloc[40, 0] = 0.0
    assert scorable_values(frame, "conversion_value", MIN_VOLUME_DEFAULTS).iloc[37] == 0.0


def test_leading_zeros_no_longer_raise_findings_in_a_new_campaign_and_a_real_fall_still_does() -> None:
    frame = _new_campaign_revenue()
    # scored whole, the leading zeros leave the detector a usual amount of 10^7 in the third week
    whole = detect_anomalies(frame["conversion_value"], "conversion_value")
    assert (whole["timestamp"] < pd.Timestamp("2024-04-01")).any()

    values = scorable_values(frame, "conversion_value", MIN_VOLUME_DEFAULTS)
    first = anomaly_rules.judged_from(values, 21)
    found = detect_anomalies(values, "conversion_value")
    judged = found[found["timestamp"] >= first]

    assert list(judged["timestamp"]) == [pd.Timestamp("2024-04-23")]
    assert judged.iloc[0]["direction"] == "down" and judged.iloc[0]["expected"] < 200


@pytest.mark.parametrize(
    ("metric", "expected", "ceiling"),
    [
        ("conversion_value", 0.29, "low"),  # next to nothing: below a tenth of the €50 minimum
        ("conversion_value", 30.0, "medium"),  # below the minimum, not next to nothing
        ("conversion_value", 50.0, "high"),  # the usual amount has the volume: not capped
        ("spend", 1.5, "low"),
        ("roas", 0.01, "high"),  # ratios are gated on their components before scoring
    ],
)
def test_a_move_from_a_usual_below_the_minimum_volume_is_capped_in_severity(metric, expected, ceiling) -> None:
    assert anomaly_rules.severity_ceiling(metric, expected=expected, volumes=MIN_VOLUME_DEFAULTS) == ceiling
    assert anomaly_rules.capped_severity("high", ceiling) == ceiling
    assert anomaly_rules.capped_severity("low", ceiling) == "low"


def test_capped_z_reads_as_the_ceiling_and_leaves_smaller_deviations_alone() -> None:
    from insights.ml.anomaly import severity_of

    assert severity_of(anomaly_rules.capped_z(40.0, "low")) == "low"
    assert severity_of(anomaly_rules.capped_z(40.0, "medium")) == "medium"
    assert anomaly_rules.capped_z(40.0, "high") == 40.0
    assert anomaly_rules.capped_z(3.2, "medium") == 3.2


def test_the_volume_gate_also_reads_the_usual_day_the_median_of_the_28_before() -> None:
    # a campaign with 4-6 conversions a day: the detector's log-scale level sits below 5
    days = pd.date_range("2024-04-01", periods=40, freq="D")
    counts = pd.Series(np.tile([5.0, 4.0, 6.0, 5.0, 5.0, 4.0, 6.0, 5.0], 5), index=days)
    counts.iloc[-1] = 0.0  # tracking broke
    usual = anomaly_rules.usual_levels(counts)

    assert np.isnan(usual.iloc[0]) and usual.iloc[-1] == 5.0  # the day itself is not its own usual
    assert not has_volume("conversions", value=0.0, expected=4.5, volumes=MIN_VOLUME_DEFAULTS)
    assert has_volume("conversions", value=0.0, expected=4.5, volumes=MIN_VOLUME_DEFAULTS, usual=usual.iloc[-1])
    # a campaign with 2 a day stays below the gate: a day without any is ordinary there
    assert not has_volume("conversions", value=0.0, expected=1.8, volumes=MIN_VOLUME_DEFAULTS, usual=2.0)
    assert not has_volume("conversions", value=0.0, expected=1.8, volumes=MIN_VOLUME_DEFAULTS, usual=float("nan"))
