"""Support's pages on a workspace host: entering an impersonation (from the admin) and ending it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from support import services


@require_GET
def impersonation_enter(request: HttpRequest) -> HttpResponse:
    """Spend the admin's single-use ticket: a read-only session as the member, on this host."""
    try:
        impersonation = services.impersonation_enter(token=request.GET.get("token", ""), workspace=request.tenant)  # type: ignore[attr-defined]
    except services.SupportError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("account_login"))
    login(request, impersonation.member, backend="django.contrib.auth.backends.ModelBackend")
    request.session[services.IMPERSONATION_SESSION_KEY] = impersonation.pk
    return HttpResponseRedirect("/")


@require_POST
def impersonation_end(request: HttpRequest) -> HttpResponse:
    pk = request.session.get(services.IMPERSONATION_SESSION_KEY)
    if pk is not None:
        services.impersonation_end(pk=pk)
    logout(request)
    # Stay on this host (the CSP's form-action keeps a form's redirects here); support goes back
    # to the admin's tab.
    messages.info(request, "Impersonation ended; this session is signed out.")
    return HttpResponseRedirect(reverse("account_login"))
