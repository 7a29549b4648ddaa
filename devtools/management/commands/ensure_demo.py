"""Create the `demo` workspace and a verified demo login if they do not exist yet, then connect it to
the platform emulators and fill it (`demo_sync`: first run backfills over a year, later runs only
re-mint the grants). `--no-data` skips the emulators (a bare workspace)."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand

from accounts import services
from accounts.models import Membership, User, Workspace
from accounts.roles import Role
from accounts.selectors import workspace_url

DEMO_EMAIL = "demo@bosco.local"
DEMO_PASSWORD = "bosco-demo-2026"  # noqa: S105  (the demo login is printed on purpose)


def ensure_demo_workspace() -> tuple[Workspace, User]:
    user = User.objects.filter(email=DEMO_EMAIL).first()
    if user is None:
        user = User.objects.create_user(DEMO_EMAIL, DEMO_PASSWORD, full_name="Demo Marketer")
    EmailAddress.objects.update_or_create(user=user, email=DEMO_EMAIL, defaults={"verified": True, "primary": True})
    workspace = Workspace.objects.filter(slug="demo").first()
    if workspace is None:
        workspace = services.workspace_create(
            owner=user, name="Demo Store", slug="demo", reporting_currency="EUR", time_zone="Europe/Berlin"
        )
    Membership.objects.get_or_create(user=user, workspace=workspace, defaults={"role": Role.OWNER})
    return workspace, user


class Command(BaseCommand):
    help = "Create the demo workspace, connect it to the platform emulators and print its login."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--no-data", action="store_true", help="do not connect the emulators or sync")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace, user = ensure_demo_workspace()
        if not options["no_data"]:
            from accounts.management.commands.demo_sync import DemoError, ensure_demo_data

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
