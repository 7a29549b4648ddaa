"""Who may see a workspace host: its members, and nobody else.

Runs after authentication. On a workspace host it
- drops a session that was signed in on another host (a copied cookie is worth nothing),
- sends anonymous visitors to that host's sign-in page,
- answers 404 to signed-in non-members (the same answer as a workspace that does not exist),
- puts the member's `Membership` on `request.membership` for views to check permissions.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from django.contrib.auth import logout
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django_tenants.utils import get_public_schema_name

from accounts.selectors import membership_get
from accounts.signals import SESSION_SCHEMA_KEY

# Paths on a workspace host that work without membership: signing in, the host handoff,
# static files, and the API (which authenticates with its own keys and scopes itself).
OPEN_PREFIXES = ("/accounts/", "/auth/handoff/", "/static/", "/api/", "/favicon.ico")


class WorkspaceAccessMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        request.membership = None  # type: ignore[attr-defined]
        if tenant is None:
            return self.get_response(request)

        user = request.user
        if user.is_authenticated:
            bound = request.session.get(SESSION_SCHEMA_KEY)
            if bound is None:
                request.session[SESSION_SCHEMA_KEY] = tenant.schema_name
            elif bound != tenant.schema_name:
                logout(request)

        if tenant.schema_name == get_public_schema_name():
            return self.get_response(request)

        if request.path.startswith(OPEN_PREFIXES):
            if request.user.is_authenticated:
                request.membership = membership_get(user=request.user, workspace=tenant)  # type: ignore[attr-defined,arg-type]
            return self.get_response(request)

        if not request.user.is_authenticated:
            login_url = reverse("account_login")
            return HttpResponseRedirect(f"{login_url}?next={quote(request.get_full_path())}")

        membership = membership_get(user=request.user, workspace=tenant)  # type: ignore[arg-type]
        # A suspended workspace still shows its pages to its members, read-only (billing's
        # entitlements make it so and say why); only non-members get the 404.
        if membership is None:
            raise Http404("No such workspace")
        request.membership = membership  # type: ignore[attr-defined]
        return self.get_response(request)
