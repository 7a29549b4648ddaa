"""Links from insight pages to other parts of the product."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import NoReverseMatch, reverse

#: URL names the dashboards' campaign page may have; the first that resolves wins
CAMPAIGN_URL_NAMES = ("campaign_detail", "campaign", "dashboards:campaign", "insights:campaign")


def campaign_url(key: str) -> str:
    """The campaign page of the dashboards for a public campaign id ("google_ads:123:456").

    The dashboards own that page; until it exists this falls back to the campaigns list
    filtered to the campaign.
    """
    for name in CAMPAIGN_URL_NAMES:
        try:
            return reverse(name, args=[key])
        except NoReverseMatch:
            continue
    return f"/campaigns/?{urlencode({'campaign': key})}"
