"""Create the `demo` workspace and a verified demo login if they do not exist yet, then connect it to
the platform emulators and fill it (`devtools.demo`: the first run backfills over a year, later runs
only re-mint the grants). `--no-data` skips the emulators (a bare workspace)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from accounts.selectors import workspace_url
from devtools.demo import DEMO_EMAIL, DEMO_PASSWORD, DemoError, ensure_demo_data, ensure_demo_workspace


class Command(BaseCommand):
    help = "Create the demo workspace, connect it to the platform emulators and print its login."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--no-data", action="store_true", help="do not connect the emulators or sync")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace, user = ensure_demo_workspace()
        if not options["no_data"]:
            try:
                ensure_demo_data(workspace=workspace, user=user, out=self.stdout.write)
            except DemoError as exc:
                # The workspace still works; it shows how to connect a source instead of numbers.
                self.stderr.write(f"demo: no data synced — {exc}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo workspace: {workspace_url(workspace=workspace)}  login: {DEMO_EMAIL} / {DEMO_PASSWORD}"
            )
        )
