"""Serve plotly.js from the installed `plotly` Python package as a static file of the project.

The charts are built with the Python package and drawn by its own bundled plotly.js
(`plotly/package_data/plotly.min.js`), so browser and server always agree on the version and
nothing comes from a CDN. This finder exposes exactly that one file as
`vendor/plotly/plotly.min.js`: `{% static %}`, the development server, WhiteNoise and
`collectstatic` all find it like any other static file (settings: STATICFILES_FINDERS).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import CheckMessage
from django.core.checks import Error as CheckError
from django.core.files.storage import FileSystemStorage

PREFIX = "vendor/plotly"
FILENAME = "plotly.min.js"
STATIC_PATH = f"{PREFIX}/{FILENAME}"


def plotly_package_data() -> Path:
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data"


class PlotlyJsFinder(BaseFinder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=str(plotly_package_data()))
        self.storage.prefix = PREFIX  # type: ignore[attr-defined]  # collectstatic reads it, as for prefixed STATICFILES_DIRS

    def check(self, **kwargs: Any) -> list[CheckMessage]:
        if not (plotly_package_data() / FILENAME).is_file():
            return [CheckError(f"plotly.js not found at {plotly_package_data() / FILENAME}", id="insights.E001")]
        return []

    # Django 5.2 still passes the deprecated `all=` keyword to some finders; accept both spellings.
    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> str | list[str]:  # type: ignore[override]
        find_all = find_all or bool(kwargs.get("all", False))
        if path == STATIC_PATH:
            match = str(plotly_package_data() / FILENAME)
            return [match] if find_all else match
        return [] if find_all else ""

    def list(self, ignore_patterns: Any) -> Any:
        yield FILENAME, self.storage
