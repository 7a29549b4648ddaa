"""Meta (Facebook Login) OAuth: the dialog, code exchange and the long-lived token exchange.

  https://www.facebook.com/v24.0/dialog/oauth         ↔  {base}/meta/dialog/oauth (or /meta/v24.0/dialog/oauth)
  https://graph.facebook.com/v24.0/oauth/access_token ↔  {base}/meta/graph/v24.0/oauth/access_token
Meta has no refresh token: a connector exchanges a valid token for a long-lived one
(`grant_type=fb_exchange_token`) before it expires, and re-authorises once it has.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from devtools.emulators.auth import META_DEFAULT_SCOPES
from devtools.emulators.config import META
from devtools.emulators.faults import COMMON_KINDS
from devtools.emulators.google_oauth import consent_page
from devtools.emulators.http import apply_delays, find_fault, html_response, json_response, truncate
from devtools.emulators.meta_common import MetaError, graph_headers, html_502, request_params, throttle_error
from devtools.emulators.state import EmulatorState


def _with_query(uri: str, params: dict[str, str]) -> str:
    return uri + ("&" if "?" in uri else "?") + urlencode(params) + "#_=_"


def dialog(state: EmulatorState, request: Request) -> Response:
    state.count_request(META, "oauth.dialog")
    args = request.args
    if args.get("client_id") != state.config.meta_app_id:
        return html_response(
            "<!doctype html><p id=error>Invalid App ID: The provided app ID does not look like a valid app ID.</p>", 400
        )
    redirect_uri = args.get("redirect_uri", "")
    if not redirect_uri:
        return html_response("<!doctype html><p id=error>URL blocked: redirect_uri is missing.</p>", 400)
    with state.locked():
        consent = state.tokens.new_consent(META, dict(args.items()))
    base = request.script_root + "/meta/dialog/oauth/decision"
    scopes = (args.get("scope") or ",".join(META_DEFAULT_SCOPES)).replace(" ", "").split(",")
    page = consent_page(
        platform_label="Facebook",
        app_name="Bosco",
        scopes=scopes,
        allow_href=f"{base}?{urlencode({'consent': consent.id, 'decision': 'allow'})}",
        deny_href=f"{base}?{urlencode({'consent': consent.id, 'decision': 'deny'})}",
    )
    return html_response(page)


def decision(state: EmulatorState, request: Request) -> Response:
    with state.locked():
        consent = state.tokens.consents.pop(request.args.get("consent", ""), None)
    if consent is None or consent.platform != META:
        return html_response("<!doctype html><p id=error>This login request has expired.</p>", 400)
    params = consent.params
    redirect_uri = params["redirect_uri"]
    if request.args.get("decision") != "allow":
        query = {
            "error": "access_denied",
            "error_code": "200",
            "error_description": "Permissions error",
            "error_reason": "user_denied",
            "state": params.get("state", ""),
        }
        return Response(status=302, headers={"Location": _with_query(redirect_uri, query)})
    scopes = tuple((params.get("scope") or ",".join(META_DEFAULT_SCOPES)).replace(" ", "").split(","))
    with state.locked():
        code = state.tokens.issue_code(META, params["client_id"], redirect_uri, scopes, state.config.auth_code_lifetime)
    query = {"code": code.code, "state": params.get("state", "")}
    return Response(status=302, headers={"Location": _with_query(redirect_uri, query)})


def access_token(state: EmulatorState, request: Request, version: str) -> Response:
    state.count_request(META, "oauth.access_token")
    trace = state.next_id(11)
    faults = state.take_faults(
        META, "oauth.access_token", None, None, COMMON_KINDS | {"revoked_grant", "invalid_client"}
    )
    apply_delays(state, faults)
    if find_fault(faults, "html_502"):
        return html_502()
    try:
        if fault := find_fault(faults, "server_error"):
            raise MetaError(
                "An unexpected error has occurred. Please retry your request later.",
                2,
                is_transient=True,
                http_status=int(fault.param("status")),
            )
        if fault := find_fault(faults, "rate_limit"):
            raise throttle_error(int(fault.param("code") or 4))
        if find_fault(faults, "invalid_client"):
            raise MetaError("Error validating client secret.", 1)
        body = _exchange(state, request_params(request), revoke=find_fault(faults, "revoked_grant") is not None)
    except MetaError as err:
        return err.to_response(trace, version)
    resp = json_response(body, 200, graph_headers(trace, version))
    return truncate(resp, find_fault(faults, "truncated_json"))


def _exchange(state: EmulatorState, params: dict[str, str], revoke: bool) -> dict[str, object]:
    config = state.config
    if params.get("client_id") != config.meta_app_id:
        raise MetaError("Error validating application. Invalid application ID.", 101)
    if not hmac.compare_digest(params.get("client_secret", ""), config.meta_app_secret):
        raise MetaError("Error validating client secret.", 1)
    with state.locked():
        if params.get("grant_type") == "fb_exchange_token":
            old = params.get("fb_exchange_token", "")
            status, _access, grant = state.tokens.check(old, META)
            if grant is not None and revoke:
                state.tokens.revoke_grant(grant)
                status = "revoked"
            if status != "ok" or grant is None:
                raise token_error(state, status, old)
            new = state.tokens.issue_access(grant, config.meta_long_lived_token_lifetime, long_lived=True)
            state.count("token_refreshes", META)
            return {
                "access_token": new.token,
                "token_type": "bearer",
                "expires_in": config.meta_long_lived_token_lifetime,
            }
        code_value = params.get("code", "")
        if not code_value:
            raise MetaError("Missing authorization code", 100)
        code = state.tokens.codes.get(code_value)
        if code is None or code.platform != META:
            raise MetaError("Invalid verification code format.", 100, subcode=36008)
        if code.used:
            raise MetaError("This authorization code has been used.", 100, subcode=36009)
        if state.now() >= code.expires_at:
            raise MetaError("This authorization code has expired.", 100, subcode=36007)
        if params.get("redirect_uri", "") != code.redirect_uri:
            raise MetaError(
                "Error validating verification code. Please make sure your redirect_uri is identical to the one "
                "you used in the OAuth dialog request",
                100,
                subcode=36008,
            )
        code.used = True
        grant = state.tokens.new_grant(META, code.client_id, code.scopes, with_refresh=False)
        access = state.tokens.issue_access(grant, config.meta_short_lived_token_lifetime)
        state.count("code_exchanges", META)
        state.count("tokens_issued", META)
        return {
            "access_token": access.token,
            "token_type": "bearer",
            "expires_in": config.meta_short_lived_token_lifetime,
        }


def token_error(state: EmulatorState, status: str, token: str) -> MetaError:
    """Code 190 in its variants: expired (463), not authorised/revoked (458), unparsable."""
    if status == "expired":
        access = state.tokens.tokens.get(token)
        expired_at = datetime.fromtimestamp(access.expires_at if access else state.now(), tz=UTC)
        now = datetime.fromtimestamp(state.now(), tz=UTC)
        fmt = "%A, %d-%b-%y %H:%M:%S UTC"
        return MetaError(
            f"Error validating access token: Session has expired on {expired_at.strftime(fmt)}. "
            f"The current time is {now.strftime(fmt)}.",
            190,
            subcode=463,
            auth_kind="invalid_token",
        )
    if status == "revoked":
        return MetaError(
            f"Error validating access token: The user has not authorized application {state.config.meta_app_id}.",
            190,
            subcode=458,
            auth_kind="invalid_token",
        )
    return MetaError("Invalid OAuth access token - Cannot parse access token", 190, auth_kind="invalid_token")
