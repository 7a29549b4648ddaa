"""Bring a database up to date for this release: `manage.py bootstrap` (run on every deploy).

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
from django_tenants.utils import get_public_schema_name, schema_exists

from accounts.models import Domain, Workspace
from bosco.db import connection


def ensure_public_tenant() -> Workspace:
    public, _ = Workspace.objects.get_or_create(
        schema_name=get_public_schema_name(),
        defaults={"name": "Bosco", "slug": "public"},
    )
    Domain.objects.get_or_create(domain=settings.BOSCO_DOMAIN, defaults={"tenant": public, "is_primary": True})
    return public


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
        ensure_public_tenant()
        ensure_template_schema(verbosity)
        if settings.BOSCO_FX_SEED:
            from warehouse.services.fx import fx_rates_seed_template

            seeded = fx_rates_seed_template(source=settings.BOSCO_FX_SEED)
            if seeded:
                self.stdout.write(
                    f"bootstrap: template seeded with {seeded.received} FX rates from {settings.BOSCO_FX_SEED}"
                )
        if not options["skip_workspaces"] and Workspace.objects.exclude(schema_name=get_public_schema_name()).exists():
            call_command("migrate_schemas", tenant=True, interactive=False, verbosity=verbosity)
        self.stdout.write(f"bootstrap: database ready in {time.monotonic() - started:.1f}s")
