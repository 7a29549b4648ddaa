"""The digest e-mail, sent to a real SMTP server (aiosmtpd) and parsed: both parts, the PNG charts
as inline CID parts, the headers of RFC 8058, the size under Gmail's clipping limit, numbers in the
workspace's currency and number format, anomalies / open alerts / forecast / settling days, links
to each item's page, white-label for the Agency plan, and an agency member's combined e-mail."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from alerts.models import AlertIncident, AlertRule
from billing.entitlements import EntitlementError
from bosco.formatting import using_number_format
from digests import selectors, services
from digests.models import DigestSend
from digests.schedule import period_for_delivery_day
from insights.models import AnomalyFinding, ForecastPoint, ModelVersion
from tests.digests.conftest import (
    html_of,
    images_of,
    in_schema,
    make_agency,
    owner_of,
    subscribe,
    text_of,
    with_history,
)
from tests.insights.conftest import yesterday_utc
from warehouse.metrics import format_metric
from warehouse.selectors import MetricsQuery, metrics_query

pytestmark = pytest.mark.django_db
GMAIL_CLIP = 102 * 1024


def this_morning() -> datetime:
    """Today 09:00 UTC: yesterday (UTC) is the newest day of the synthetic data."""
    return datetime.combine(yesterday_utc() + timedelta(days=1), time(9), tzinfo=UTC)


def send_due(now: datetime) -> list[DigestSend]:
    ids = services.sends_claim_due(now=now)
    for send_id in ids:
        services.send_deliver(send_id=send_id, now=now)
    return list(DigestSend.objects.filter(pk__in=ids))


def _version(kind: str) -> ModelVersion:
    return ModelVersion.objects.create(
        kind=kind, name=f"{kind} test", algorithm="test-1", code_version="test",
        training_start=date(2026, 1, 1), training_end=yesterday_utc(), fingerprint=f"{kind}-digest",
    )  # fmt: skip


def add_findings_alert_and_forecast(period_end: date) -> tuple[AnomalyFinding, AlertIncident]:
    finding = AnomalyFinding.objects.create(
        version=_version(ModelVersion.Kind.ANOMALY), metric="spend", scope="platform", key="meta", label="Meta",
        platform="meta", date=period_end, value=900.0, expected=300.0, lower=200.0, upper=400.0, score=7.5, z=6.0,
        severity="high", direction="up", explanation="Spend was 3× the usual.",
    )  # fmt: skip
    rule = AlertRule.objects.create(name="CPA too high", kind="threshold", metric="cpa", threshold=5)
    incident = AlertIncident.objects.create(rule=rule, dedup_key="k", subject="the whole workspace", value=7.2)
    version = _version(ModelVersion.Kind.FORECAST)
    for offset in range(14):
        ForecastPoint.objects.create(
            version=version, metric="spend", scope="workspace", key="", label="All", platform="",
            date=period_end + timedelta(days=1 + offset), yhat=1000.0, lower_80=900.0, upper_80=1100.0,
            lower_95=850.0, upper_95=1150.0,
        )  # fmt: skip
    return finding, incident


def test_a_weekly_digest_arrives_with_both_parts_png_charts_unsubscribe_headers_and_under_102_kb(
    inbox: Any, digest_workspace: Any
) -> None:
    owner = owner_of(digest_workspace)
    now = this_morning()
    subscribe(owner, digest_workspace, frequency="weekly", weekday=now.weekday(), hour=8, time_zone="UTC")
    period = period_for_delivery_day("weekly", now.date())
    with in_schema(digest_workspace):
        finding, _ = add_findings_alert_and_forecast(period.end)
        spend = metrics_query(MetricsQuery(metrics=("spend",), date_from=period.start, date_to=period.end)).rows[0]

    sends = send_due(now)
    assert [(s.state, s.attempts, s.scope) for s in sends] == [("sent", 1, digest_workspace.schema_name)]
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    raw = message.as_bytes()

    # structure: related [alternative [plain, html], png, png, png]
    assert message.get_content_type() == "multipart/related"
    assert message["To"] == owner.email and "Weekly digest: Digest Shop" in message["Subject"]
    html, text = html_of(message), text_of(message)
    assert 'style="' in html and "<style" not in html and "<script" not in html.lower()
    images = images_of(message)
    assert len(images) == 3
    for cid, png in images.items():
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(io.BytesIO(png)) as image:
            image.verify()
        assert f'src="cid:{cid}"' in html
        assert len(png) < 12_000, "charts stay small"
    # headers: RFC 2369 / RFC 8058
    unsubscribe = str(message["List-Unsubscribe"]).strip()
    assert unsubscribe.startswith("<http://") and "/digests/unsubscribe/" in unsubscribe
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Message-ID"].startswith("<digest-")
    # size: the whole message (images included) under Gmail's clipping limit
    assert len(raw) < GMAIL_CLIP and len(html.encode()) < GMAIL_CLIP
    assert sends[0].size_bytes and sends[0].size_bytes < GMAIL_CLIP

    # numbers in the workspace's currency and German number format
    with using_number_format("de-DE"):
        expected = format_metric("spend", spend["spend"], "EUR")
    assert expected.endswith("€") and expected in html and expected in text
    # every item links to its page on the workspace host
    host = "http://dgst."
    assert f"{host}" in html and "/campaigns/" in html and "/channels/?period=custom" in html
    assert f"/insights/anomalies/{finding.pk}/" in html and f"/insights/anomalies/{finding.pk}/" in text
    assert "CPA too high" in html and "/alerts/" in html
    assert "Forecast for the coming period" in text and "Spend:" in text and "/insights/forecasts/" in html
    assert "Spend above expected" in text
    assert "▲" in html or "▼" in html
    assert "Biggest movers" in text and "Spend and revenue by platform" in text

    # the record: sent once; the support console's selector sees it
    last = selectors.last_digest_sent(workspace=digest_workspace)
    assert last is not None and last.to_email == owner.email and last.period_start == period.start


def test_beat_firing_twice_makes_one_send_record_and_one_email(inbox: Any, digest_workspace: Any) -> None:
    owner = owner_of(digest_workspace)
    now = this_morning()
    subscribe(owner, digest_workspace, frequency="daily", hour=0, time_zone="UTC")
    first = send_due(now)
    again = send_due(now + timedelta(minutes=15))
    assert len(first) == 1 and again == []
    assert services.send_deliver(send_id=first[0].pk) == "sent"  # a redelivered task does nothing
    assert len(inbox.messages) == 1
    assert DigestSend.objects.count() == 1


def test_a_settling_week_says_so_plainly(inbox: Any, digest_workspace: Any) -> None:
    owner = owner_of(digest_workspace)
    now = this_morning()
    subscribe(owner, digest_workspace, frequency="daily", hour=0)
    with in_schema(digest_workspace):
        from warehouse.selectors import warehouse_status

        settling = warehouse_status()["settling"]
    send_due(now)
    text = text_of(inbox.messages[0])
    if settling:  # the synthetic platforms' recent days are inside their restatement windows
        assert "Still settling:" in text and "may still revise" in text
    else:
        assert "Still settling" not in text
    assert settling, "the synthetic data has settling days, so the note is exercised"


def test_an_agency_member_gets_one_combined_email_for_two_workspaces(
    inbox: Any, make_workspace: Any, make_user: Any
) -> None:
    agent = make_user("agent@agency.example")
    first = with_history(make_workspace("clia", name="Client A", owner=agent), days=21)
    second = with_history(make_workspace("clib", name="Client B", owner=agent), days=21)
    now = this_morning()
    for workspace in (first, second):
        subscribe(agent, workspace, frequency="daily", hour=0, delivery="combined")
    sends = send_due(now)
    assert [(s.scope, sorted(s.schemas)) for s in sends] == [
        ("combined", sorted([first.schema_name, second.schema_name]))
    ]
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    html = html_of(message)
    assert "Client A" in html and "Client B" in html and "http://clia." in html and "http://clib." in html
    assert "Your 2 workspaces" in message["Subject"]
    assert len(message.as_bytes()) < GMAIL_CLIP
    assert len(images_of(message)) >= 2
    # one e-mail per workspace instead
    DigestSend.objects.all().delete()
    inbox.messages.clear()
    for workspace in (first, second):
        subscribe(agent, workspace, frequency="daily", hour=0, delivery="per_workspace")
    assert len(send_due(now)) == 2 and len(inbox.messages) == 2


def test_white_label_is_for_the_agency_plan_only(inbox: Any, digest_workspace: Any) -> None:
    branding = {"sender_name": "Acme Agency", "logo_url": "https://agency.example/logo.png",
                "primary_color": "#aa3366", "accent_color": "#112233"}  # fmt: skip
    with pytest.raises(EntitlementError, match="Agency plan"):
        services.branding_save(workspace=digest_workspace, **branding)
    assert not selectors.brand_for(workspace=digest_workspace).white_label

    make_agency(digest_workspace)
    services.branding_save(workspace=digest_workspace, **branding)
    owner = owner_of(digest_workspace)
    subscribe(owner, digest_workspace, frequency="daily", hour=0)
    send_due(this_morning())
    message = inbox.messages[0]
    assert message["From"].startswith("Acme Agency <")
    html = html_of(message)
    assert "https://agency.example/logo.png" in html and "#aa3366" in html and "Bosco ·" not in html


def test_a_refused_recipient_fails_at_once_and_an_unreachable_server_is_retried(
    settings: Any, digest_workspace: Any
) -> None:
    from bosco.tasks import TransientError
    from tests.alerts.conftest import free_port

    owner = owner_of(digest_workspace)
    subscribe(owner, digest_workspace, frequency="daily", hour=0)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    (send_id,) = services.sends_claim_due(now=this_morning())
    with pytest.raises(TransientError):
        services.send_deliver(send_id=send_id)
    send = DigestSend.objects.get(pk=send_id)
    assert (send.state, send.attempts) == ("pending", 1) and "ConnectionRefusedError" in send.error


def test_send_now_is_limited_and_a_preview_stores_nothing(digest_workspace: Any) -> None:
    owner = owner_of(digest_workspace)
    preview = services.digest_preview(user=owner, workspace=digest_workspace)
    assert "data:image/png;base64," in preview.html_with_inline_images()
    assert DigestSend.objects.count() == 0
    services.send_now(user=owner, workspace=digest_workspace)
    with pytest.raises(ValidationError, match="already on its way"):
        services.send_now(user=owner, workspace=digest_workspace)
    assert DigestSend.objects.filter(kind="manual").count() == 1


def test_unsubscribe_stops_one_workspace_or_all(digest_workspace: Any, make_workspace: Any) -> None:
    owner = owner_of(digest_workspace)
    other = make_workspace("dgso", owner=owner)
    subscribe(owner, digest_workspace, frequency="daily", hour=0)
    subscribe(owner, other, frequency="weekly")
    assert services.unsubscribe(user_id=owner.pk, scope=digest_workspace.schema_name) == 1
    assert selectors.subscription_for(user=owner, workspace=digest_workspace).frequency == "off"
    assert selectors.subscription_for(user=owner, workspace=other).frequency == "weekly"
    assert services.unsubscribe(user_id=owner.pk, scope="all") == 1
    assert services.unsubscribe(user_id=owner.pk, scope="all") == 0  # idempotent


def test_a_member_who_left_the_workspace_gets_no_digest(digest_workspace: Any, make_user: Any) -> None:
    from accounts.models import Membership

    ex = make_user("ex@example.com")
    membership = Membership.objects.create(user=ex, workspace=digest_workspace, role="viewer")
    subscribe(ex, digest_workspace, frequency="daily", hour=0)
    assert len(services.digests_due(now=this_morning())) == 1
    membership.delete()
    assert services.digests_due(now=this_morning()) == []


def test_the_fan_out_in_a_dst_week_sends_each_member_at_their_own_local_hour(
    inbox: Any, make_workspace: Any, make_user: Any
) -> None:
    from accounts.models import Membership

    workspace = make_workspace("dgtz", name="Zone Shop")
    berlin, new_york = make_user("berlin@example.com"), make_user("ny@example.com")
    for member, zone in ((berlin, "Europe/Berlin"), (new_york, "America/New_York")):
        Membership.objects.create(user=member, workspace=workspace, role="viewer")
        subscribe(member, workspace, frequency="weekly", weekday=0, hour=8, time_zone=zone)
    # Monday 30 March 2026, the day after Berlin's change to summer time (New York changed on the 8th)
    assert send_due(datetime(2026, 3, 30, 5, 45, tzinfo=UTC)) == []  # 07:45 in Berlin
    (first,) = send_due(datetime(2026, 3, 30, 6, 0, tzinfo=UTC))  # 08:00 CEST
    assert (first.to_email, first.period_start, first.period_end) == (
        "berlin@example.com", date(2026, 3, 23), date(2026, 3, 29)
    )  # fmt: skip
    assert send_due(datetime(2026, 3, 30, 11, 45, tzinfo=UTC)) == []  # 07:45 EDT; Berlin's is sent already
    (second,) = send_due(datetime(2026, 3, 30, 12, 0, tzinfo=UTC))  # 08:00 EDT
    assert second.to_email == "ny@example.com" and second.period_start == date(2026, 3, 23)
    assert [m["To"] for m in inbox.messages] == ["berlin@example.com", "ny@example.com"]
    assert "No data yet" in text_of(inbox.messages[0])  # a workspace without data still says so plainly


def test_a_combined_digest_too_big_for_gmail_drops_charts_until_it_fits(
    inbox: Any, make_workspace: Any, make_user: Any, monkeypatch: Any
) -> None:
    from digests import message as digest_message

    agent = make_user("big@agency.example")
    workspaces = [with_history(make_workspace(slug, owner=agent), days=14) for slug in ("bga", "bgb")]
    for workspace in workspaces:
        subscribe(agent, workspace, frequency="daily", hour=0, delivery="combined")
    full = digest_message.digest_build(
        user=agent, workspaces=workspaces, period=period_for_delivery_day("daily", this_morning().date()),
        time_zone="UTC", hour=0, scope="combined", send_id=None,
    )  # fmt: skip
    assert len(full.images) == 6
    # A limit between "one chart per workspace" and "three": the smaller message must be sent.
    limit = full.size - 2 * 1024
    monkeypatch.setattr(digest_message, "MAX_MESSAGE_BYTES", limit)
    (send,) = send_due(this_morning())
    message = inbox.messages[0]
    assert send.state == "sent" and len(message.as_bytes()) <= limit
    images = images_of(message)
    assert 0 < len(images) < 6 and all(f"cid:{cid}" in html_of(message) for cid in images)
