"""The digest e-mail: an HTML part with inlined CSS, a plain-text part, the charts as inline PNG
parts (CID), and the headers mail providers ask of bulk mail (List-Unsubscribe and RFC 8058's
one-click List-Unsubscribe-Post).

Structure: multipart/related [ multipart/alternative [text/plain, text/html], image/png, … ], the
layout Gmail, Outlook and Apple Mail show inline. Gmail clips an HTML body over 102 KB, and a
combined digest of many workspaces could pass that with its charts, so the message is built again
with fewer charts until it fits (`MAX_MESSAGE_BYTES`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from email.mime.image import MIMEImage
from email.utils import formataddr, parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django_tenants.utils import schema_context

from accounts.selectors import public_url, workspace_url
from bosco.formatting import using_number_format
from digests import content, selectors, tokens
from digests.content import WorkspaceDigest
from digests.schedule import Period

#: Gmail clips messages over 102 KB; stay under with room for the headers a relay adds
MAX_MESSAGE_BYTES = 100 * 1024
FREQUENCY_LABELS = {"daily": "Daily", "weekly": "Weekly", "monthly": "Monthly"}


class DigestEmail(EmailMultiAlternatives):
    """The parts, the images beside them: multipart/related at the top (Django's attachment subtype)."""

    mixed_subtype = "related"


@dataclass
class BuiltDigest:
    message: EmailMultiAlternatives
    html: str
    text: str
    images: dict[str, bytes]
    size: int

    def html_with_inline_images(self) -> str:
        """The HTML with each cid: image as a data: URI (the preview iframe cannot fetch cid:), its
        links opening in a new tab (the preview's frame may not navigate the page)."""
        html = self.html.replace("<head>", '<head><base target="_blank">', 1)
        for cid, png in self.images.items():
            html = html.replace(f"cid:{cid}", "data:image/png;base64," + base64.b64encode(png).decode())
        return html


def unsubscribe_url(*, user_id: int, scope: str) -> str:
    token = tokens.unsubscribe_token(user_id=user_id, scope=scope)
    return public_url(path=reverse("digests_unsubscribe", urlconf="bosco.urls_public", args=[token]))


def gather(*, workspaces: list[Any], period: Period, color: str) -> list[WorkspaceDigest]:
    """Each workspace's part, read in its own schema under its own number format."""
    parts = []
    for workspace in workspaces:
        with schema_context(workspace.schema_name), using_number_format(workspace.number_format):
            parts.append(content.workspace_digest(workspace=workspace, period=period, color=color))
    return parts


def _sender(brand: selectors.Brand) -> str:
    _, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr((brand.sender_name, address))


def _render(
    *, parts: list[WorkspaceDigest], period: Period, brand: selectors.Brand, user: Any, time_zone: str, hour: int,
    unsubscribe: str, message_id: str,
) -> BuiltDigest:  # fmt: skip
    combined = len(parts) > 1
    frequency_label = FREQUENCY_LABELS.get(period.frequency, "")
    heading = f"Your {len(parts)} workspaces" if combined else parts[0].name
    subject = f"{frequency_label} digest: {heading} — {period.label}"
    lead = next((p for p in parts if p.kpis), None)
    preheader = (
        " · ".join(f"{k.label} {k.value} ({k.change})" for k in lead.kpis[:3]) if lead else "What changed, in numbers."
    )
    context = {
        "subject": subject,
        "heading": heading,
        "preheader": preheader,
        "workspaces": parts,
        "combined": combined,
        "period": period,
        "previous": period.previous(),
        "brand": brand,
        "frequency_label": frequency_label,
        "time_zone": time_zone,
        "hour_label": f"{hour:02d}:00",
        "unsubscribe_url": unsubscribe,
        "settings_link": parts[0].links["settings"],
        "user": user,
    }
    html = render_to_string("digests/email/digest.html", context)
    text = render_to_string("digests/email/digest.txt", context)
    message = DigestEmail(
        subject=subject[:200],
        body=text,
        from_email=_sender(brand),
        to=[user.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Message-ID": message_id,
            "Auto-Submitted": "auto-generated",
            "Precedence": "bulk",
        },
    )
    message.attach_alternative(html, "text/html")
    images: dict[str, bytes] = {}
    for part in parts:
        for chart in part.charts:
            image = MIMEImage(chart.png, _subtype="png")
            image.add_header("Content-ID", f"<{chart.cid}>")
            image.add_header("Content-Disposition", "inline", filename=f"{chart.metric}.png")
            message.attach(image)
            images[chart.cid] = chart.png
    size = len(message.message().as_bytes())
    return BuiltDigest(message=message, html=html, text=text, images=images, size=size)


def digest_build(
    *, user: Any, workspaces: list[Any], period: Period, time_zone: str, hour: int, scope: str, send_id: int | None
) -> BuiltDigest:
    """Read every workspace's numbers and build the e-mail (under the size limit)."""
    brand = selectors.brand_for(workspace=workspaces[0])
    parts = gather(workspaces=workspaces, period=period, color=brand.primary_color)
    unsubscribe = unsubscribe_url(user_id=user.pk, scope=tokens.ALL if scope == "combined" else scope)
    domain = settings.BOSCO_DOMAIN
    message_id = f"<digest-{send_id or 'preview'}.{scope}.{period.start.isoformat()}@{domain}>"
    kwargs = {"period": period, "brand": brand, "user": user, "time_zone": time_zone, "hour": hour,
              "unsubscribe": unsubscribe, "message_id": message_id}  # fmt: skip
    built = _render(parts=parts, **kwargs)
    # Too big (many workspaces in one e-mail): first one chart per workspace, then none.
    for keep in (1, 0):
        if built.size <= MAX_MESSAGE_BYTES:
            break
        parts = [replace(p, charts=p.charts[:keep]) for p in parts]
        built = _render(parts=parts, **kwargs)
    return built


def workspace_settings_url(*, workspace: Any) -> str:
    return workspace_url(workspace=workspace, path="/settings/digests/")
