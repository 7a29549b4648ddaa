"""OAuth flows as a browser and a connector drive them: consent page, code exchange, refresh, revoke."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from devtools.emulators import EmulatorServer

from .conftest import ADS, GRAPH, META_USD

REDIRECT = "https://app.bosco.test/oauth/callback"
ADWORDS = "https://www.googleapis.com/auth/adwords"
VERIFIER = "a-verifier-that-is-at-least-forty-three-characters-long-0123456789"


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _click(http: httpx.Client, page: httpx.Response, button: str) -> dict[str, list[str]]:
    """Follow the consent page's Allow/Deny link and parse the redirect back to the app."""
    assert page.status_code == 200
    href = re.search(rf'id={button} href="([^"]+)"', page.text)
    assert href, page.text
    redirect = http.get(href.group(1).replace("&amp;", "&"))
    assert redirect.status_code == 302
    location = redirect.headers["Location"]
    assert location.startswith(REDIRECT)
    return parse_qs(urlsplit(location).query)


def _google_consent(
    http: httpx.Client, srv: EmulatorServer, button: str = "allow", pkce: bool = True
) -> dict[str, list[str]]:
    params = {
        "client_id": srv.state.config.google_client_id,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": ADWORDS,
        "state": "xyz-123",
        "access_type": "offline",
        "prompt": "consent",
    }
    if pkce:
        params.update(code_challenge=_challenge(VERIFIER), code_challenge_method="S256")
    return _click(http, http.get("/google/o/oauth2/v2/auth", params=params), button)


def _exchange(http: httpx.Client, srv: EmulatorServer, code: str, verifier: str | None = VERIFIER) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": srv.state.config.google_client_id,
        "client_secret": srv.state.config.google_client_secret,
    }
    if verifier is not None:
        form["code_verifier"] = verifier
    return http.post("/google/token", data=form)


def _refresh(http: httpx.Client, srv: EmulatorServer, refresh_token: str) -> httpx.Response:
    return http.post(
        "/google/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": srv.state.config.google_client_id,
            "client_secret": srv.state.config.google_client_secret,
        },
    )


def test_google_consent_page_has_allow_and_deny(http: httpx.Client, srv: EmulatorServer) -> None:
    page = http.get(
        "/google/o/oauth2/v2/auth",
        params={
            "client_id": srv.state.config.google_client_id,
            "redirect_uri": REDIRECT,
            "response_type": "code",
            "scope": ADWORDS,
        },
    )
    assert "id=allow" in page.text and "id=deny" in page.text and "adwords" in page.text


def test_google_code_exchange_returns_googles_shape(http: httpx.Client, srv: EmulatorServer) -> None:
    query = _google_consent(http, srv)
    assert query["state"] == ["xyz-123"]
    resp = _exchange(http, srv, query["code"][0])
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"access_token", "expires_in", "refresh_token", "scope", "token_type"}
    assert isinstance(body["expires_in"], int) and body["token_type"] == "Bearer" and body["scope"] == ADWORDS
    ok = http.get(
        f"{ADS}/customers:listAccessibleCustomers",
        headers={"Authorization": f"Bearer {body['access_token']}", "developer-token": "x"},
    )
    assert ok.status_code == 200


def test_google_codes_are_single_use(http: httpx.Client, srv: EmulatorServer) -> None:
    code = _google_consent(http, srv)["code"][0]
    assert _exchange(http, srv, code).status_code == 200
    again = _exchange(http, srv, code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("verifier", "description"), [("wrong-" * 10, "Invalid code verifier."), (None, "Missing code verifier.")]
)
def test_google_pkce_mismatch_is_rejected(
    http: httpx.Client, srv: EmulatorServer, verifier: str | None, description: str
) -> None:
    code = _google_consent(http, srv)["code"][0]
    resp = _exchange(http, srv, code, verifier)
    assert resp.status_code == 400
    assert resp.json() == {"error": "invalid_grant", "error_description": description}


def test_google_wrong_client_secret_is_invalid_client(http: httpx.Client, srv: EmulatorServer) -> None:
    code = _google_consent(http, srv)["code"][0]
    resp = http.post(
        "/google/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": srv.state.config.google_client_id,
            "client_secret": "nope",
            "code_verifier": VERIFIER,
        },
    )
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_client"


def test_google_refresh_has_no_refresh_token(http: httpx.Client, srv: EmulatorServer) -> None:
    tokens = _exchange(http, srv, _google_consent(http, srv)["code"][0]).json()
    resp = _refresh(http, srv, tokens["refresh_token"])
    assert resp.status_code == 200
    body = resp.json()
    assert "refresh_token" not in body
    assert set(body) == {"access_token", "expires_in", "scope", "token_type"}
    assert body["access_token"] != tokens["access_token"]
    assert srv.state.stats()["token_refreshes"] == {"google_ads": 1}


def test_google_revoke_then_refresh_is_invalid_grant(http: httpx.Client, srv: EmulatorServer) -> None:
    tokens = _exchange(http, srv, _google_consent(http, srv)["code"][0]).json()
    assert http.post("/google/revoke", params={"token": tokens["refresh_token"]}).status_code == 200
    resp = _refresh(http, srv, tokens["refresh_token"])
    assert resp.status_code == 400
    assert resp.json() == {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
    api = http.get(
        f"{ADS}/customers:listAccessibleCustomers",
        headers={"Authorization": f"Bearer {tokens['access_token']}", "developer-token": "x"},
    )
    assert api.status_code == 401


def test_google_deny_redirects_with_access_denied(http: httpx.Client, srv: EmulatorServer) -> None:
    query = _google_consent(http, srv, button="deny")
    assert query == {"error": ["access_denied"], "state": ["xyz-123"]}


def test_google_unknown_client_gets_an_error_page(http: httpx.Client) -> None:
    page = http.get(
        "/google/o/oauth2/v2/auth",
        params={"client_id": "nope", "redirect_uri": REDIRECT, "response_type": "code", "scope": ADWORDS},
    )
    assert page.status_code == 401 and "invalid_client" in page.text


def _meta_code(http: httpx.Client, srv: EmulatorServer, button: str = "allow") -> dict[str, list[str]]:
    page = http.get(
        "/meta/dialog/oauth",
        params={
            "client_id": srv.state.config.meta_app_id,
            "redirect_uri": REDIRECT,
            "state": "s1",
            "scope": "ads_read,business_management",
        },
    )
    return _click(http, page, button)


def _meta_token(http: httpx.Client, srv: EmulatorServer, **params: str) -> httpx.Response:
    base = {"client_id": srv.state.config.meta_app_id, "client_secret": srv.state.config.meta_app_secret}
    return http.get(f"{GRAPH}/oauth/access_token", params={**base, **params})


def test_meta_code_exchange_and_long_lived_exchange(http: httpx.Client, srv: EmulatorServer) -> None:
    code = _meta_code(http, srv)["code"][0]
    short = _meta_token(http, srv, code=code, redirect_uri=REDIRECT)
    assert short.status_code == 200
    body = short.json()
    assert set(body) == {"access_token", "token_type", "expires_in"} and body["token_type"] == "bearer"
    long = _meta_token(http, srv, grant_type="fb_exchange_token", fb_exchange_token=body["access_token"])
    assert long.status_code == 200
    assert long.json()["expires_in"] == srv.state.config.meta_long_lived_token_lifetime
    resp = http.get(f"{GRAPH}/act_{META_USD}/campaigns", params={"access_token": long.json()["access_token"]})
    assert resp.status_code == 200


def test_meta_codes_are_single_use(http: httpx.Client, srv: EmulatorServer) -> None:
    code = _meta_code(http, srv)["code"][0]
    assert _meta_token(http, srv, code=code, redirect_uri=REDIRECT).status_code == 200
    again = _meta_token(http, srv, code=code, redirect_uri=REDIRECT)
    assert again.status_code == 400
    assert again.json()["error"]["error_subcode"] == 36009


def test_meta_deny_redirects_with_user_denied(http: httpx.Client, srv: EmulatorServer) -> None:
    query = _meta_code(http, srv, button="deny")
    assert query["error"] == ["access_denied"] and query["error_reason"] == ["user_denied"] and query["state"] == ["s1"]


def test_meta_revoked_grant_answers_190_458(http: httpx.Client, srv: EmulatorServer, meta_token: str) -> None:
    http.post("/_emulator/revoke", json={"token": meta_token})
    resp = http.get(f"{GRAPH}/act_{META_USD}/campaigns", params={"access_token": meta_token})
    error = resp.json()["error"]
    assert error["code"] == 190 and error["error_subcode"] == 458 and error["type"] == "OAuthException"
    exchange = _meta_token(http, srv, grant_type="fb_exchange_token", fb_exchange_token=meta_token)
    assert exchange.json()["error"]["code"] == 190


def test_access_tokens_expire_with_the_emulator_clock(
    http: httpx.Client, srv: EmulatorServer, google_headers: dict[str, str]
) -> None:
    assert http.get(f"{ADS}/customers:listAccessibleCustomers", headers=google_headers).status_code == 200
    http.post("/_emulator/clock", json={"advance_seconds": 3601})
    assert http.get(f"{ADS}/customers:listAccessibleCustomers", headers=google_headers).status_code == 401
    meta = srv.state.issue_tokens("meta", long_lived=False)["access_token"]
    http.post("/_emulator/clock", json={"advance_days": 1})
    error = http.get(f"{GRAPH}/me", params={"access_token": meta}).json()["error"]
    assert error["code"] == 190 and error["error_subcode"] == 463


def test_google_token_endpoint_accepts_json_and_basic_auth(http: httpx.Client, srv: EmulatorServer) -> None:
    tokens = srv.state.issue_tokens("google_ads")
    config = srv.state.config
    as_json = http.post(
        "/google/token",
        json={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": config.google_client_id,
            "client_secret": config.google_client_secret,
        },
    )
    assert as_json.status_code == 200
    basic = http.post(
        "/google/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(config.google_client_id, config.google_client_secret),
    )
    assert basic.status_code == 200 and "refresh_token" not in basic.json()


def test_meta_delete_permissions_revokes_the_grant(http: httpx.Client, srv: EmulatorServer, meta_token: str) -> None:
    graph = f"{srv.base_url}/meta/graph/v24.0"
    assert http.get(f"{graph}/me", params={"access_token": meta_token}).status_code == 200
    response = http.delete(f"{graph}/me/permissions", headers={"Authorization": f"Bearer {meta_token}"})
    assert response.status_code == 200
    assert response.json() == {"success": True}
    after = http.get(f"{graph}/me", params={"access_token": meta_token})
    assert after.status_code in (400, 401)
    assert after.json()["error"]["code"] == 190


def test_consent_host_answers_the_browsers_favicon_request(http: httpx.Client, srv: EmulatorServer) -> None:
    assert http.get(f"{srv.base_url}/favicon.ico").status_code == 204
