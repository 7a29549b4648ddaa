"""The upload pages with bad input and the wrong role: clear answers, nothing stored, nothing lost."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from accounts.models import Membership
from tests.uploads.conftest import CSV_DE, uploaded
from uploads import services
from uploads.models import Upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(ws: Any, workspace_client: Any) -> Any:
    client = workspace_client(Membership.objects.get(workspace=ws, role="owner").user, ws)
    return client


def _upload(ws: Any) -> Upload:
    return services.upload_create(
        kind="ad_performance",
        source_name="LinkedIn",
        file=uploaded("a.csv", CSV_DE),
        default_currency="EUR",
        user_id=None,
    )


def test_a_viewer_sees_uploads_but_cannot_upload(ws: Any, make_user: Any, workspace_client: Any) -> None:
    viewer = make_user("viewer@upl.example")
    Membership.objects.create(workspace=ws, user=viewer, role="viewer")
    client = workspace_client(viewer, ws)
    assert client.get("/data-sources/uploads/").status_code == 200
    response = client.post(
        "/data-sources/uploads/", {"kind": "ad_performance", "source_name": "X", "file": uploaded("a.csv", CSV_DE)}
    )
    assert response.status_code == 403
    assert not Upload.objects.exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "ad_performance", "source_name": "LinkedIn"}, "Choose a file"),
        (
            {"kind": "nonsense", "source_name": "LinkedIn", "file": uploaded("a.csv", CSV_DE)},
            "Choose what the file holds",
        ),
        ({"kind": "ad_performance", "source_name": "   ", "file": uploaded("a.csv", CSV_DE)}, "Name the source"),
        ({"kind": "ad_performance", "source_name": "€€€", "file": uploaded("a.csv", CSV_DE)}, "letters or digits"),
        (
            {"kind": "ad_performance", "source_name": "L", "currency": "XAU", "file": uploaded("a.csv", CSV_DE)},
            "no exchange rates",
        ),
        ({"kind": "ad_performance", "source_name": "L", "file": uploaded("a.xlsx", CSV_DE)}, "not an Excel workbook"),
        (
            {"kind": "ad_performance", "source_name": "L", "file": uploaded("a.csv", b"\x00\x01\x02\x03" * 100)},
            "not a text",
        ),
    ],
)
def test_bad_uploads_get_a_clear_error_and_store_nothing(
    owner: Any, uploads_dir: Any, fields: dict, message: str
) -> None:
    response = owner.post("/data-sources/uploads/", fields)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Upload.objects.exists()
    assert not any(p.is_file() for p in uploads_dir.rglob("*")) if uploads_dir.exists() else True


def test_an_upload_page_shows_the_preview_and_guessed_columns(owner: Any, ws: Any) -> None:
    upload = _upload(ws)
    page = owner.get(f"/data-sources/uploads/{upload.pk}/").content.decode()
    assert "1.234,56 €" in page and 'id="col_spend"' in page
    assert '<option value="3" selected>Kosten</option>' in page


@pytest.mark.parametrize(
    "post",
    [
        {
            "col_date": "0",
            "col_campaign": "0",
            "col_spend": "3",
            "date_order": "ymd",
            "decimal_mark": ",",
            "currency": "EUR",
        },
        {
            "col_date": "99",
            "col_campaign": "1",
            "col_spend": "3",
            "date_order": "ymd",
            "decimal_mark": ",",
            "currency": "EUR",
        },
        {
            "col_date": "x",
            "col_campaign": "1",
            "col_spend": "3",
            "date_order": "ymd",
            "decimal_mark": ",",
            "currency": "EUR",
        },
        {
            "col_date": "0",
            "col_campaign": "1",
            "col_spend": "3",
            "date_order": "ydm",
            "decimal_mark": ",",
            "currency": "EUR",
        },
        {
            "col_date": "0",
            "col_campaign": "1",
            "col_spend": "3",
            "date_order": "ymd",
            "decimal_mark": ";",
            "currency": "EUR",
        },
        {
            "col_date": "0",
            "col_campaign": "1",
            "col_spend": "3",
            "date_order": "ymd",
            "decimal_mark": ",",
            "currency": "EUR",
            "encoding": "rot13",
        },
    ],
)
def test_a_bad_mapping_is_refused_with_the_reason_and_the_upload_waits(owner: Any, ws: Any, post: dict) -> None:
    upload = _upload(ws)
    response = owner.post(f"/data-sources/uploads/{upload.pk}/mapping/", post)
    assert response.status_code == 400
    assert 'id="mapping-error"' in response.content.decode()
    assert Upload.objects.get(pk=upload.pk).status == "needs_mapping"


def test_actions_in_the_wrong_state_are_refused(owner: Any, ws: Any) -> None:
    upload = _upload(ws)
    response = owner.post(f"/data-sources/uploads/{upload.pk}/accept/", follow=True)
    assert "Only an upload with rows in error" in response.content.decode()
    assert owner.get(f"/data-sources/uploads/{upload.pk}/skipped.csv").status_code == 404
    assert owner.post(f"/data-sources/uploads/{upload.pk}/restart/").status_code == 302
    assert Upload.objects.get(pk=upload.pk).status == "needs_mapping"
    owner.post(f"/data-sources/uploads/{upload.pk}/discard/")
    assert owner.get(f"/data-sources/uploads/{upload.pk}/").status_code == 404


def test_another_workspaces_upload_is_not_found(owner: Any, ws: Any, make_workspace: Any) -> None:
    other = make_workspace("uplother")
    connection.set_tenant(other)
    foreign = _upload(other)
    connection.set_tenant(ws)
    assert not Upload.objects.filter(pk=foreign.pk).exists() or foreign.pk == 0
    mine = _upload(ws)
    assert owner.get(f"/data-sources/uploads/{mine.pk + 1000}/").status_code == 404
    assert services.upload_dir(mine.pk).parts[-2] == ws.schema_name


@pytest.mark.parametrize(
    "fields",
    [
        {"source_name": "a\x00b"},
        {"source_name": "x" * 100_000},
        {"source_name": "e\u0301\u0308\u20dd" * 200},
        {"currency": "a\x00b"},
        {"kind": "a\x00b"},
    ],
)
def test_hostile_form_values_are_refused_not_stored(owner: Any, fields: dict) -> None:
    data = {"kind": "ad_performance", "source_name": "LinkedIn", "currency": "EUR", **fields}
    response = owner.post("/data-sources/uploads/", {**data, "file": uploaded("a.csv", CSV_DE)})
    assert response.status_code == 400
    assert not Upload.objects.exists()


def test_nul_characters_are_refused_never_stored(owner: Any, ws: Any) -> None:
    content = "Date,Campaign,Spend\n2026-11-01,Bad\x00name,1.00\n"
    with pytest.raises(services.UploadError, match="not a text"):
        services.upload_create(
            kind="ad_performance",
            source_name="X",
            file=uploaded("n\x00ul.csv", content),
            default_currency="EUR",
            user_id=None,
        )
    assert not Upload.objects.exists()
    from uploads.checking import RowChecker, RowErrors

    checker = RowChecker(
        kind="ad_performance", mapping={"date": 0, "campaign": 1, "spend": 2}, headers=["Date", "Campaign", "Spend"],
        source_name="X", date_order="ymd", decimal_mark=".", default_currency="EUR", time_zone="UTC",
    )  # fmt: skip
    with pytest.raises(RowErrors, match="NUL"):
        checker.check(["2026-11-01", "Bad\x00name", "1.00"])


def test_a_saved_mapping_can_be_applied_by_name_to_a_file_with_other_headers(owner: Any, ws: Any) -> None:
    from uploads.models import SavedMapping

    SavedMapping.objects.create(
        name="Quarterly", kind="ad_performance", header_signature="x",
        columns={"date": "Kampagne", "campaign": "Datum", "spend": "Umsatz"}, date_order="dmy", decimal_mark=",",
    )  # fmt: skip
    upload = _upload(ws)
    page = owner.get(f"/data-sources/uploads/{upload.pk}/").content.decode()
    assert '<option value="Quarterly">Quarterly</option>' in page
    owner.post(f"/data-sources/uploads/{upload.pk}/mapping/", {"apply": "Quarterly"})
    upload.refresh_from_db()
    assert upload.mapping == {"date": 1, "campaign": 0, "spend": 7}
    assert (upload.mapping_name, upload.date_order) == ("Quarterly", "dmy")
    response = owner.post(f"/data-sources/uploads/{upload.pk}/mapping/", {"apply": "nope"}, follow=True)
    assert "No saved mapping named" in response.content.decode()
