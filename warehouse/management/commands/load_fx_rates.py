"""Load ECB euro reference rates (CSV, XML or zip; file or URL) into workspace schemas.

    manage.py load_fx_rates --url https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip
    manage.py load_fx_rates --file warehouse/data/synthetic-eurofxref-hist.csv --schema ws_acme
    manage.py load_fx_rates --sample --since 2024-01-01

Without --schema the rates go to the workspace template (so new workspaces start with them) and
every active workspace. Workspaces whose rates changed recompute the affected facts and rollups:
in a worker by default, here with --recompute=now, or not at all with --recompute=none.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context, schema_exists

from accounts.selectors import active_workspaces
from warehouse.services import fx
from warehouse.tasks import apply_fx_rates


class Command(BaseCommand):
    help = "Load ECB reference rates from a file or URL into the template and workspace schemas."

    def add_arguments(self, parser: Any) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--file", help="path of an ECB CSV, XML or zip file")
        source.add_argument("--url", help="http(s) URL of an ECB CSV, XML or zip file")
        source.add_argument(
            "--sample", action="store_true", help="the repository's SYNTHETIC sample (tests and demo only)"
        )
        parser.add_argument("--schema", action="append", default=[], help="only these schemas (repeatable)")
        parser.add_argument("--since", type=date.fromisoformat, help="skip rates before this day (YYYY-MM-DD)")
        parser.add_argument("--recompute", choices=("queue", "now", "none"), default="queue")

    def handle(self, *args: Any, **options: Any) -> None:
        source = options["file"] or options["url"] or str(fx.SAMPLE_FILE)
        try:
            rates = fx.fx_rates_read(source=source)
        except (fx.FxFileError, OSError) as exc:
            raise CommandError(f"cannot read rates from {source}: {exc}") from exc
        if options["sample"]:
            self.stderr.write("loading the SYNTHETIC sample: its rates are made up, not the ECB's")
        schemas = options["schema"] or [
            settings.TENANT_BASE_SCHEMA,
            *active_workspaces().values_list("schema_name", flat=True),
        ]
        for schema in schemas:
            if not schema_exists(schema):
                raise CommandError(f"no schema {schema!r}")
            with schema_context(schema):
                loaded = fx.fx_rates_load(rates=rates, since=options["since"], source=fx.fx_source_label(source))
                line = f"{schema}: {loaded.received} rates, {loaded.inserted} new, {loaded.updated} changed"
                if schema != settings.TENANT_BASE_SCHEMA and loaded.changed_from and loaded.changed_to:
                    if options["recompute"] == "now":
                        fx.fx_rates_apply(date_from=loaded.changed_from, date_to=loaded.changed_to)
                        line += "; recomputed"
                    elif options["recompute"] == "queue":
                        apply_fx_rates.delay(
                            schema, date_from=loaded.changed_from.isoformat(), date_to=loaded.changed_to.isoformat()
                        )
                        line += "; recompute queued"
                self.stdout.write(line)
