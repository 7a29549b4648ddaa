"""Bring a database up to date for this release: `manage.py bootstrap` (run on every deploy).

A deploy command of the composition root (like the URL confs, it may call every app): each step
is the owning app's service, the command only orders them.

1. migrate the shared (public) schema;
2. make sure the public tenant and its domain exist;
3. create and migrate the template schema new workspaces are cloned from (and, where
   BOSCO_FX_SEED names a rates file, give it a rate history);
4. migrate every workspace schema.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django_tenants.utils import schema_exists

from accounts.selectors import customer_workspaces_exist
from accounts.services import public_workspace_ensure
from bosco.db import connection
from warehouse.services.fx import fx_rates_seed_template


def ensure_template_schema(verbosity: int = 0) -> None:
    template = settings.TENANT_BASE_SCHEMA
    if not schema_exists(template):
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{template}"')
    call_command("migrate_schemas", schema_name=template, interactive=False, verbosity=verbosity)
    connection.set_schema_to_public()


class Command(BaseCommand):
    help = "Migrate the shared schema, the workspace template and every workspace."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--skip-workspaces", action="store_true", help="only shared schema and template")

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = max(0, options["verbosity"] - 1)
        started = time.monotonic()
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        public_workspace_ensure()
        ensure_template_schema(verbosity)
        if settings.BOSCO_FX_SEED:
            seeded = fx_rates_seed_template(source=settings.BOSCO_FX_SEED)
            if seeded:
                self.stdout.write(
                    f"bootstrap: template seeded with {seeded.received} FX rates from {settings.BOSCO_FX_SEED}"
                )
        if not options["skip_workspaces"] and customer_workspaces_exist():
            call_command("migrate_schemas", tenant=True, interactive=False, verbosity=verbosity)
        self.stdout.write(f"bootstrap: database ready in {time.monotonic() - started:.1f}s")
