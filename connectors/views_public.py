"""The one OAuth callback on the public site (`https://<BOSCO_DOMAIN>/oauth/callback/`).

Google and Meta accept only redirect URIs registered exactly, so every workspace sends this one
(`connectors.conf.oauth_redirect_uri`). The view does no OAuth itself: it finds the workspace
the `state` was issued for (`accounts.OAuthRoute`, by the state's SHA-256) and sends the browser
to that workspace's own callback with the platform's parameters, where the state is checked
(single use, this browser session, this user, not expired) and the code exchanged. Nothing is
marked used here. A state nobody issued, or one that expired or was already spent, gets a 400
page that names no workspace.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.selectors import oauth_route_workspace, workspace_url
from connectors import oauth

logger = logging.getLogger("connectors.views_public")

#: The parameters an authorization response may carry (RFC 6749 §4.1.2, RFC 9207's `iss`, and
#: what Google and Meta add); nothing else is passed on to the workspace host.
PLATFORM_PARAMS = (
    "state",
    "code",
    "scope",
    "error",
    "error_description",
    "error_uri",
    "error_reason",
    "error_code",
    "iss",
    "authuser",
    "hd",
    "prompt",
    "granted_scopes",
    "denied_scopes",
)


@never_cache
@require_GET
def oauth_callback(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state") or ""
    workspace = oauth_route_workspace(state_hash=oauth.state_hash(state)) if state else None
    if workspace is None:
        logger.info("OAuth answer with %s state: not routed", "an unknown or expired" if state else "no")
        minutes = max(1, settings.CONNECTORS_OAUTH_STATE_TTL_SECONDS // 60)
        return render(request, "connectors/oauth_public_error.html", {"minutes": minutes}, status=400)
    # One value per parameter, the one the workspace's callback will read (QueryDict.get: the last).
    query = urlencode([(name, request.GET[name]) for name in PLATFORM_PARAMS if name in request.GET])
    path = f"{reverse('connectors:oauth_callback', urlconf=settings.ROOT_URLCONF)}?{query}"
    return HttpResponseRedirect(workspace_url(workspace=workspace, path=path, request=request))
