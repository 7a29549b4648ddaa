"""Settings → Tracking: the snippet to copy, what is accepted, counts, key rotation, erasure requests.

Views parse, call one service or selector, and render; a form with errors is shown again with
status 400 and nothing is saved. Changing anything needs the workspace-management permission.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Membership
from accounts.roles import Permission
from accounts.selectors import public_url
from tracking import snippet
from tracking.forms import ErasureForm, TrackingSettingsForm
from tracking.selectors.stats import collect_stats
from tracking.services import privacy
from tracking.services import settings as settings_services

FORBIDDEN = "Only owners and admins can change tracking."


def _membership(request: HttpRequest) -> Membership:
    membership = getattr(request, "membership", None)
    if membership is None:
        raise Http404
    return membership


def snippet_tag(request: HttpRequest, *, public_key: str, consent_mode: bool) -> str:
    version = snippet.CURRENT_VERSION
    src = public_url(path=reverse("tracking_snippet", urlconf="bosco.urls_public", args=[version]), request=request)
    consent = ' data-consent="required"' if consent_mode else ""
    return (
        "<script>window.bosco=window.bosco||function(){(bosco.q=bosco.q||[]).push(arguments)};</script>\n"
        f'<script async src="{src}" integrity="{snippet.integrity(version)}" crossorigin="anonymous" '
        f'data-key="{public_key}"{consent}></script>'
    )


def _page(
    request: HttpRequest,
    *,
    form: TrackingSettingsForm | None = None,
    erasure_form: ErasureForm | None = None,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    membership = _membership(request)
    workspace = request.tenant  # type: ignore[attr-defined]
    tracking = settings_services.tracking_settings_ensure(workspace=workspace)
    if form is None:
        form = TrackingSettingsForm(
            initial={
                "allowed_origins": "\n".join(tracking.allowed_origins),
                "consent_mode": tracking.consent_mode,
                "retention_months": tracking.retention_months,
                "lookback_days": tracking.lookback_days,
                "enabled": tracking.enabled,
            }
        )
    context: dict[str, Any] = {
        "section": "settings",
        "tab": "tracking",
        "tracking": tracking,
        "form": form,
        "erasure_form": erasure_form or ErasureForm(),
        "tag": snippet_tag(request, public_key=tracking.public_key, consent_mode=tracking.consent_mode),
        "collect_url": public_url(
            path=reverse("tracking_collect", urlconf="bosco.urls_public", args=[tracking.public_key]), request=request
        ),
        "snippet_gzip_bytes": snippet.gzipped_size(snippet.CURRENT_VERSION),
        "stats": collect_stats(schema=workspace.schema_name),
        "can_manage": membership.can(Permission.MANAGE_WORKSPACE),
        **extra,
    }
    return render(request, "tracking/settings.html", context, status=status)


@require_GET
def tracking_settings(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
def tracking_settings_save(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    if not membership.can(Permission.MANAGE_WORKSPACE):
        return HttpResponse(FORBIDDEN, status=403)
    form = TrackingSettingsForm(request.POST)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    try:
        settings_services.tracking_settings_update(workspace=request.tenant, **form.cleaned_data)  # type: ignore[attr-defined]
    except settings_services.SettingsError as exc:
        form.add_error(None, str(exc))
        return _page(request, form=form, status=400)
    messages.success(request, "Tracking settings saved.")
    return HttpResponseRedirect(reverse("settings_tracking"))


@require_POST
def tracking_key_rotate(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    if not membership.can(Permission.MANAGE_WORKSPACE):
        return HttpResponse(FORBIDDEN, status=403)
    settings_services.tracking_key_rotate(workspace=request.tenant)  # type: ignore[attr-defined]
    messages.success(request, "A new key is in the snippet below; the old key is refused from now on.")
    return HttpResponseRedirect(reverse("settings_tracking") + "#snippet")


@require_POST
def tracking_erase(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    if not membership.can(Permission.MANAGE_WORKSPACE):
        return HttpResponse(FORBIDDEN, status=403)
    form = ErasureForm(request.POST)
    if not form.is_valid():
        return _page(request, erasure_form=form, status=400)
    result = privacy.customer_events_erase(
        customer_id=form.cleaned_data.get("customer_id", ""), email=form.cleaned_data.get("email", "")
    )
    messages.success(
        request,
        f"Erased {result.events_deleted} event{'s' if result.events_deleted != 1 else ''} "
        f"of this person ({result.visitors} visitor id{'s' if result.visitors != 1 else ''}).",
    )
    return HttpResponseRedirect(reverse("settings_tracking") + "#erasure")
