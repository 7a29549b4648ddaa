"""Unsubscribing from a digest without signing in (public host).

GET shows a confirmation page with one button; POST unsubscribes. The POST needs no CSRF token:
the signed token in the URL is the proof (RFC 8058 one-click: mail providers POST
"List-Unsubscribe=One-Click" to the URL from the List-Unsubscribe header, with no cookies).
A token whose signature does not match is refused with 400 and changes nothing.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.selectors import workspace_for_schema
from digests import services, tokens


def _what(scope: str) -> str:
    if scope == tokens.ALL:
        return "all Bosco digests"
    workspace = workspace_for_schema(schema_name=scope)
    return f"digests of {workspace.name}" if workspace else "these digests"


@csrf_exempt  # the signed token authorises the POST; one-click senders send no cookie or CSRF token
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    wanted = tokens.unsubscribe_read(token)
    if wanted is None:
        return render(request, "digests/unsubscribe.html", {"invalid": True}, status=400)
    if request.method == "POST":
        services.unsubscribe(user_id=wanted.user_id, scope=wanted.scope)
        return render(request, "digests/unsubscribe.html", {"done": True, "what": _what(wanted.scope)})
    return render(request, "digests/unsubscribe.html", {"what": _what(wanted.scope), "token": token})
