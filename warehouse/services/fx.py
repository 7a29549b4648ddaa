"""ECB euro reference rates: parse the published files, load them, and recompute what they touch.

The ECB publishes one rate per currency per TARGET business day as units of the currency per
euro, in CSV (`eurofxref-hist.csv`: `Date,USD,JPY,...,` with "N/A" for unpublished values and a
trailing comma; the daily `eurofxref.csv` writes dates as "05 January 2024" with spaces after
the commas) and XML (the gesmes envelope: `<Cube time="YYYY-MM-DD"><Cube currency rate/>`), each
also as a zip. `fx_rates_parse` reads all of them; `fx_rates_load` upserts into the workspace's
`wh_fx_rate`; `fx_rates_apply` reruns the fact and its rollups for the days the new rates can
change (a rate also serves the next `fx.max_fallback_days` days as a fallback).

The repository ships `warehouse/data/synthetic-eurofxref-hist.csv`: a SYNTHETIC sample in the ECB
CSV format for tests and the demo — its numbers are made up, not the ECB's.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeElementTree
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from bosco.db import connection
from bosco.tasks import enqueue
from warehouse.services.config import setting
from warehouse.services.transform import run_from

SAMPLE_FILE = Path(__file__).resolve().parent.parent / "data" / "synthetic-eurofxref-hist.csv"
ECB_HIST_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip"
ECB_90D_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist-90d.xml"
_CURRENCY = re.compile(r"^[A-Z]{3}$")


ECB_SOURCE = "ECB"
SYNTHETIC_SOURCE = "synthetic"


def fx_source_label(source: str) -> str:
    """What a rates file is, for the record each rate (and each converted fact) keeps.

    The repository's sample, and any file named like it ("synthetic-…"), holds made-up numbers:
    it must never be recorded as the ECB's. Everything else is read as an ECB publication.
    """
    name = source.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].lower()
    return SYNTHETIC_SOURCE if name.startswith("synthetic") else ECB_SOURCE


class FxFileError(ValueError):
    """The file is not an ECB reference-rate file we can read; nothing was loaded."""


@dataclass(frozen=True)
class FxRateRow:
    currency: str
    date: date
    rate: Decimal  # units of `currency` per 1 EUR


@dataclass(frozen=True)
class FxLoadResult:
    received: int
    inserted: int
    updated: int
    date_from: date | None
    date_to: date | None
    currencies: tuple[str, ...]
    #: the days whose rates were new or different: what a recompute has to cover
    changed_from: date | None = None
    changed_to: date | None = None

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated)


# --------------------------------------------------------------------------- parsing


def _parse_date(text: str) -> date:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d %B %Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise FxFileError(f"unreadable date {text!r}")


def _parse_rate(text: str, where: str) -> Decimal | None:
    text = text.strip()
    if not text or text.upper() == "N/A":
        return None
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise FxFileError(f"unreadable rate {text!r} {where}") from exc
    if not value.is_finite() or value <= 0:
        raise FxFileError(f"impossible rate {text!r} {where}")
    return value


def _parse_csv(text: str) -> Iterator[FxRateRow]:
    reader = csv.reader(line for line in io.StringIO(text) if line.strip() and not line.startswith("#"))
    header = next(reader, None)
    if not header or header[0].strip() != "Date":
        raise FxFileError("not an ECB CSV file: the first column must be 'Date'")
    currencies = [h.strip() for h in header[1:]]
    for line_no, row in enumerate(reader, start=2):
        day = _parse_date(row[0])
        for currency, cell in zip(currencies, row[1:], strict=False):
            if not currency:
                continue  # the ECB's trailing comma
            if not _CURRENCY.match(currency):
                raise FxFileError(f"not a currency code in the header: {currency!r}")
            rate = _parse_rate(cell, f"for {currency} on line {line_no}")
            if rate is not None:
                yield FxRateRow(currency, day, rate)


def _parse_xml(text: str) -> Iterator[FxRateRow]:
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise FxFileError("XML with a DTD or entities is refused")
    try:
        # defusedxml refuses DTDs, entity expansion and external references even if the check
        # above misses a spelling of them.
        root = SafeElementTree.fromstring(text, forbid_dtd=True)
    except ElementTree.ParseError as exc:
        raise FxFileError(f"not well-formed XML: {exc}") from exc
    except DefusedXmlException as exc:
        raise FxFileError("XML with a DTD or entities is refused") from exc
    found = False
    for day_cube in root.iter():
        if not day_cube.tag.endswith("Cube") or "time" not in day_cube.attrib:
            continue
        day = _parse_date(day_cube.attrib["time"])
        for cube in day_cube:
            currency = cube.attrib.get("currency", "")
            if not _CURRENCY.match(currency):
                raise FxFileError(f"not a currency code: {currency!r} on {day}")
            rate = _parse_rate(cube.attrib.get("rate", ""), f"for {currency} on {day}")
            if rate is not None:
                found = True
                yield FxRateRow(currency, day, rate)
    if not found:
        raise FxFileError("no <Cube time=...><Cube currency=... rate=.../> elements: not an ECB XML file")


def fx_rates_parse(data: bytes, *, name: str = "") -> list[FxRateRow]:
    """Rates from an ECB file (CSV, XML, or a zip holding one); raises FxFileError on anything else."""
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [n for n in archive.namelist() if n.lower().endswith((".csv", ".xml"))]
            if len(members) != 1:
                raise FxFileError(f"expected one .csv or .xml in the zip, found {members}")
            return fx_rates_parse(archive.read(members[0]), name=members[0])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FxFileError("not UTF-8 text") from exc
    stripped = text.lstrip()
    rows = list(_parse_xml(text) if stripped.startswith("<") or name.lower().endswith(".xml") else _parse_csv(text))
    if not rows:
        raise FxFileError("the file holds no rates")
    return rows


def fx_rates_read(*, source: str, timeout: float = 60.0) -> list[FxRateRow]:
    """Read and parse rates from a local path or an http(s) URL."""
    if source.startswith(("http://", "https://")):
        response = httpx.get(source, timeout=timeout, follow_redirects=True)
        response.raise_for_status()
        return fx_rates_parse(response.content, name=source)
    path = Path(source)
    return fx_rates_parse(path.read_bytes(), name=path.name)


# --------------------------------------------------------------------------- loading


@transaction.atomic
def fx_rates_load(*, rates: Iterable[FxRateRow], source: str = ECB_SOURCE, since: date | None = None) -> FxLoadResult:
    """Upsert rates into the current schema's `wh_fx_rate`; unchanged rates are not rewritten."""
    rows = [r for r in rates if since is None or r.date >= since]
    if not rows:
        return FxLoadResult(0, 0, 0, None, None, ())
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS _fx_load")  # a savepoint does not fire ON COMMIT DROP
        cursor.execute("CREATE TEMPORARY TABLE _fx_load (currency text, date date, rate numeric) ON COMMIT DROP")
        with cursor.cursor.copy("COPY _fx_load (currency, date, rate) FROM STDIN") as copy:
            for r in rows:
                copy.write_row((r.currency, r.date, r.rate))
        cursor.execute(
            """INSERT INTO wh_fx_rate AS f (currency, date, rate, source, loaded_at)
               SELECT DISTINCT ON (currency, date) currency, date, rate, %s, %s FROM _fx_load
               ORDER BY currency, date
               ON CONFLICT (currency, date) DO UPDATE
                  SET rate = EXCLUDED.rate, source = EXCLUDED.source, loaded_at = EXCLUDED.loaded_at
                WHERE f.rate IS DISTINCT FROM EXCLUDED.rate OR f.source IS DISTINCT FROM EXCLUDED.source
               RETURNING (xmax = 0), date""",
            [source, now],
        )
        returned = cursor.fetchall()
        cursor.execute("DROP TABLE _fx_load")
    flags = [row[0] for row in returned]
    changed_days = [row[1] for row in returned]
    inserted = sum(1 for f in flags if f)
    return FxLoadResult(
        received=len(rows),
        inserted=inserted,
        updated=len(flags) - inserted,
        date_from=min(r.date for r in rows),
        date_to=max(r.date for r in rows),
        currencies=tuple(sorted({r.currency for r in rows})),
        changed_from=min(changed_days, default=None),
        changed_to=max(changed_days, default=None),
    )


def fx_rates_apply(*, date_from: date, date_to: date) -> dict[str, Any] | None:
    """Recompute the facts and rollups the rates of [date_from, date_to] can affect.

    A rate is used for its own day and, as a flagged fallback, for the following
    `fx.max_fallback_days` days; rows refused for lack of a rate are re-admitted.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM stg_google_ads__ad_group_daily) OR EXISTS (SELECT 1 FROM stg_meta__adset_daily)"
            " OR EXISTS (SELECT 1 FROM stg_tiktok__adgroup_daily) OR EXISTS (SELECT 1 FROM stg_shopify__order)"
        )
        if not cursor.fetchone()[0]:
            return None  # nothing transformed yet in this workspace
    horizon = date_to + timedelta(days=int(setting("fx.max_fallback_days")))
    result: dict[str, Any] | None = None
    for fact in MONEY_FACTS:
        result = run_from(model=fact, date_from=date_from, date_to=horizon)
    return result


#: the facts that hold money converted into the reporting currency (each reruns on an FX change)
MONEY_FACTS = ("fct_ad_performance_daily", "fct_orders_daily")


def reporting_currency_recompute() -> dict[str, Any]:
    """Convert every fact again into the workspace's (new) reporting currency, then the rollups."""
    result: dict[str, Any] = {}
    for fact in MONEY_FACTS:
        result = run_from(model=fact)
    return result


def reporting_currency_changed() -> None:
    """Call from the transaction that saved a new reporting currency: recomputes after commit.

    The recompute rewrites every fact and rollup, so it runs in a worker, not in the request;
    until it finishes, pages show the previous currency's numbers labelled with it.
    """
    enqueue("warehouse.tasks.recompute_reporting_currency", connection.schema_name, on_commit=True)


def fx_rates_seed_template(*, source: str) -> FxLoadResult | None:
    """Give the workspace template a rate history if it has none, so every new workspace starts
    with rates (workspaces are copies of the template, rows included).

    Development points `BOSCO_FX_SEED` at the synthetic sample; production leaves it empty and
    loads the ECB's history (`load_fx_rates --url …`) and the daily beat refresh instead.
    """
    with schema_context(settings.TENANT_BASE_SCHEMA), connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM wh_fx_rate)")
        if cursor.fetchone()[0]:
            return None
        return fx_rates_load(rates=fx_rates_read(source=source), source=fx_source_label(source))
