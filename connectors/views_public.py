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

import json
import logging
import time
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.selectors import oauth_route_workspace, workspace_url
from connectors import oauth, shopify_oauth, shopify_webhooks
from connectors.platforms.shopify import valid_shop
from connectors.tasks import shopify_webhook_route

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
    # Shopify signs its install callback: `hmac` over every other parameter, `shop`, `host`, `timestamp`.
    "hmac",
    "shop",
    "host",
    "timestamp",
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


@csrf_exempt
@require_POST
def shopify_webhook(request: HttpRequest) -> HttpResponse:
    """Shopify's webhooks (`/shopify/webhooks/` on the public site), checked and queued at once.

    The raw body must carry Shopify's signature under the app secret (`X-Shopify-Hmac-Sha256`);
    anything else is a 401 and changes nothing. A verified webhook is answered 200 within
    milliseconds (Shopify retries slow answers) and applied by a worker in every workspace that
    connected the shop (`connectors.tasks.shopify_webhook_route`).
    """
    body = request.body
    if not shopify_oauth.webhook_is_signed(body, request.headers.get("X-Shopify-Hmac-Sha256", "")):
        logger.warning("Shopify webhook with a missing or wrong signature refused")
        return JsonResponse({"error": "invalid signature"}, status=401)
    topic = request.headers.get("X-Shopify-Topic", "")
    shop = valid_shop(request.headers.get("X-Shopify-Shop-Domain", ""))
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if shop is None or not isinstance(payload, dict):
        return JsonResponse({"error": "a webhook names its shop and sends a JSON object"}, status=400)
    if topic not in shopify_webhooks.TOPICS:
        logger.info("Shopify webhook %s for %s ignored (not subscribed)", topic, shop)
        return JsonResponse({"status": "ignored"})
    logger.info("Shopify webhook %s for %s (%s)", topic, shop, request.headers.get("X-Shopify-Webhook-Id", ""))
    transaction.on_commit(lambda: shopify_webhook_route.delay(topic, shop, payload))
    return JsonResponse({"status": "queued"})


#: how old Shopify's signed install link may be (its `timestamp`), so a copied link soon stops working
INSTALL_LINK_SECONDS = 24 * 3600


@never_cache
@require_GET
def shopify_install(request: HttpRequest) -> HttpResponse:
    """Shopify's app URL (`/shopify/install/`): the merchant opened Bosco from the Shopify admin.

    The query is signed like the install callback (`hmac` over the other parameters); a link that
    is not, names no valid shop, or is older than a day gets a 400/401 page and does nothing. A
    signed one says how to connect the store from a workspace (Bosco cannot know which workspace
    the store belongs to until someone signed in starts connecting it).
    """
    params = {key: str(request.GET.get(key, "")) for key in request.GET}
    shop = valid_shop(params.get("shop"))
    if not shopify_oauth.query_is_signed(params):
        message = "The link did not carry Shopify's signature."
        return render(request, "connectors/shopify_install.html", {"message": message}, status=401)
    stamp = params.get("timestamp", "")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > INSTALL_LINK_SECONDS:
        message = "The link has expired."
        return render(request, "connectors/shopify_install.html", {"message": message}, status=401)
    if shop is None:
        message = "The link does not name a Shopify store (<name>.myshopify.com)."
        return render(request, "connectors/shopify_install.html", {"message": message}, status=400)
    return render(request, "connectors/shopify_install.html", {"shop": shop})
