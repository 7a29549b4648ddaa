"""Google OAuth 2.0: consent page, token endpoint (code + PKCE, refresh) and revocation.

Production URLs and their emulator twins:
  https://accounts.google.com/o/oauth2/v2/auth  ↔  {base}/google/o/oauth2/v2/auth
  https://oauth2.googleapis.com/token           ↔  {base}/google/token
  https://oauth2.googleapis.com/revoke          ↔  {base}/google/revoke
Response bodies follow Google's: `expires_in` is an integer, `scope` is space-delimited and a
refresh response carries no `refresh_token`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from devtools.emulators.auth import AuthCode
from devtools.emulators.config import GOOGLE_ADS
from devtools.emulators.faults import COMMON_KINDS
from devtools.emulators.http import (
    GOOGLE_502_HTML,
    apply_delays,
    find_fault,
    html_response,
    json_response,
    truncate,
)
from devtools.emulators.state import EmulatorState

_NO_STORE = {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate", "Pragma": "no-cache"}
JSON_UTF8_LOWER = "application/json; charset=utf-8"


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return json_response({"error": error, "error_description": description}, status, dict(_NO_STORE), JSON_UTF8_LOWER)


def _error_page(status: int, title: str, detail: str) -> Response:
    body = (
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Error</title></head><body>"
        f"<h1>Access blocked: authorization error</h1><p id=error>Error {status}: {html.escape(title)}</p>"
        f"<p>{html.escape(detail)}</p></body></html>"
    )
    return html_response(body, status)


def consent_page(*, platform_label: str, app_name: str, scopes: list[str], allow_href: str, deny_href: str) -> str:
    """The page a person (or Playwright) approves: links with ids `allow` and `deny`."""
    items = "".join(f"<li>{html.escape(s)}</li>" for s in scopes)
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(platform_label)} – Sign in</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;color:#1f1f1f}"
        "a.button{display:inline-block;padding:.6rem 1.4rem;border-radius:1.2rem;text-decoration:none;"
        "margin-right:.8rem;border:1px solid #747775;color:#0b57d0}a#allow{background:#0b57d0;color:#fff}"
        "</style></head><body>"
        f"<p>{html.escape(platform_label)} (emulator)</p>"
        f"<h1>{html.escape(app_name)} wants to access your account</h1>"
        f"<p>This will allow {html.escape(app_name)} to:</p><ul id=scopes>{items}</ul>"
        f'<p><a class=button id=deny href="{html.escape(deny_href)}">Deny</a>'
        f'<a class=button id=allow href="{html.escape(allow_href)}">Allow</a></p>'
        "</body></html>"
    )


def _with_query(uri: str, params: dict[str, str]) -> str:
    sep = "&" if "?" in uri else "?"
    return uri + sep + urlencode(params)


def authorize(state: EmulatorState, request: Request) -> Response:
    state.count_request(GOOGLE_ADS, "oauth.authorize")
    args = request.args
    config = state.config
    client_id = args.get("client_id", "")
    redirect_uri = args.get("redirect_uri", "")
    if client_id != config.google_client_id:
        return _error_page(401, "invalid_client", "The OAuth client was not found.")
    if not redirect_uri:
        return _error_page(400, "invalid_request", "Missing required parameter: redirect_uri")
    if args.get("response_type") != "code":
        return Response(
            status=302,
            headers={
                "Location": _with_query(
                    redirect_uri, {"error": "unsupported_response_type", "state": args.get("state", "")}
                )
            },
        )
    if not args.get("scope"):
        return _error_page(400, "invalid_request", "Missing required parameter: scope")
    method = args.get("code_challenge_method")
    if args.get("code_challenge") and (method or "plain") not in ("S256", "plain"):
        return _error_page(400, "invalid_request", "Invalid code_challenge_method")
    with state.locked():
        consent = state.tokens.new_consent(GOOGLE_ADS, dict(args.items()))
    base = request.script_root + "/google/o/oauth2/v2/auth/decision"
    page = consent_page(
        platform_label="Google",
        app_name="Bosco",
        scopes=args.get("scope", "").split(),
        allow_href=f"{base}?{urlencode({'consent': consent.id, 'decision': 'allow'})}",
        deny_href=f"{base}?{urlencode({'consent': consent.id, 'decision': 'deny'})}",
    )
    return html_response(page)


def decision(state: EmulatorState, request: Request) -> Response:
    with state.locked():
        consent = state.tokens.consents.pop(request.args.get("consent", ""), None)
    if consent is None or consent.platform != GOOGLE_ADS:
        return _error_page(400, "invalid_request", "This consent request has expired. Start again.")
    params = consent.params
    redirect_uri = params["redirect_uri"]
    if request.args.get("decision") != "allow":
        query = {"error": "access_denied", "state": params.get("state", "")}
        return Response(status=302, headers={"Location": _with_query(redirect_uri, query)})
    scopes = tuple(params.get("scope", "").split())
    with state.locked():
        code = state.tokens.issue_code(
            GOOGLE_ADS,
            params["client_id"],
            redirect_uri,
            scopes,
            state.config.auth_code_lifetime,
            code_challenge=params.get("code_challenge") or None,
            code_challenge_method=(params.get("code_challenge_method") or "plain")
            if params.get("code_challenge")
            else None,
            offline=params.get("access_type", "online") == "offline",
        )
    query = {"state": params.get("state", ""), "code": code.code, "scope": " ".join(scopes)}
    return Response(status=302, headers={"Location": _with_query(redirect_uri, query)})


def _token_form(request: Request) -> dict[str, str]:
    """Token request parameters: form-encoded as specified, JSON as Google also accepts."""
    if request.mimetype == "application/json":
        try:
            body = json.loads(request.get_data() or b"{}")
        except json.JSONDecodeError:
            return {}
        return {str(k): str(v) for k, v in body.items()} if isinstance(body, dict) else {}
    return request.form.to_dict()


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    auth = request.authorization
    if auth is not None and auth.type == "basic" and auth.username:
        return auth.username, auth.password or ""
    return form.get("client_id", ""), form.get("client_secret", "")


def _pkce_ok(code: AuthCode, verifier: str | None) -> str | None:
    """None when the verifier matches the challenge, else the error description."""
    if code.code_challenge is None:
        return None
    if not verifier:
        return "Missing code verifier."
    if code.code_challenge_method == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    else:
        expected = verifier
    return None if hmac.compare_digest(expected, code.code_challenge) else "Invalid code verifier."


def token(state: EmulatorState, request: Request) -> Response:
    state.count_request(GOOGLE_ADS, "oauth.token")
    faults = state.take_faults(
        GOOGLE_ADS, "oauth.token", None, None, COMMON_KINDS | {"revoked_grant", "invalid_client"}
    )
    apply_delays(state, faults)
    if find_fault(faults, "invalid_client"):
        return _oauth_error("invalid_client", "The OAuth client was not found.", 401)
    if find_fault(faults, "html_502"):
        return html_response(GOOGLE_502_HTML, 502)
    if fault := find_fault(faults, "server_error"):
        return _oauth_error("internal_failure", "Backend Error", int(fault.param("status")))
    if fault := find_fault(faults, "rate_limit"):
        resp = _oauth_error("rate_limit_exceeded", "Rate limit exceeded. Try again later.", 429)
        resp.headers["Retry-After"] = str(int(fault.param("retry_after")))
        return resp
    response = _token(state, request, revoke=find_fault(faults, "revoked_grant") is not None)
    return truncate(response, find_fault(faults, "truncated_json"))


def _token(state: EmulatorState, request: Request, revoke: bool) -> Response:
    config = state.config
    form = _token_form(request)
    grant_type = form.get("grant_type", "")
    client_id, client_secret = _client_credentials(request, form)
    if grant_type not in ("authorization_code", "refresh_token"):
        return _oauth_error("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
    if client_id != config.google_client_id:
        return _oauth_error("invalid_client", "The OAuth client was not found.", 401)
    if not hmac.compare_digest(client_secret, config.google_client_secret):
        return _oauth_error("invalid_client", "Unauthorized", 401)
    with state.locked():
        if grant_type == "authorization_code":
            return _exchange_code(state, form.get("code", ""), form.get("redirect_uri", ""), form.get("code_verifier"))
        refresh = form.get("refresh_token", "")
        if not refresh:
            return _oauth_error("invalid_request", "Missing required parameter: refresh_token")
        grant = state.tokens.by_refresh.get(refresh)
        if grant is not None and revoke:
            state.tokens.revoke_grant(grant)
        if grant is None or grant.revoked:
            return _oauth_error("invalid_grant", "Token has been expired or revoked.")
        if grant.client_id != client_id:
            return _oauth_error("unauthorized_client", "Unauthorized")
        access = state.tokens.issue_access(grant, config.google_access_token_lifetime)
        state.count("token_refreshes", GOOGLE_ADS)
        body = {
            "access_token": access.token,
            "expires_in": max(1, config.google_access_token_lifetime - 1),
            "scope": " ".join(grant.scopes),
            "token_type": "Bearer",
        }
        return json_response(body, 200, dict(_NO_STORE), JSON_UTF8_LOWER)


def _exchange_code(state: EmulatorState, code_value: str, redirect_uri: str, verifier: str | None) -> Response:
    config = state.config
    if not code_value:
        return _oauth_error("invalid_request", "Missing required parameter: code")
    code = state.tokens.codes.get(code_value)
    if code is None or code.used or code.platform != GOOGLE_ADS or state.now() >= code.expires_at:
        return _oauth_error("invalid_grant", "Bad Request")
    if redirect_uri != code.redirect_uri:
        return _oauth_error("redirect_uri_mismatch", "Bad Request")
    problem = _pkce_ok(code, verifier)
    if problem is not None:
        return _oauth_error("invalid_grant", problem)
    code.used = True
    grant = state.tokens.new_grant(GOOGLE_ADS, code.client_id, code.scopes, with_refresh=code.offline)
    access = state.tokens.issue_access(grant, config.google_access_token_lifetime)
    state.count("code_exchanges", GOOGLE_ADS)
    state.count("tokens_issued", GOOGLE_ADS)
    body: dict[str, object] = {
        "access_token": access.token,
        "expires_in": max(1, config.google_access_token_lifetime - 1),
    }
    if grant.refresh_token:
        body["refresh_token"] = grant.refresh_token
    body["scope"] = " ".join(code.scopes)
    body["token_type"] = "Bearer"  # noqa: S105 - a token type name, not a credential
    return json_response(body, 200, dict(_NO_STORE), JSON_UTF8_LOWER)


def revoke(state: EmulatorState, request: Request) -> Response:
    state.count_request(GOOGLE_ADS, "oauth.revoke")
    value = request.args.get("token") or request.form.get("token", "")
    with state.locked():
        grant = state.tokens.revoke_token(value) if value else None
    if grant is None:
        return _oauth_error("invalid_token", "Token expired or revoked")
    return json_response({}, 200, dict(_NO_STORE), JSON_UTF8_LOWER)
