"""The snippet's published versions: a version's file never changes once published.

A site embeds `<script src=".../t/v1/bosco.js" integrity="sha384-…">`; the browser refuses the
file if one byte differs, so a change to the snippet is a new version file (and a new entry here),
and the old version keeps being served as it was. tests/tracking pins each version's digest.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from functools import cache
from pathlib import Path

SNIPPET_DIR = Path(__file__).resolve().parent / "snippet"
CURRENT_VERSION = "1"
VERSIONS = ("1",)


@cache
def source(version: str) -> bytes:
    if version not in VERSIONS:
        raise KeyError(version)
    return (SNIPPET_DIR / f"v{version}.js").read_bytes()


@cache
def integrity(version: str) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(source(version)).digest()).decode()


def gzipped_size(version: str) -> int:
    return len(gzip.compress(source(version), compresslevel=9))
