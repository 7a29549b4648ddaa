"""The public landing page names only the sources a customer can connect today."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.utils.html import strip_tags

from connectors.models import Platform

pytestmark = pytest.mark.django_db


def test_the_landing_page_names_what_connects_and_promises_nothing_else() -> None:
    page = Client(HTTP_HOST=settings.BOSCO_DOMAIN).get("/")
    assert page.status_code == 200
    text = " ".join(strip_tags(page.content.decode()).split())
    for value, label in Platform.choices:
        if value != Platform.AIRBYTE:
            assert label in text, label
    # Every other source comes in through the bridge or a file, both built; nothing is "coming".
    assert "Airbyte protocol" in text and "CSV / Excel upload" in text
    assert "coming soon" not in text
