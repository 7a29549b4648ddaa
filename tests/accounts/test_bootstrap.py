"""`manage.py bootstrap` keeps the template ready: migrated, and (in development) with FX rates."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from warehouse.services import fx

pytestmark = pytest.mark.django_db


def _rates(schema: str) -> int:
    with schema_context(schema), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM wh_fx_rate")
        return int(cursor.fetchone()[0])


def test_seeded_template_gives_new_workspaces_a_rate_history_once(make_workspace) -> None:
    assert _rates(settings.TENANT_BASE_SCHEMA) == 0
    seeded = fx.fx_rates_seed_template(source=str(fx.SAMPLE_FILE))
    assert seeded is not None and seeded.inserted > 10_000
    assert fx.fx_rates_seed_template(source=str(fx.SAMPLE_FILE)) is None  # already has rates
    acme = make_workspace("acme")
    assert _rates(acme.schema_name) == _rates(settings.TENANT_BASE_SCHEMA)


def test_bootstrap_is_idempotent(settings) -> None:
    from django.core.management import call_command

    settings.BOSCO_FX_SEED = ""
    call_command("bootstrap", verbosity=0)
    call_command("bootstrap", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_workspace WHERE schema_name = 'public'")
        assert cursor.fetchone()[0] == 1
