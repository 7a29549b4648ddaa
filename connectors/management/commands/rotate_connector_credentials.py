"""`manage.py rotate_connector_credentials`: re-encrypt every workspace's tokens with the newest key.

Rotation: put the new key first in BOSCO_ENCRYPTION_KEYS (keep the old one after it), deploy, run
this command, then remove the old key.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django_tenants.utils import get_public_schema_name, get_tenant_model, schema_context

from bosco.crypto import reset_key_cache
from connectors.services import credentials_rotate


class Command(BaseCommand):
    help = "Re-encrypt connector tokens in every workspace with the newest BOSCO_ENCRYPTION_KEYS key."

    def handle(self, *args: Any, **options: Any) -> None:
        reset_key_cache()
        total = 0
        # Every workspace, suspended ones included: the old key must be retirable everywhere.
        for workspace in get_tenant_model().objects.exclude(schema_name=get_public_schema_name()):
            with schema_context(workspace.schema_name):
                total += credentials_rotate()
        self.stdout.write(f"re-encrypted {total} connector secrets")
