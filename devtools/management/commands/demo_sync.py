"""`manage.py demo_sync`: connect the demo workspace to the platform emulators and fill it
(creating the workspace first if needed); see `devtools.demo`."""

from __future__ import annotations

from typing import Any

import httpx
from django.core.management.base import BaseCommand, CommandError

from devtools.demo import DemoError, ensure_demo_data, ensure_demo_workspace


class Command(BaseCommand):
    help = "Connect the demo workspace to the platform emulators, backfill it once, re-mint its grants."

    def handle(self, *args: Any, **options: Any) -> None:
        workspace, user = ensure_demo_workspace()
        try:
            ensure_demo_data(workspace=workspace, user=user, out=self.stdout.write)
        except (DemoError, httpx.HTTPError) as exc:
            raise CommandError(str(exc)) from exc
