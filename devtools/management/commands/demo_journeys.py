"""Send the demo store's simulated visitors through the running server's collect endpoint and
attribute the journeys (`devtools.demo_journeys`). `make run` starts it once the web server is up;
it waits for the server, sends, lands, attributes and exits."""

from __future__ import annotations

import time
from typing import Any

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Workspace
from devtools.demo_journeys import DEMO_DAYS, ensure_demo_journeys


class Command(BaseCommand):
    help = "Send the demo store's visits to the collect endpoint of a running server and attribute them."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--port", default=settings.BOSCO_PORT, help="the running server's port")
        parser.add_argument("--days", type=int, default=DEMO_DAYS, help="days of the store's orders to give visits")
        parser.add_argument("--wait", type=float, default=120.0, help="seconds to wait for the server")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug="demo").first()
        if workspace is None:
            raise CommandError("No demo workspace: run `manage.py ensure_demo` first.")
        base = f"http://127.0.0.1:{options['port']}"
        deadline = time.monotonic() + options["wait"]
        while True:
            try:
                httpx.get(f"{base}/", headers={"Host": settings.BOSCO_DOMAIN}, timeout=5)
                break
            except httpx.HTTPError as exc:
                if time.monotonic() > deadline:
                    raise CommandError(f"The server at {base} did not answer: {exc}") from exc
                time.sleep(1)
        ensure_demo_journeys(
            workspace=workspace,
            collect_base=base,
            host=f"{settings.BOSCO_DOMAIN}:{options['port']}",
            days=options["days"],
            out=self.stdout.write,
        )
