"""One threaded WSGI server for every emulated platform, under path prefixes of one base URL."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from devtools.emulators import (
    control,
    ga4_api,
    google_ads,
    google_oauth,
    meta_graph,
    meta_oauth,
    shopify_api,
    tiktok_api,
    tiktok_oauth,
    tiktok_tasks,
)
from devtools.emulators.config import EmulatorConfig
from devtools.emulators.http import Route, json_response, route
from devtools.emulators.state import EmulatorState

logger = logging.getLogger("devtools.emulators")
_TIKTOK = r"/tiktok/open_api/v1\.3"
_SHOP = r"/shopify/(?P<shop>[^/]+)"


class EmulatorApp:
    """The WSGI application: routes a request to its platform handler."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.routes: list[Route] = [
            route("GET", r"/google/o/oauth2/v2/auth", google_oauth.authorize),
            route("GET", r"/google/o/oauth2/v2/auth/decision", google_oauth.decision),
            route("POST", r"/google/(?:oauth2/v4/)?token", google_oauth.token),
            route("GET,POST", r"/google/revoke", google_oauth.revoke),
            route(
                "GET",
                r"/googleads/(?P<version>v\d+)/customers:listAccessibleCustomers",
                google_ads.list_accessible_customers,
            ),
            route(
                "POST",
                r"/googleads/(?P<version>v\d+)/customers/(?P<customer_id>[^/]+)/googleAds:search",
                google_ads.search,
            ),
            route(
                "POST",
                r"/googleads/(?P<version>v\d+)/customers/(?P<customer_id>[^/]+)/googleAds:searchStream",
                google_ads.search_stream,
            ),
            route("GET", r"/meta(?:/v\d+\.\d+)?/dialog/oauth", meta_oauth.dialog),
            route("GET", r"/meta/dialog/oauth/decision", meta_oauth.decision),
            route("GET,POST,DELETE", r"/meta/graph/(?P<version>v\d+\.\d+)/(?P<path>.+)", meta_graph.graph),
            route("GET", r"/tiktok/portal/auth", tiktok_oauth.authorize),
            route("GET", r"/tiktok/portal/auth/decision", tiktok_oauth.decision),
            route("POST", _TIKTOK + r"/oauth2/access_token/?", tiktok_oauth.access_token),
            route("GET", _TIKTOK + r"/oauth2/advertiser/get/?", tiktok_oauth.advertiser_get),
            route("GET", _TIKTOK + r"/advertiser/info/?", tiktok_api.advertiser_info),
            route("GET", _TIKTOK + r"/campaign/get/?", tiktok_api.campaign_get),
            route("GET", _TIKTOK + r"/adgroup/get/?", tiktok_api.adgroup_get),
            route("GET", _TIKTOK + r"/report/integrated/get/?", tiktok_api.report),
            route("POST", _TIKTOK + r"/report/task/create/?", tiktok_tasks.task_create),
            route("GET", _TIKTOK + r"/report/task/check/?", tiktok_tasks.task_check),
            route("GET", _TIKTOK + r"/report/task/download/?", tiktok_tasks.task_download),
            route("GET", r"/ga4/admin/v1beta/accountSummaries", ga4_api.account_summaries),
            route("GET", r"/ga4/admin/v1beta/properties/(?P<property_id>\d+)", ga4_api.get_property),
            route("POST", r"/ga4/data/v1beta/properties/(?P<property_id>\d+):runReport", ga4_api.run_report),
            route(
                "POST", r"/ga4/data/v1beta/properties/(?P<property_id>\d+):batchRunReports", ga4_api.batch_run_reports
            ),
            route("GET", _SHOP + r"/admin/oauth/authorize", shopify_api.authorize),
            route("GET", _SHOP + r"/admin/oauth/authorize/decision", shopify_api.decision),
            route("POST", _SHOP + r"/admin/oauth/access_token", shopify_api.access_token),
            route("POST", _SHOP + r"/admin/api/(?P<version>[0-9]{4}-[0-9]{2})/graphql\.json", shopify_api.graphql),
            route("GET", r"/shopify/_bulk/(?P<op_number>[0-9]+)\.jsonl", shopify_api.bulk_file),
            # Browsers ask every host for a favicon; the consent pages should not log a 404.
            route("GET", r"/favicon\.ico", lambda state, request: Response(b"", status=204)),
            route("GET,POST,DELETE", r"/_emulator/?(?P<op>.*)", control.control),
        ]

    def dispatch(self, request: Request) -> Response:
        path = request.path
        for r in self.routes:
            m = r.pattern.fullmatch(path)
            if m is None:
                continue
            if request.method not in r.methods:
                return json_response(
                    {"error": {"code": 405, "message": "Method not allowed", "status": "UNIMPLEMENTED"}}, 405
                )
            return r.handler(self.state, request, **m.groupdict())
        return json_response(
            {"error": {"code": 404, "message": f"No emulated endpoint at {path}", "status": "NOT_FOUND"}}, 404
        )

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except Exception:  # an emulator bug must surface as a 500, never kill the server thread
            logger.exception("emulator error on %s %s", request.method, request.path)
            response = json_response(
                {"error": {"code": 500, "message": "Emulator internal error", "status": "INTERNAL"}}, 500
            )
        self.state.count_status(response.status_code)
        return response(environ, start_response)


class _QuietHandler(WSGIRequestHandler):
    """No access log on stderr: test output stays readable (debug logging keeps it)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("%s %s", self.requestline, code)

    def log(self, type: str, message: str, *args: Any) -> None:
        logger.debug(message, *args)


class EmulatorServer:
    """A running emulator: `base_url`, in-process control via `state`, and `shutdown()`."""

    def __init__(self, state: EmulatorState, server: BaseWSGIServer, thread: threading.Thread) -> None:
        self.state = state
        self._server = server
        self._thread = thread
        self.host = server.host
        self.port = server.port
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.base_url = f"http://{host}:{self.port}"

    def shutdown(self) -> None:
        """Stop accepting requests, wake any hanging handler, and join the server thread."""
        self.state.stopping().set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> EmulatorServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        return f"<EmulatorServer {self.base_url}>"


def start_emulator_server(
    host: str = "127.0.0.1", port: int = 0, config: EmulatorConfig | None = None
) -> EmulatorServer:
    """Start the emulators on `host:port` (0 picks a free port) in a daemon thread."""
    state = EmulatorState(config or EmulatorConfig())
    server = make_server(host, port, EmulatorApp(state), threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="emulator-server", daemon=True
    )
    thread.start()
    return EmulatorServer(state, server, thread)
