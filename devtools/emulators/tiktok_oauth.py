"""TikTok for Business OAuth: the authorisation page, the auth-code exchange, the advertiser list.

  https://business-api.tiktok.com/portal/auth                         ↔  {base}/tiktok/portal/auth
  https://business-api.tiktok.com/open_api/v1.3/oauth2/access_token/  ↔  {base}/tiktok/open_api/v1.3/oauth2/access_token/
  https://business-api.tiktok.com/open_api/v1.3/oauth2/advertiser/get/ ↔ {base}/tiktok/open_api/v1.3/oauth2/advertiser/get/
The auth code becomes a long-lived access token (no refresh token, no expiry); the advertisers the
person authorised come with it and from `oauth2/advertiser/get/`.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from devtools.emulators.auth import TIKTOK_SCOPES, TIKTOK_TOKEN_LIFETIME
from devtools.emulators.config import TIKTOK
from devtools.emulators.google_oauth import consent_page
from devtools.emulators.http import find_fault, html_response, truncate
from devtools.emulators.state import EmulatorState
from devtools.emulators.tiktok_common import (
    APP_INVALID,
    AUTH_CODE_INVALID,
    GatewayError,
    TikTokError,
    check_token,
    common_faults,
    envelope,
    error_response,
    invalid_param,
    params_of,
    token_faults,
)

_SCOPE_LABELS = {"1": "Ad Account Management", "4": "Reporting"}


def _with_query(uri: str, params: dict[str, str]) -> str:
    return uri + ("&" if "?" in uri else "?") + urlencode(params)


def authorize(state: EmulatorState, request: Request) -> Response:
    state.count_request(TIKTOK, "oauth.authorize")
    args = request.args
    if args.get("app_id") != state.config.tiktok_app_id:
        return html_response("<!doctype html><p id=error>Invalid app_id: this app does not exist.</p>", 400)
    if not args.get("redirect_uri"):
        return html_response("<!doctype html><p id=error>redirect_uri is missing.</p>", 400)
    with state.locked():
        consent = state.tokens.new_consent(TIKTOK, dict(args.items()))
    base = request.script_root + "/tiktok/portal/auth/decision"
    return html_response(
        consent_page(
            platform_label="TikTok for Business",
            app_name="Bosco",
            scopes=[_SCOPE_LABELS[s] for s in TIKTOK_SCOPES],
            allow_href=f"{base}?{urlencode({'consent': consent.id, 'decision': 'allow'})}",
            deny_href=f"{base}?{urlencode({'consent': consent.id, 'decision': 'deny'})}",
        )
    )


def decision(state: EmulatorState, request: Request) -> Response:
    """Allow → redirect with `auth_code` (and its alias `code`); deny → redirect without a code."""
    with state.locked():
        consent = state.tokens.consents.pop(request.args.get("consent", ""), None)
    if consent is None or consent.platform != TIKTOK:
        return html_response("<!doctype html><p id=error>This authorization request has expired.</p>", 400)
    params = consent.params
    redirect_uri = params["redirect_uri"]
    if request.args.get("decision") != "allow":
        query = {"state": params.get("state", ""), "error": "access_denied"}
        return Response(status=302, headers={"Location": _with_query(redirect_uri, query)})
    with state.locked():
        code = state.tokens.issue_code(
            TIKTOK, params["app_id"], redirect_uri, TIKTOK_SCOPES, state.config.auth_code_lifetime
        )
    query = {"auth_code": code.code, "code": code.code, "state": params.get("state", "")}
    return Response(status=302, headers={"Location": _with_query(redirect_uri, query)})


def _check_app(state: EmulatorState, params: dict[str, str]) -> None:
    config = state.config
    if params.get("app_id") != config.tiktok_app_id or not hmac.compare_digest(
        params.get("secret", ""), config.tiktok_app_secret
    ):
        raise TikTokError(APP_INVALID, "The app_id or secret is invalid.")


def _advertisers(state: EmulatorState) -> list[dict[str, str]]:
    return [{"advertiser_id": a.account_id, "advertiser_name": a.name} for a in state.config.tiktok_accounts]


def access_token(state: EmulatorState, request: Request) -> Response:
    """POST {"app_id", "secret", "auth_code"} → {"access_token", "advertiser_ids", "scope"}."""
    state.count_request(TIKTOK, "oauth.access_token")
    try:
        fired = common_faults(state, "oauth.access_token", None, None, {"invalid_client"})
        params = params_of(request)
        if fired and any(f.kind == "invalid_client" for f in fired):
            raise TikTokError(APP_INVALID, "The app_id or secret is invalid.")
        _check_app(state, params)
        auth_code = params.get("auth_code", "")
        if not auth_code:
            raise invalid_param("auth_code: Missing data for required field.")
        with state.locked():
            code = state.tokens.codes.get(auth_code)
            if code is None or code.platform != TIKTOK or code.used or state.now() >= code.expires_at:
                raise TikTokError(AUTH_CODE_INVALID, "Auth code is invalid, expired or has been used.")
            code.used = True
            grant = state.tokens.new_grant(TIKTOK, code.client_id, code.scopes, with_refresh=False)
            access = state.tokens.issue_access(grant, TIKTOK_TOKEN_LIFETIME, long_lived=True)
        state.count("code_exchanges", TIKTOK)
        state.count("tokens_issued", TIKTOK)
    except (TikTokError, GatewayError) as err:
        return error_response(state, err)
    data = {
        "access_token": access.token,
        "advertiser_ids": [a["advertiser_id"] for a in _advertisers(state)],
        "scope": [int(s) for s in grant.scopes],
    }
    return truncate(envelope(state, data), find_fault(fired, "truncated_json"))


def advertiser_get(state: EmulatorState, request: Request) -> Response:
    """GET ?app_id&secret with the `Access-Token` header → the advertisers of the grant."""
    state.count_request(TIKTOK, "oauth.advertisers")
    try:
        fired = common_faults(state, "oauth.advertisers", None, None, {"token_expiry", "revoked_grant"})
        token = check_token(state, request)
        token_faults(state, token, fired)
        _check_app(state, params_of(request))
    except (TikTokError, GatewayError) as err:
        return error_response(state, err)
    return truncate(envelope(state, {"list": _advertisers(state)}), find_fault(fired, "truncated_json"))
