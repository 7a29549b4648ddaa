"""Links from insight pages to other parts of the product."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.urls import reverse


def campaign_url(key: str) -> str:
    """The dashboards' page of a campaign, by its public id ("google_ads:123:456")."""
    return reverse("campaign_detail", args=[key])


def incident_url(incident: Any) -> str:
    """The Anomalies page narrowed to an incident's day and entity, scrolled to it.

    The page has no incident of its own to open: an incident is a line of that list, and its
    metrics link on to their findings. Every severity is asked for, so a low one is found too.
    """
    day = incident.date.isoformat()
    query = {"from": day, "to": day, "severity": "any", "scope": incident.scope}
    if incident.platform:
        query["platform"] = incident.platform
    if incident.scope == "campaign" and incident.label.strip():
        query["q"] = incident.label.strip()[:100]  # the page reads at most 100 characters
    return f"{reverse('insights:anomalies')}?{urlencode(query)}#incident-{incident.pk}"
