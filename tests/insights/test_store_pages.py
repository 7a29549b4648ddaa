"""The store on the dashboards without a store: no store lead on the overview, an invitation on the
Store page. (With a store, the Store page is covered by tests/connectors/test_shopify_browser.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import Membership

pytestmark = pytest.mark.django_db

SHOP_DOMAIN = "bosco-demo.myshopify.com"


@pytest.fixture
def owner_client(in_scored: Any, workspace_client: Any) -> Any:
    return workspace_client(Membership.objects.get(workspace=in_scored, role="owner").user, in_scored)


def test_without_a_store_the_overview_has_no_store_lead(owner_client: Any) -> None:
    body = owner_client.get("/").content.decode()
    assert 'id="store-kpis"' not in body
    assert "Connect Shopify" in owner_client.get("/store/").content.decode()
