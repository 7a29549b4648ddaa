"""The products and prices the emulator starts with: one product per paid Bosco plan, two prices each.

Prices are found by lookup key `bosco_<plan>_<monthly|yearly>`, exactly as Bosco finds them in
Stripe. Amounts are integer minor units; a yearly price is ten monthly ones (two months free).
The plan names mirror billing/plans.py (a test checks they agree); this package cannot import it
because it must not import Django.
"""

from __future__ import annotations

from dataclasses import dataclass

YEARLY_MONTHS_CHARGED = 10


@dataclass(frozen=True)
class CataloguePlan:
    plan: str
    name: str
    monthly_amount: int  # minor units
    currency: str = "eur"

    @property
    def yearly_amount(self) -> int:
        return self.monthly_amount * YEARLY_MONTHS_CHARGED


DEFAULT_CATALOGUE: tuple[CataloguePlan, ...] = (
    CataloguePlan("starter", "Bosco Starter", 4900),
    CataloguePlan("growth", "Bosco Growth", 19900),
    CataloguePlan("agency", "Bosco Agency", 49900),
)

INTERVALS = {"monthly": "month", "yearly": "year"}


def lookup_key(plan: str, interval: str) -> str:
    return f"bosco_{plan}_{interval}"
