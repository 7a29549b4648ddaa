"""The public landing page names only the sources a customer can connect today."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from django.utils.html import strip_tags

from connectors.models import Platform

pytestmark = pytest.mark.django_db

NOT_BUILT_YET = ("GA4", "Shopify")


def test_the_landing_page_names_what_connects_and_calls_the_rest_coming_soon() -> None:
    page = Client(HTTP_HOST=settings.BOSCO_DOMAIN).get("/")
    assert page.status_code == 200
    text = " ".join(strip_tags(page.content.decode()).split())
    for label in Platform.labels:
        assert label in text, label
    sentences = re.split(r"(?<=[.!?])\s+", text)
    for name in NOT_BUILT_YET:
        mentions = [s for s in sentences if name in s]
        assert all(re.search(rf"{name}[^.]*coming soon", s) for s in mentions), (name, mentions)
    # What connects end to end is never announced as coming.
    soon = re.findall(r"\(([^)]*coming soon)\)", text)
    assert soon and not any(label.split()[0] in s for s in soon for label in Platform.labels), soon
