"""The SSRF gate of the Slack and webhook channels, with the real resolver: literal addresses in
every forbidden range, names that resolve to them, malformed URLs, plain http where it is not
allowed; and the sending side against a real local receiver (the vetted address is the one
connected to, the Host header keeps the name, redirects are not followed, timeouts are short)."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import pytest

from alerts import outbound
from tests.alerts.conftest import Receiver


@pytest.fixture
def production_rules(settings: Any) -> None:
    settings.ALERTS_WEBHOOK_ALLOW_HTTP = False
    settings.ALERTS_WEBHOOK_ALLOW_LOOPBACK = False


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://10.1.2.3/hook", "10.1.2.3 is a private address"),
        ("https://172.16.5.4/hook", "a private address"),
        ("https://192.168.0.10/hook", "a private address"),
        ("https://127.0.0.1/hook", "127.0.0.1 is a loopback address"),
        ("https://127.8.9.10:8443/hook", "a loopback address"),
        ("https://localhost/hook", "localhost (127.0.0.1) is a loopback address"),
        ("https://LOCALHOST./hook", "a loopback address"),
        ("https://2130706433/hook", "(127.0.0.1) is a loopback address"),  # 127.0.0.1 as one number
        ("https://0x7f000001/hook", "(127.0.0.1) is a loopback address"),  # ... and in hex
        ("https://169.254.169.254/latest/meta-data/", "a link-local address"),  # cloud metadata
        ("https://224.0.0.1/", "a multicast address"),
        ("https://0.0.0.0/", "an unspecified address"),
        ("https://100.64.0.1/", "not on the public internet"),  # carrier-grade NAT
        ("https://192.0.2.10/", "a private address"),  # documentation range
        ("https://[::1]/hook", "a loopback address"),
        ("https://[fe80::1]/hook", "a link-local address"),
        ("https://[fc00::1]/hook", "a private address"),
        ("https://[ff02::1]/hook", "a multicast address"),
        ("https://[::ffff:127.0.0.1]/hook", "an IPv4-mapped IPv6 address"),
        ("https://[::ffff:10.0.0.1]/hook", "an IPv4-mapped IPv6 address"),
        ("https://[2002:a00:1::]/hook", "a tunnelled (6to4 / Teredo) IPv6 address"),  # 6to4 of 10.0.0.1
    ],
)
def test_addresses_inside_a_network_are_refused(production_rules: None, url: str, reason: str) -> None:
    with pytest.raises(outbound.UnsafeURL) as refused:
        outbound.url_check(url)
    assert "points inside a private network" in str(refused.value)
    assert reason in str(refused.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "Give the URL"),
        ("hooks.slack.com/services/T000/B000/XXX", "must start with https://"),
        ("ftp://8.8.8.8/hook", "must start with https://"),
        ("javascript:alert(1)", "must start with https://"),
        ("http://8.8.8.8/hook", "plain http is not allowed"),
        ("https://", "names no host"),
        ("https://user:secret@8.8.8.8/hook", "no user name or password"),
        ("https://8.8.8.8:99999/hook", "Not a valid URL"),
        ("https://8.8.8.8:0/hook", "port 0"),
        ("https://exa mple.com/hook", "spaces or control characters"),
        ("https://8.8.8.8/hook\r\nX-Injected: 1", "spaces or control characters"),
        ("https://no-such-host.invalid/hook", "cannot be resolved"),
        ("https://8.8.8.8/" + "a" * 2100, "longer than 2000"),
    ],
)
def test_malformed_urls_get_a_clear_message(production_rules: None, url: str, message: str) -> None:
    with pytest.raises(outbound.UnsafeURL) as refused:
        outbound.url_check(url)
    assert message in str(refused.value)


def test_public_addresses_pass(production_rules: None) -> None:
    checked = outbound.url_check("https://8.8.8.8/services/T0/B0/secret?x=1")
    assert (checked.host, checked.port, checked.path, checked.query) == (
        "8.8.8.8",
        443,
        "/services/T0/B0/secret",
        "x=1",
    )
    assert [str(a) for a in outbound.url_check("https://[2001:4860:4860::8888]/x").addresses] == [
        "2001:4860:4860::8888"
    ]


def test_http_and_loopback_only_where_the_settings_allow(settings: Any) -> None:
    settings.ALERTS_WEBHOOK_ALLOW_HTTP, settings.ALERTS_WEBHOOK_ALLOW_LOOPBACK = True, False
    assert outbound.url_check("http://8.8.8.8/hook").scheme == "http"
    with pytest.raises(outbound.UnsafeURL, match="loopback"):
        outbound.url_check("http://localhost:8080/hook")
    settings.ALERTS_WEBHOOK_ALLOW_LOOPBACK = True  # the tests' receivers only
    assert outbound.url_check("http://localhost:8080/hook").port == 8080
    with pytest.raises(outbound.UnsafeURL, match="private address"):
        outbound.url_check("http://10.0.0.1/hook")  # private stays refused


def test_production_settings_force_https_and_no_loopback() -> None:
    source = (outbound.settings.BASE_DIR / "bosco" / "settings" / "production.py").read_text()
    assert "ALERTS_WEBHOOK_ALLOW_HTTP = False" in source and "ALERTS_WEBHOOK_ALLOW_LOOPBACK = False" in source


def test_the_display_hides_the_path_which_may_be_a_credential() -> None:
    assert outbound.url_display("https://hooks.slack.com/services/T0/B0/XYZ") == "https://hooks.slack.com/…"
    assert outbound.url_display("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080/…"


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"event":"opened"}'
    expected = hmac.new(b"whsec_k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert outbound.signature(secret="whsec_k", timestamp=1700000000, body=body) == f"v1={expected}"


def test_the_post_goes_to_the_vetted_address_and_keeps_the_host(http_receiver: Receiver) -> None:
    answer = outbound.post_json(url=http_receiver.url("/ok", host="localhost"), body=b"{}", headers={"X-A": "1"})
    assert answer.status_code == 200
    (request,) = http_receiver.received
    assert request.headers["host"] == f"localhost:{http_receiver.port}"
    assert request.headers["content-type"] == "application/json" and request.headers["x-a"] == "1"


def test_a_redirect_is_returned_not_followed(http_receiver: Receiver) -> None:
    answer = outbound.post_json(url=http_receiver.url("/redirect"), body=b"{}", headers={})
    assert answer.status_code == 302 and answer.location.endswith("/ok")
    assert http_receiver.hits("/ok") == []


def test_a_hanging_receiver_times_out_quickly(http_receiver: Receiver) -> None:
    started = time.monotonic()
    with pytest.raises(outbound.SendFailed, match="timed out after 1 s"):
        outbound.post_json(url=http_receiver.url("/hang"), body=b"{}", headers={})
    assert time.monotonic() - started < 4


def test_nobody_listening_is_a_send_failure(http_receiver: Receiver, settings: Any) -> None:
    with pytest.raises(outbound.SendFailed, match="cannot connect"):
        outbound.post_json(url="http://127.0.0.1:9/hook", body=b"{}", headers={})  # discard port: closed
