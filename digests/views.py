"""The Digests tab of Settings: each member's own schedule and time zone, a live preview of their
next digest, "send me one now", and (Agency plan, owners and admins) the white-label look.

Views parse, call one service or selector, and render; a form with errors is shown again with
status 400 and nothing is saved.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Membership
from accounts.roles import Permission
from accounts.selectors import workspaces_for_user
from billing.entitlements import EntitlementError, for_workspace
from digests import schedule, selectors, services
from digests.forms import BrandingForm, PreferencesForm

BRANDING_FORBIDDEN = "Only owners and admins can change how this workspace's digests look."


def _membership(request: HttpRequest) -> Membership:
    membership = getattr(request, "membership", None)
    if membership is None:
        raise Http404
    return membership


def _page(
    request: HttpRequest,
    *,
    form: PreferencesForm | None = None,
    branding_form: BrandingForm | None = None,
    status: int = 200,
) -> HttpResponse:
    membership = _membership(request)
    user, workspace = membership.user, request.tenant  # type: ignore[attr-defined]
    subscription = selectors.subscription_for(user=user, workspace=workspace)
    profile = selectors.profile_for(user=user)
    if form is None:
        form = PreferencesForm(
            initial={
                "frequency": subscription.frequency,
                "weekday": subscription.weekday,
                "hour": subscription.hour,
                "time_zone": profile.time_zone if profile.pk else workspace.time_zone,
                "delivery": profile.delivery,
            }
        )
    if branding_form is None:
        branding_form = BrandingForm()
        branding_form.initial_from(selectors.branding_for(workspace=workspace))
    next_at = schedule.next_delivery(
        frequency=subscription.frequency,
        weekday=subscription.weekday,
        hour=subscription.hour,
        time_zone=profile.time_zone,
        now=timezone.now(),
    )
    preview = services.digest_preview(user=user, workspace=workspace)
    context: dict[str, Any] = {
        "section": "settings",
        "tab": "digests",
        "form": form,
        "branding_form": branding_form,
        "subscription": subscription,
        "profile": profile,
        # written in the member's zone here: a template would convert it to the server's
        "next_label": next_at.strftime("%A %-d %B, %H:%M") if next_at else "",
        "last_sent": selectors.last_digest_sent(workspace=workspace),
        "sends": selectors.sends_for(user=user, workspace=workspace),
        "preview_html": preview.html_with_inline_images(),
        "preview_subject": preview.message.subject,
        "preview_size": preview.size,
        "white_label": for_workspace(workspace.schema_name).white_label,
        "can_brand": membership.can(Permission.MANAGE_WORKSPACE),
        "workspace_count": workspaces_for_user(user=user).count(),
    }
    return render(request, "digests/settings.html", context, status=status)


@require_http_methods(["GET", "POST"])
def digest_settings(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    if request.method == "GET":
        return _page(request)
    form = PreferencesForm(request.POST)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    try:
        services.preferences_save(user=membership.user, workspace=request.tenant, **form.cleaned_data)  # type: ignore[attr-defined]
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return _page(request, form=form, status=400)
    messages.success(request, "Your digest settings are saved.")
    return HttpResponseRedirect(reverse("settings_digests"))


@require_POST
def digest_send_now(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    try:
        send = services.send_now(user=membership.user, workspace=request.tenant)  # type: ignore[attr-defined]
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Your digest is on its way to {send.to_email}.")
    return HttpResponseRedirect(reverse("settings_digests"))


@require_POST
def digest_branding(request: HttpRequest) -> HttpResponse:
    membership = _membership(request)
    if not membership.can(Permission.MANAGE_WORKSPACE):
        return HttpResponse(BRANDING_FORBIDDEN, status=403)
    form = BrandingForm(request.POST)
    if not form.is_valid():
        return _page(request, branding_form=form, status=400)
    try:
        services.branding_save(workspace=request.tenant, **form.cleaned_data)  # type: ignore[attr-defined]
    except EntitlementError as exc:
        form.add_error(None, exc.message)
        return _page(request, branding_form=form, status=403)
    messages.success(request, "The digests' look is saved.")
    return HttpResponseRedirect(reverse("settings_digests") + "#branding")


@require_GET
def digest_preview(request: HttpRequest) -> HttpResponse:
    """The preview alone, for the "Refresh" button (htmx swaps the iframe)."""
    membership = _membership(request)
    preview = services.digest_preview(user=membership.user, workspace=request.tenant)  # type: ignore[attr-defined]
    return render(
        request,
        "digests/settings.html#preview",
        {"preview_html": preview.html_with_inline_images(), "preview_subject": preview.message.subject,
         "preview_size": preview.size},
    )  # fmt: skip
