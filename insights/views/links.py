"""Links from insight pages to other parts of the product."""

from __future__ import annotations

from django.urls import reverse


def campaign_url(key: str) -> str:
    """The dashboards' page of a campaign, by its public id ("google_ads:123:456")."""
    return reverse("campaign_detail", args=[key])
