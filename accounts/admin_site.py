"""The support admin: staff only, signed in through allauth with a second factor.

Django's own admin sign-in form has no rate limit and no second factor. Here the admin has no
sign-in form of its own: `/admin/login/` sends the browser to allauth's sign-in (the same
failure limits as every other sign-in, then the TOTP step), and the admin lets in only a staff
session that passed that second factor. A staff account without an authenticator is sent to set
one up first (TOTP, which also makes its recovery codes); a staff session that signed in without
the second factor (say, before the authenticator existed) is asked for a code again.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache

from bosco.redirects import safe_next


def session_passed_second_factor(request: HttpRequest) -> bool:
    """Whether this session's sign-in (or a later re-authentication) included an MFA code."""
    records = get_authentication_records(request, request.user)  # type: ignore[arg-type]
    return any(record.get("method") == "mfa" for record in records)


def _with_next(url_name: str, next_url: str) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': next_url})}"


class StaffAdminSite(admin.AdminSite):
    site_header = "Bosco support"
    site_title = "Bosco support"
    index_title = "Workspaces, people and subscriptions"

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and session_passed_second_factor(request)

    @method_decorator(never_cache)
    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """The next step towards the admin; never a form that takes a password."""
        next_url = safe_next(request, request.GET.get("next"), reverse("admin:index", current_app=self.name))
        user = request.user
        if not user.is_authenticated:
            return HttpResponseRedirect(_with_next("account_login", next_url))
        if not (user.is_active and user.is_staff):
            return render(request, "403.html", status=403)
        if not is_mfa_enabled(user):
            messages.info(request, "Bosco support needs a second factor: set up an authenticator app to continue.")
            return HttpResponseRedirect(reverse("mfa_activate_totp"))
        return HttpResponseRedirect(_with_next("mfa_reauthenticate", next_url))
