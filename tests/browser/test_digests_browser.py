"""The Digests tab in a real browser: the preview of my next digest (an iframe of the e-mail),
my schedule submitted through the form and read back on the next page, "Send me one now" handing
a digest to a real Celery worker and a real SMTP server, the received e-mail rendered in chromium,
and its unsubscribe link followed without a session.
Screenshots: artifacts/screenshots/digest-*.png."""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from digests import selectors
from tests.alerts.conftest import smtp_server  # noqa: F401  (the shared fixture: a real local SMTP server)
from tests.conftest import SCREENSHOT_DIR
from tests.digests.conftest import images_of, owner_of, with_history


@pytest.mark.celery_worker
def test_digest_settings_preview_send_now_and_unsubscribe_in_the_browser(
    web: Any,
    make_workspace: Any,
    celery_worker: Any,
    smtp_server: Any,  # noqa: F811  (the imported fixture)
) -> None:
    workspace = with_history(
        make_workspace("dgbr", name="Browser Shop", reporting_currency="EUR", number_format="de-DE"), days=35
    )
    owner = owner_of(workspace)
    web.login(owner, workspace)
    page = web.page
    web.goto("/settings/digests/", workspace)
    preview = page.frame_locator("#digest-preview iframe")
    assert "Browser Shop" in preview.locator("h1").inner_text()
    assert preview.locator("img").count() == 3
    assert "Spend and revenue by platform" in preview.locator("body").inner_text()
    web.screenshot("digest-settings")

    page.select_option("select[name=frequency]", "weekly")
    page.select_option("select[name=weekday]", "4")
    page.select_option("select[name=hour]", "7")
    page.select_option("select[name=time_zone]", "America/New_York")
    page.check("input[name=delivery][value=combined]")
    page.click("#digest-save")
    page.wait_for_load_state("networkidle")
    assert "Your digest settings are saved." in page.locator("body").inner_text()
    next_digest = page.locator("#digest-next").inner_text()
    assert next_digest.startswith("Friday") and "07:00" in next_digest and "(America/New_York)" in next_digest
    assert page.locator("select[name=time_zone]").input_value() == "America/New_York"

    page.click("#send-now")
    page.wait_for_load_state("networkidle")
    assert "Your digest is on its way to owner@dgbr.example." in page.locator("body").inner_text()
    deadline = time.monotonic() + 90
    while not smtp_server.messages and time.monotonic() < deadline:
        time.sleep(0.3)
    assert len(smtp_server.messages) == 1, "the worker handed the digest to the SMTP server"
    message = smtp_server.messages[0]
    assert selectors.last_digest_sent(workspace=workspace) is not None
    web.goto("/settings/digests/", workspace)
    assert "Sent" in page.locator("#digest-sends").inner_text()

    # The e-mail as a mail client would show it: the HTML part with its CID images.
    html = message.get_body(preferencelist=("html",)).get_content()
    for cid, png in images_of(message).items():
        html = html.replace(f"cid:{cid}", "data:image/png;base64," + base64.b64encode(png).decode())
    page.set_content(html)
    assert page.locator("img").count() == 3
    assert all(page.evaluate("[...document.images].map(i => i.naturalWidth > 0)"))
    assert "€" in page.locator("body").inner_text()
    web.screenshot("digest-email")

    # The unsubscribe link of the List-Unsubscribe header, opened without a session.
    link = str(message["List-Unsubscribe"]).strip().strip("<>")
    context = page.context.browser.new_context()
    try:
        anonymous = context.new_page()
        anonymous.goto(web.url(urlsplit(link).path), wait_until="networkidle")
        assert "Stop receiving digests of Browser Shop?" in anonymous.locator("body").inner_text()
        anonymous.click("#unsub-confirm")
        anonymous.wait_for_load_state("networkidle")
        assert "You will receive no more digests of Browser Shop" in anonymous.locator("#unsub-done").inner_text()
        anonymous.screenshot(path=str(web_screenshot_path("digest-unsubscribed")), full_page=True)
    finally:
        context.close()
    assert selectors.subscription_for(user=owner, workspace=workspace).frequency == "off"


def web_screenshot_path(name: str) -> Any:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR / f"{name}-desktop.png"
