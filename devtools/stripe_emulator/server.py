"""The WSGI application and the running server handle: `start_stripe_emulator(...)`."""

from __future__ import annotations

import base64
import dataclasses
import logging
import re
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from devtools.stripe_emulator import api, control, pages
from devtools.stripe_emulator.state import StripeEmulatorConfig, StripeState, _Idempotent
from devtools.stripe_emulator.wire import StripeError, error_response, fingerprint, json_response, new_id, parse_params

logger = logging.getLogger("devtools.stripe_emulator")

NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization header, "
    "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication "
    "for details, or we can help at https://support.stripe.com/."
)
MAX_IDEMPOTENCY_KEY = 255

_API_ROUTES = [(method, re.compile(pattern), handler) for method, pattern, handler in api.ROUTES]
PageHandler = Callable[..., Response]
_PAGE_ROUTES: list[tuple[re.Pattern[str], PageHandler]] = [
    (re.compile(r"/checkout/pay/(?P<session_id>[^/]+)"), pages.checkout_page),
    (re.compile(r"/portal/(?P<session_id>[^/]+)(?:/(?P<action>customer))?"), pages.portal_page),
    (
        re.compile(r"/portal/(?P<session_id>[^/]+)/subscription/(?P<subscription_id>[^/]+)/(?P<action>\w+)"),
        pages.portal_page,
    ),
    (re.compile(r"/invoice/(?P<invoice_id>[^/]+)"), pages.invoice_page),
    (re.compile(r"/invoice/(?P<invoice_id>[^/]+)/(?P<pdf>pdf)"), pages.invoice_page),
    (re.compile(r"/_emulator/?(?P<op>.*)"), control.control),
]


class StripeEmulatorApp:
    """Routes `/v1/...` to the API and everything else to the hosted pages and the control API."""

    def __init__(self, state: StripeState) -> None:
        self.state = state

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except Exception:  # an emulator bug must surface as a 500, never kill the server thread
            logger.exception("stripe emulator error on %s %s", request.method, request.path)
            response = error_response(StripeError("Emulator internal error.", status=500, type="api_error"))
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith("/v1/"):
            return self.handle_api(request)
        if request.path == "/favicon.ico":
            return Response(b"", status=204)
        for pattern, handler in _PAGE_ROUTES:
            match = pattern.fullmatch(request.path)
            if match:
                kwargs: dict[str, Any] = {k: v for k, v in match.groupdict().items() if v is not None}
                if "pdf" in kwargs:
                    kwargs["pdf"] = True
                return handler(self.state, request, **kwargs)
        return pages.page("Not found", "<h1>Not found</h1>", 404)

    def handle_api(self, request: Request) -> Response:
        state = self.state
        request_id = new_id("req")
        with state.lock:
            state.request_count += 1
            injected = state.failing_requests.pop(0) if state.failing_requests else None
        if injected is not None:
            return error_response(
                StripeError("An unknown error occurred", status=injected, type="api_error"), request_id
            )
        try:
            api_key = self.authenticate(request)
            handler, path_args = self.route(request)
            params = parse_params(request)
            expand = params.pop("expand", None) or []
            if not isinstance(expand, list) or not all(isinstance(p, str) for p in expand):
                raise StripeError("Invalid array: expand must be a list of strings", param="expand")
        except StripeError as exc:
            return error_response(exc, request_id)
        key = request.headers.get("Idempotency-Key") if request.method in ("POST", "DELETE") else None
        with state.lock:
            return self.execute(request, api_key, key, request_id, handler, path_args, params, expand)

    def execute(
        self,
        request: Request,
        api_key: str,
        key: str | None,
        request_id: str,
        handler: api.ApiHandler,
        path_args: dict[str, str],
        params: dict[str, Any],
        expand: list[str],
    ) -> Response:
        """Run a request under the state lock; a repeated Idempotency-Key replays the first result."""
        state = self.state
        print_ = fingerprint(request.method, request.path, {**params, "expand": expand})
        if key is not None:
            if len(key) > MAX_IDEMPOTENCY_KEY:
                return error_response(
                    StripeError(
                        f"Idempotency-Key must be at most {MAX_IDEMPOTENCY_KEY} characters long.",
                        type="idempotency_error",
                    ),
                    request_id,
                )
            saved = state.idempotency.get((api_key, key))
            if saved is not None:
                if saved.fingerprint != print_:
                    return error_response(
                        StripeError(
                            "Keys for idempotent requests can only be used with the same parameters they were first "
                            f"used with. Try using a key other than '{key}' if you meant to execute a different request.",
                            type="idempotency_error",
                        ),
                        request_id,
                    )
                response = json_response(saved.body, saved.status, request_id)
                response.headers["Idempotent-Replayed"] = "true"
                return response
        with state.request_context(request_id, key):
            try:
                body = handler(state, params, **path_args)
                if expand:
                    body = api.expand(state, body, expand)
            except StripeError as exc:
                return error_response(exc, request_id)
        response = json_response(body, 200, request_id)
        if key is not None:
            # Stripe saves a result once the endpoint ran; failed validation saves nothing.
            state.idempotency[(api_key, key)] = _Idempotent(print_, 200, response.get_json())
        return response

    def authenticate(self, request: Request) -> str:
        header = request.headers.get("Authorization", "")
        scheme, _, credential = header.partition(" ")
        if scheme.lower() == "basic":
            credential = base64.b64decode(credential.strip() or b"").decode(errors="replace").partition(":")[0]
        elif scheme.lower() != "bearer":
            credential = ""
        credential = credential.strip()
        if not credential:
            raise StripeError(NO_KEY, status=401)
        expected = self.state.config.api_key
        if not credential.startswith("sk_test_") or (expected is not None and credential != expected):
            raise StripeError(
                f"Invalid API Key provided: {credential[:8]}{'*' * 12}{credential[-4:]}",
                status=401,
                code="api_key_invalid",
            )
        return credential

    def route(self, request: Request) -> tuple[api.ApiHandler, dict[str, str]]:
        for method, pattern, handler in _API_ROUTES:
            match = pattern.fullmatch(request.path)
            if match and method == request.method:
                return handler, match.groupdict()
        raise StripeError(
            f"Unrecognized request URL ({request.method}: {request.path}). Please see https://stripe.com/docs "
            "or we can help at https://support.stripe.com/.",
            status=404,
        )


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: test output stays readable (debug logging keeps it)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("%s %s", self.requestline, code)

    def log(self, type: str, message: str, *args: Any) -> None:
        logger.debug(message, *args)


class StripeEmulator:
    """A running emulator: `base_url`, in-process control through `state`, and `shutdown()`."""

    def __init__(self, state: StripeState, server: BaseWSGIServer, thread: threading.Thread) -> None:
        self.state = state
        self._server = server
        self._thread = thread
        self.host = server.host
        self.port = server.port
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.base_url = f"http://{host}:{self.port}"

    @property
    def webhook_secret(self) -> str:
        return self.state.deliverer.secret

    def shutdown(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self.state.shutdown()

    def __enter__(self) -> StripeEmulator:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        return f"<StripeEmulator {self.base_url}>"


def start_stripe_emulator(
    host: str = "127.0.0.1",
    port: int = 0,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    config: StripeEmulatorConfig | None = None,
) -> StripeEmulator:
    """Start the emulator on `host:port` (0 picks a free port) in a daemon thread."""
    config = config or StripeEmulatorConfig()
    if webhook_secret is not None:
        config = dataclasses.replace(config, webhook_secret=webhook_secret)
    state = StripeState(config, webhook_url=webhook_url)
    server = make_server(host, port, StripeEmulatorApp(state), threaded=True, request_handler=_QuietHandler)
    handle_host = f"[{server.host}]" if ":" in server.host else server.host
    state.base_url = f"http://{handle_host}:{server.port}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="stripe-emulator", daemon=True
    )
    thread.start()
    return StripeEmulator(state, server, thread)
