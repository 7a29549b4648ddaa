"""The journeys panel of the attribution page: what a nightly build from first-party journeys adds
to the credit table — its top paths, time and touches to convert, and each paid channel's
attributed revenue next to what its platform claims for the same days."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from insights import charts
from insights.charts.journeys import claimed_vs_attributed_figure, distribution_figure
from insights.ml.journeys import PATH_SEPARATOR, PLATFORM_OF_CHANNEL
from insights.models import AttributionImport, AttributionResult

#: the models shown beside the platform's claim: the data-driven two, and last touch (what the
#: platforms' own numbers resemble most)
CLAIM_MODELS = ("shapley", "markov_1", "last_touch")


@dataclass(frozen=True)
class JourneysPanel:
    stats: dict[str, Any]
    top_paths: list[dict[str, Any]]
    time_chart: charts.Figure
    touches_chart: charts.Figure
    #: (model, full label, short header): the table must fit beside the imports column
    claim_models: list[tuple[str, str, str]]
    claims: list[dict[str, Any]]
    claims_chart: charts.Figure | None


def journeys_panel(
    *, selected: AttributionImport, rows: Sequence[AttributionResult], currency: str
) -> JourneysPanel | None:
    if selected.source != AttributionImport.Source.JOURNEYS:
        return None
    details = selected.details or {}
    swatches = charts.channel_swatches(list(selected.channels))
    top_paths = []
    for item in details.get("top_paths", []):
        steps = [s.strip() for s in str(item["path"]).split(PATH_SEPARATOR.strip())]
        journeys = item["conversions"] + item.get("nulls", 0)
        top_paths.append(
            {
                **item,
                "steps": [{"channel": s, "color": swatches.get(s)} for s in steps],
                "rate": item["conversions"] / journeys if journeys else None,
            }
        )
    claims_of = details.get("platform_claims", {})
    credit = {(r.channel, r.model): r.conversion_value for r in rows}
    present = {r.model for r in rows}
    models = [m for m in CLAIM_MODELS if m in present]
    lead = models[0] if models else None
    claims = []
    for channel in sorted(set(claims_of) | {c for c in selected.channels if c in PLATFORM_OF_CHANNEL}):
        claim = claims_of.get(channel) or {}
        attributed = {m: credit.get((channel, m), 0.0) for m in models}
        claimed = claim.get("conversion_value")
        lead_value = attributed.get(lead, 0.0) if lead else 0.0
        claims.append(
            {
                "channel": channel,
                "label": channel,
                "platform": PLATFORM_OF_CHANNEL.get(channel, ""),
                "color": swatches.get(channel) or charts.channel_swatches([channel]).get(channel),
                "cells": [attributed[m] for m in models],
                "attributed": lead_value,
                "claimed": claimed,
                "claimed_conversions": claim.get("conversions"),
                # how many times its own attributed revenue the platform claims
                "claim_ratio": (claimed / lead_value) if claimed and lead_value > 0 else None,
            }
        )
    claims.sort(key=lambda c: -(c["claimed"] or 0) - c["attributed"])
    return JourneysPanel(
        stats={
            key: details.get(key)
            for key in (
                "events",
                "visitors",
                "people",
                "sessions",
                "journeys",
                "orders",
                "matched_orders",
                "unmatched_orders",
                "unmatched_value",
                "lookback_days",
                "mean_days_to_convert",
                "mean_touches_to_convert",
                "distinct_paths",
            )
        },
        top_paths=top_paths,
        time_chart=distribution_figure(details.get("time_to_convert", []), axis_title="Time from first touch to order"),
        touches_chart=distribution_figure(
            details.get("touches_to_convert", []), axis_title="Touches before the order", color="#0d9488"
        ),
        claim_models=[(m, charts.MODEL_LABELS[m], charts.MODEL_SHORT_LABELS[m]) for m in models],
        claims=claims,
        claims_chart=claimed_vs_attributed_figure(claims, currency=currency) if claims else None,
    )
