"""Attribution CSV imports: a good file is attributed by every model; a bad one is refused with one
clear sentence and leaves nothing behind."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from accounts.models import Membership
from insights.models import AttributionImport, AttributionResult, ModelVersion
from insights.services import InsightsError, import_attribution_csv
from insights.services.paths_csv import SAMPLE_CSV
from tests.insights.conftest import in_schema

pytestmark = pytest.mark.django_db

GOOD = SAMPLE_CSV.encode()

BAD_FILES = [
    pytest.param(b"", "The file is empty.", id="empty"),
    pytest.param(b"   \n\n", "The file is empty.", id="blank"),
    pytest.param(b"path,total_conversions,total_null\n", "header but no data rows", id="header-only"),
    pytest.param(
        b"journey,conversions\nA > B,3\n",
        "Missing columns path, total_conversions, total_null (found: journey, conversions)",
        id="missing-columns",
    ),
    pytest.param(b"path,total_conversions\nA > B,3\n", "Missing column total_null", id="missing-one-column"),
    pytest.param(
        b"path,total_conversions,total_null\nA > B,3,1\nB,three,2\n",
        "Column total_conversions, row 3: “three” is not a number.",
        id="non-numeric",
    ),
    pytest.param(b"path,total_conversions,total_null\nA > B,-3,1\n", "row 2: -3 is negative", id="negative"),
    pytest.param(b"path,total_conversions,total_null\nA >  > B,3,1\n", "has an empty step", id="empty-step"),
    pytest.param(b"path,total_conversions,total_null\nA > B,0,10\n", "No path has a conversion", id="no-conversions"),
    pytest.param(b"PK\x03\x04\x00\x00binary", "looks binary", id="excel"),
    pytest.param(b"path,total_conversions,total_null\n\xff\xfeA,1,1\n", "not UTF-8", id="not-utf8"),
    pytest.param(
        b"path,total_conversions,total_null,touch_days_before_conversion\nA > B,3,1,9\n",
        "needs one number of days (0 or more) per touch (2 here)",
        id="touch-days-mismatch",
    ),
]


@pytest.fixture(scope="module")
def attribution_workspace(django_db_setup, django_db_blocker):
    """One committed workspace for the module; each test's writes roll back with its transaction."""
    from accounts.models import User
    from accounts.services import workspace_create, workspace_drop

    with django_db_blocker.unblock():
        owner, _ = User.objects.get_or_create(email="owner@ins-attr.example")
        workspace = workspace_create(owner=owner, name="Attribution", slug="ins-attr")
        yield workspace
        workspace_drop(workspace=workspace)
        owner.delete()


@pytest.fixture
def in_workspace(db, attribution_workspace):
    with in_schema(attribution_workspace) as workspace:
        yield workspace


def test_a_good_file_is_attributed_by_every_model_and_recorded(in_workspace) -> None:
    record, created = import_attribution_csv(data=GOOD, filename="paths.csv", name="October paths", user_id=7)
    assert created
    assert record.name == "October paths" and record.paths == 10 and record.uploaded_by_id == 7
    assert record.channels == ["Direct", "Email", "Meta Ads", "Paid Search", "TikTok Ads"]
    models = set(record.results.values_list("model", flat=True))
    assert models == {
        "first_touch",
        "last_touch",
        "linear",
        "position_based",
        "markov_1",
        "markov_2",
        "markov_3",
        "shapley",
    }
    for model in models:
        rows = record.results.filter(model=model)
        assert rows.count() == 5
        assert abs(sum(r.conversions for r in rows) - record.conversions) < 1e-6
        assert abs(sum(r.conversion_value for r in rows) - record.conversion_value) < 1e-4
    version = record.version
    assert version.kind == ModelVersion.Kind.ATTRIBUTION and version.algorithm == "attribution/1"
    assert set(AttributionResult.objects.values_list("version_id", flat=True)) == {version.pk}
    assert version.metrics["paths"] == 10 and version.metrics["max_sum_error"] < 1e-6


def test_importing_the_same_file_again_returns_the_first_import(in_workspace) -> None:
    first, _ = import_attribution_csv(data=GOOD, filename="paths.csv")
    again, created = import_attribution_csv(data=GOOD, filename="copy.csv")
    assert not created and again.pk == first.pk
    assert AttributionImport.objects.count() == 1 and ModelVersion.objects.count() == 1


def test_semicolons_quoted_thousands_and_touch_times_are_understood(in_workspace) -> None:
    data = (
        b"Path;Total Conversions;Total_Null;total_conversion_value;touch_days_before_conversion\n"
        b'Search > Email;"1,200";300;5000;9 > 0\n'
        b"Email;10;40;100;1\n"
    )
    record, _ = import_attribution_csv(data=data, filename="semi.csv")
    assert record.conversions == 1210 and record.has_touch_times
    assert record.results.filter(model="time_decay").count() == 2


@pytest.mark.parametrize(("data", "message"), BAD_FILES)
def test_a_bad_file_gets_one_clear_error_and_stores_nothing(in_workspace, data: bytes, message: str) -> None:
    import_attribution_csv(data=GOOD, filename="kept.csv")  # earlier data must survive
    with pytest.raises(InsightsError) as caught:
        import_attribution_csv(data=data, filename="bad.csv")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert AttributionImport.objects.count() == 1
    assert ModelVersion.objects.count() == 1


def _upload(client, data: bytes, name: str = "paths.csv"):
    return client.post(
        "/insights/attribution/import/", {"file": SimpleUploadedFile(name, data, "text/csv"), "name": ""}
    )


def test_the_page_imports_and_shows_the_models_side_by_side(db, attribution_workspace, workspace_client) -> None:
    workspace = attribution_workspace
    client = workspace_client(workspace.memberships.get().user, workspace)
    response = _upload(client, GOOD)
    assert response.status_code == 302
    page = client.get(response["Location"])
    body = page.content.decode()
    assert page.status_code == 200
    for label in ("Last touch", "Markov (1st order)", "Shapley value", "Paid Search", "TikTok Ads"):
        assert label in body
    assert 'data-plotly="attribution-chart"' in body
    revenue = client.get(response["Location"] + "?measure=conversion_value").content.decode()
    assert "€" in revenue


def test_the_page_shows_a_bad_file_error_and_keeps_nothing(db, attribution_workspace, workspace_client) -> None:
    workspace = attribution_workspace
    client = workspace_client(workspace.memberships.get().user, workspace)
    response = _upload(client, b"journey,conversions\nA,1\n")
    assert response.status_code == 200 and 'id="upload-error"' in response.content.decode()
    assert "Missing columns path, total_conversions, total_null" in response.content.decode()
    with schema_context(workspace.schema_name):
        assert not AttributionImport.objects.exists()


def test_viewers_see_attribution_but_cannot_import(db, attribution_workspace, make_user, workspace_client) -> None:
    workspace = attribution_workspace
    viewer = make_user("viewer@ins.example")
    Membership.objects.create(user=viewer, workspace=workspace, role="viewer")
    client = workspace_client(viewer, workspace)
    assert client.get("/insights/attribution/").status_code == 200
    assert "Import and attribute" not in client.get("/insights/attribution/").content.decode()
    assert _upload(client, GOOD).status_code == 403
    with schema_context(workspace.schema_name):
        assert not AttributionImport.objects.exists()


def test_the_sample_file_downloads_and_imports_cleanly(db, attribution_workspace, workspace_client) -> None:
    workspace = attribution_workspace
    client = workspace_client(workspace.memberships.get().user, workspace)
    response = client.get("/insights/attribution/sample.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    with in_schema(workspace):
        import_attribution_csv(data=response.content, filename="sample.csv")


def test_bad_input_never_raises_anything_but_insights_error(in_workspace) -> None:
    """A fuzz of truncated and mangled versions of a good file: each is either imported or refused cleanly."""
    import random

    rng = random.Random(3)
    text = GOOD
    for _ in range(60):
        data = bytearray(text)
        for _ in range(rng.randint(1, 6)):
            position = rng.randrange(len(data))
            data[position] = rng.choice(b',;>\n"0a-. \x00')
        data = data[: rng.randint(0, len(data))]
        message = None
        try:
            import_attribution_csv(data=bytes(data), filename="fuzz.csv")
        except InsightsError as exc:
            message = str(exc)
        assert message is None or (message and "\n" not in message)
