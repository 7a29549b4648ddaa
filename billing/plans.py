"""The plan catalogue and what each plan entitles a workspace to.

Prices live in Stripe (looked up by the lookup key `bosco_<plan>_<monthly|yearly>`); the limits
live here. Apps never read this table directly for a workspace: they ask
`billing.entitlements.for_workspace`, which adds the subscription's state (trial over, unpaid).
`Plan.TRIAL` is the key of a workspace in its free trial, which is a trial of Growth.
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
    #: scheduled syncs run at most this often (hours)
    min_sync_interval_hours: int = 6
    api_access: bool = True
    white_label: bool = False
    #: alert rules a workspace may create (the built-in data-health rules do not count)
    max_alert_rules: int = 50


ENTITLEMENTS: dict[str, Entitlements] = {
    # The trial is Growth for 14 days, at the API rate of a trial.
    Plan.TRIAL: Entitlements(0, 25, 20, 60, 37, min_sync_interval_hours=1),
    Plan.STARTER: Entitlements(49, 5, 5, 120, 24, min_sync_interval_hours=6, api_access=False, max_alert_rules=5),
    Plan.GROWTH: Entitlements(199, 25, 20, 600, 37, min_sync_interval_hours=1),
    Plan.AGENCY: Entitlements(
        499, 200, 100, 1200, 37, min_sync_interval_hours=1, white_label=True, max_alert_rules=500
    ),
}


def entitlements_for(plan: str) -> Entitlements:
    return ENTITLEMENTS.get(plan, ENTITLEMENTS[Plan.TRIAL])


#: plans a customer can subscribe to (the trial is not sold)
PAID_PLANS: tuple[str, ...] = (Plan.STARTER, Plan.GROWTH, Plan.AGENCY)
