"""`python manage.py run_emulators`: the platform API emulators for the demo and local work.

A thin wrapper over `devtools.emulators.cli` (same options as `python -m devtools.emulators`),
so the emulators behave identically with or without Django.
"""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand

from devtools.emulators.cli import add_arguments, config_from_options, serve


class Command(BaseCommand):
    help = "Run the local Google Ads and Meta Marketing API emulators on one base URL."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        serve(options["host"], options["port"], config_from_options(options), self.stdout)
