"""Settings → Tracking in the browser: the snippet tag to copy, saving allowed origins and consent
mode (and a bad origin refused with nothing saved), rotating the key, the counts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.tracking.conftest import beacon, event, post_beacon
from tracking import snippet
from tracking.models import TrackingSettings

pytestmark = pytest.mark.django_db(transaction=True)


def test_tracking_settings_page(web: Any, tracked_workspace: Callable[..., Any], client: Any) -> None:
    workspace, tracking = tracked_workspace()
    owner = workspace.memberships.select_related("user").first().user
    assert post_beacon(client, tracking.public_key, beacon(event(), event())).status_code == 204
    assert post_beacon(client, tracking.public_key, beacon(event()), origin="https://evil.example").status_code == 403

    web.login(owner, workspace)
    web.goto("/settings/tracking/", workspace)
    page = web.page
    tag = page.input_value("#snippet-tag")
    assert f'data-key="{tracking.public_key}"' in tag
    assert f'integrity="{snippet.integrity("1")}"' in tag
    assert "/t/v1/bosco.js" in tag
    assert page.inner_text("#count-accepted") == "2"
    assert "Origin not allowed" in page.inner_text("#rejections")
    web.screenshot("settings-tracking")

    # a bad origin: the page says so and nothing is saved
    page.fill("#id_allowed_origins", "https://shop.example\nnot a url")
    page.click("#tracking-save")
    page.wait_for_load_state("networkidle")
    assert "is not an origin like https://shop.example" in page.inner_text("main")
    # the refused form is answered with 400 on purpose; chromium logs that status as an error
    web.errors[:] = [error for error in web.errors if "status of 400" not in error]
    assert TrackingSettings.objects.get(pk=tracking.pk).allowed_origins == ["https://shop.example"]

    page.fill("#id_allowed_origins", "https://Shop.example/\nhttps://www.shop.example:8443")
    page.check("#id_consent_mode")
    page.fill("#id_retention_months", "6")
    page.click("#tracking-save")
    page.wait_for_load_state("networkidle")
    assert "Tracking settings saved." in page.inner_text("body")
    saved = TrackingSettings.objects.get(pk=tracking.pk)
    assert saved.allowed_origins == ["https://shop.example", "https://www.shop.example:8443"]
    assert (saved.consent_mode, saved.retention_months) == (True, 6)
    assert 'data-consent="required"' in page.input_value("#snippet-tag")

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#rotate-key")
    page.wait_for_load_state("networkidle")
    rotated = TrackingSettings.objects.get(pk=tracking.pk)
    assert rotated.public_key != tracking.public_key
    assert page.inner_text("#public-key") == rotated.public_key
    assert post_beacon(client, tracking.public_key, beacon(event())).status_code == 410
