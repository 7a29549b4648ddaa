"""The whole upload flow in chromium: Data sources → upload → preview and mapping → errors listed →
skip them → progress → the rows on the overview; then the mapping remembered for the next file."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from uploads.models import Upload
from warehouse.models import AdPerformanceDaily, TransformRun


def _csv(days: list[str], bad: bool) -> str:
    lines = ["Datum;Kampagne;Kosten;Impressionen;Klicks;Konversionen;Umsatz"]
    for i, day in enumerate(days):
        lines.append(f"{day};Brand DE;{1 + i}.234,50 €;20.000;400;12;4.000,00 €")
        lines.append(f"{day};Retargeting;250,00 €;8.000;90;3;600,00 €")
    if bad:
        lines.append(f"{days[0]};Broken;zwölf;1;1;0;0")
        lines.append(f'{days[0]};=HYPERLINK("http://x");=1+2;1;1;0;0')
    return "\n".join(lines) + "\n"


@pytest.mark.browser
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_upload_map_skip_errors_and_see_the_rows_on_the_overview(web, celery_worker, ws, tmp_path) -> None:
    from playwright.sync_api import expect

    owner = User.objects.get(email=f"owner@{ws.slug}.example")
    web.login(owner, ws)
    page = web.page
    today = timezone.localdate()
    days = [(today - timedelta(days=d)).strftime("%d.%m.%Y") for d in (6, 5, 4)]
    path = tmp_path / "linkedin-export.csv"
    path.write_text(_csv(days, bad=True), encoding="utf-8")

    web.goto("/data-sources/", ws)
    page.click("#open-uploads")
    expect(page.get_by_role("heading", name="Upload a file")).to_be_visible()
    page.fill("#source_name", "LinkedIn")
    page.set_input_files("#file", str(path))
    web.screenshot("uploads-index")
    page.click("#upload-submit")

    # Preview and the guessed mapping, in the workspace's German number format.
    page.wait_for_url(re.compile(r".*/data-sources/uploads/\d+/$"))
    expect(page.locator("#preview")).to_contain_text("1.234,50 €")
    expect(page.locator("#col_spend")).to_have_value("2")
    expect(page.locator("#col_campaign")).to_have_value("1")
    expect(page.locator("#decimal_mark")).to_have_value(",")
    page.select_option("#col_conversions", "5")
    page.fill("#save_as", "LinkedIn DE export")
    web.screenshot("uploads-mapping")
    page.click("#check-rows")

    # The check finds two bad rows: listed with their lines, nothing landed.
    expect(page.locator("#check-summary")).to_contain_text("2 of 8 rows have errors", timeout=60_000)
    errors = page.locator("#row-errors")
    expect(errors).to_contain_text("zwölf")
    expect(errors).to_contain_text(
        "'=1+2' is not a number (a formula or text: Bosco reads values, it never calculates)"
    )
    assert [int(t) for t in errors.locator("tbody td.num").all_inner_texts()] == [8, 9]
    assert not AdPerformanceDaily.objects.exists()
    web.screenshot("uploads-errors")
    with page.expect_download() as download:
        page.click("#download-skipped")
    skipped = download.value.path().read_text(encoding="utf-8")
    # the skipped rows keep every cell, formulas quoted against CSV injection
    assert "'=HYPERLINK" in skipped and "'=1+2" in skipped and "zwölf" in skipped

    page.click("#accept-skips")
    expect(page.locator("#landed-summary")).to_contain_text("6", timeout=60_000)
    expect(page.locator("#landed-summary")).to_contain_text("LinkedIn")
    web.screenshot("uploads-landed")
    upload = Upload.objects.get()
    assert (upload.status, upload.rows_landed, upload.rows_invalid) == ("landed", 6, 2)

    # The warehouse run the landing queued (fact, then rollups) puts the rows on every page.
    deadline = 90
    while not TransformRun.objects.filter(status="success").exists() and deadline:
        page.wait_for_timeout(1000)
        deadline -= 1
    assert AdPerformanceDaily.objects.filter(platform="upload_linkedin").count() == 6
    page.click("#to-overview")
    page.wait_for_load_state("networkidle")
    expect(page.locator("main")).to_contain_text("LinkedIn (upload)", timeout=30_000)
    web.screenshot("uploads-overview")

    # The next file with the same headers gets the saved mapping.
    path.write_text(_csv(days[:1], bad=False), encoding="utf-8")
    web.goto("/data-sources/uploads/", ws)
    page.fill("#source_name", "LinkedIn")
    page.set_input_files("#file", str(path))
    page.click("#upload-submit")
    page.wait_for_url(re.compile(r".*/data-sources/uploads/\d+/$"))
    expect(page.get_by_text("saved mapping “LinkedIn DE export”")).to_be_visible()
    expect(page.locator("#col_conversions")).to_have_value("5")
