"""The plan catalogue and what each plan entitles a workspace to.

Stripe subscriptions (a later issue) map onto these keys; everything that limits a workspace
(API throttles, connection counts, history) reads its entitlements from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class Plan(models.TextChoices):
    TRIAL = "trial", "Trial"
    STARTER = "starter", "Starter"
    GROWTH = "growth", "Growth"
    AGENCY = "agency", "Agency"


@dataclass(frozen=True)
class Entitlements:
    monthly_price_eur: int
    max_connections: int
    max_members: int
    api_requests_per_minute: int
    history_months: int


ENTITLEMENTS: dict[str, Entitlements] = {
    Plan.TRIAL: Entitlements(0, 5, 3, 60, 24),
    Plan.STARTER: Entitlements(49, 5, 5, 120, 24),
    Plan.GROWTH: Entitlements(199, 25, 20, 600, 37),
    Plan.AGENCY: Entitlements(499, 200, 100, 1200, 37),
}


def entitlements_for(plan: str) -> Entitlements:
    return ENTITLEMENTS.get(plan, ENTITLEMENTS[Plan.TRIAL])
