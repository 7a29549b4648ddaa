"""Reading uploaded files: encodings, CSV dialects, `.xlsx`, header guesses, and numbers, dates and
currencies written in a locale. Plain Python (no Django), so it is fast to test.

Everything here reads row by row: a file of a million rows never sits in memory. Cells are data:
a cell starting with `=`, `+`, `-` or `@` is never calculated (a CSV has no formulas; for `.xlsx`
the value Excel last saved is read, the formula itself never is), and `csv_safe` escapes such
cells when Bosco writes rows back out (the skipped-rows download) against CSV injection.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

#: the longest cell Bosco reads; a longer one is an error of its row (csv's own limit, 128 KiB)
MAX_CELL_CHARS = 131_072
#: an .xlsx whose parts unpack to more than this is refused before parsing (zip bombs)
XLSX_MAX_UNCOMPRESSED = 1 << 30
XLSX_MAX_RATIO = 200
#: amounts above this (in units of the currency) are refused: they are typos or overflows
MAX_AMOUNT = Decimal(10) ** 12
SAMPLE_BYTES = 1 << 16
PREVIEW_ROWS = 10


class FileRejected(Exception):
    """The file as a whole cannot be read; the message says why and what to do."""


class CellError(ValueError):
    """One cell cannot be read; the message names the value and what was expected."""


# --------------------------------------------------------------------------- fields


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    required: bool = False
    help: str = ""


AD_PERFORMANCE = "ad_performance"
OFFLINE_CONVERSIONS = "offline_conversions"

FIELDS: dict[str, tuple[Field, ...]] = {
    AD_PERFORMANCE: (
        Field("date", "Date", required=True),
        Field(
            "source", "Source / platform", help="one column naming the platform of each row; else the upload's source"
        ),
        Field("account", "Account", help="else one account named after the source"),
        Field("campaign", "Campaign", required=True),
        Field("campaign_id", "Campaign id", help="else the campaign name is its id"),
        Field("spend", "Spend", required=True),
        Field("impressions", "Impressions"),
        Field("clicks", "Clicks"),
        Field("conversions", "Conversions"),
        Field("value", "Conversion value"),
        Field("currency", "Currency", help="else the amounts' symbol, else the upload's currency"),
    ),
    OFFLINE_CONVERSIONS: (
        Field("date", "Date", required=True),
        Field("campaign", "Campaign (name or id)", required=True),
        Field("click_id", "Click id", help="kept with the row; matching uses the campaign"),
        Field("conversions", "Conversions", help="else each row is one conversion"),
        Field("value", "Conversion value"),
        Field("currency", "Currency", help="else the amounts' symbol, else the upload's currency"),
    ),
}


def normalise_header(text: str) -> str:
    """ "Amount spent (EUR)" → "amountspent", "Datum" → "datum", "Dépenses" → "depenses"."""
    text = re.sub(r"\([^)]*\)|\[[^\]]*\]", "", text)
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text.lower() if ch.isalnum() and not unicodedata.combining(ch))


# Header spellings seen in exports (English, German, French, Spanish, Italian, Dutch, Portuguese,
# Swedish), normalised as by `normalise_header`.
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


SYNONYMS: dict[str, frozenset[str]] = {
    "date": _words(
        "date day datum tag fecha dia jour data giorno dag reportdate reportingstarts statday stattimeday"
        " dateday segmentsdate periodo"
    ),
    "source": _words(
        "source platform channel network plattform quelle kanal fuente plataforma canal plateforme fonte"
        " piattaforma bron kalla kanaal publisher"
    ),
    "account": _words(
        "account accountname adaccount adaccountname konto kontoname werbekonto cuenta nombredelacuenta compte"
        " nomducompte conta account advertiser advertisername accountnaam kontonamn customername"
    ),
    "campaign": _words(
        "campaign campaignname kampagne kampagnenname campana nombredelacampana campagne nomdelacampagne"
        " campanha nomedacampanha campagna nomecampagna kampanj kampanjnamn campagnenaam campaigntitle"
    ),
    "campaign_id": _words("campaignid kampagnenid idcampana idcampagne iddacampanha idcampagna kampanjid campagneid"),
    "click_id": _words("clickid gclid fbclid ttclid msclkid liclid clickidentifier klickid"),
    "spend": _words(
        "spend cost costs amountspent spent totalspent kosten ausgaben betrag gasto coste importegastado gastos"
        " depenses cout montantdepense spesa costo importospeso kostnad kostnader uitgaven uitgegevenbedrag"
        " investimento valorgasto media mediaspend"
    ),
    "impressions": _words(
        "impressions impr impression impressionen impresiones impressoes impressioni vertoningen visningar exponeringar"
    ),
    "clicks": _words("clicks click clics clic klicks klick cliques cliqueslink klikken klik klick linkclicks"),
    "conversions": _words(
        "conversions conversion conv convs results conversionen konversionen conversiones conversoes conversioni"
        " conversies konverteringar purchases purchase leads orders sales ventes ventas"
    ),
    "value": _words(
        "conversionvalue conversionsvalue value revenue totalconversionvalue purchasevalue purchaseconversionvalue"
        " umsatz wert conversionwert konversionswert valor valordeconversion ingresos valeur valeurdeconversion"
        " chiffredaffaires valore valoreconversione waarde conversiewaarde varde intakter omsattning receita"
        " salesvalue ordervalue"
    ),
    "currency": _words("currency currencycode wahrung waehrung moneda devise valuta moeda divisa"),
}


def guess_mapping(headers: list[str], kind: str) -> dict[str, int]:
    """Field → column index for the headers recognised; each column serves one field at most."""
    wanted = [f.name for f in FIELDS[kind]]
    mapping: dict[str, int] = {}
    used: set[int] = set()
    normalised = [normalise_header(h) for h in headers]
    for name in wanted:
        for index, header in enumerate(normalised):
            if index not in used and header in SYNONYMS[name]:
                mapping[name] = index
                used.add(index)
                break
    return mapping


def header_currency(header: str) -> str | None:
    """ "Amount spent (EUR)" names its currency."""
    match = re.search(r"[(\[]\s*([A-Za-z]{3})\s*[)\]]", header)
    return match.group(1).upper() if match else None


def unique_headers(headers: list[str]) -> list[str]:
    """Blank and repeated headers get a distinguishing suffix ("Spend", "Spend (column 7)")."""
    out: list[str] = []
    seen: set[str] = set()
    for index, header in enumerate(headers):
        label = header.replace("\x00", "").strip()[:200] or f"Column {index + 1}"
        if label.lower() in seen:
            label = f"{label} (column {index + 1})"
        seen.add(label.lower())
        out.append(label)
    return out


def header_signature(headers: list[str]) -> str:
    """What makes two files "the same layout": their normalised headers in order."""
    return "|".join(normalise_header(h) for h in headers)


# --------------------------------------------------------------------------- files


@dataclass(frozen=True)
class Sniffed:
    file_format: str  # "csv" | "xlsx"
    encoding: str  # "" for xlsx
    encoding_certain: bool
    delimiter: str


def sniff(path: Path) -> Sniffed:
    """What kind of file this is, and for a CSV its encoding and delimiter."""
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if not sample.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise FileRejected("The file is empty: it has no header row and no data.")
    if sample.startswith(b"PK\x03\x04"):
        xlsx_check(path)
        return Sniffed("xlsx", "", True, "")
    if sample.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRejected(
            "This is an old Excel .xls (or another Office binary) file, which Bosco does not read: "
            "save it as .xlsx or CSV and upload that."
        )
    encoding, certain = detect_encoding(sample)
    text = sample.decode(encoding, errors="replace")
    first_line = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    if "\x00" in text or sum(ch.isprintable() or ch in "\t\r\n" for ch in text) < 0.9 * len(text):
        raise FileRejected("This is not a text (CSV) file or an .xlsx workbook: Bosco cannot read it.")
    return Sniffed("csv", encoding, certain, detect_delimiter(first_line))


def detect_encoding(sample: bytes) -> tuple[str, bool]:
    """(encoding, certain): a BOM or valid UTF-8 is certain; anything else is a Western guess."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", True
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", True
    if len(sample) >= 4:
        even_nul, odd_nul = sample[0::2].count(0), sample[1::2].count(0)
        half = len(sample) // 2
        if odd_nul > half * 0.4 and even_nul < half * 0.05:
            return "utf-16-le", True
        if even_nul > half * 0.4 and odd_nul < half * 0.05:
            return "utf-16-be", True
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8", True
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("cp1252")
        return "cp1252", False
    except UnicodeDecodeError:
        return "latin-1", False


ENCODINGS: dict[str, str] = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "utf-16": "UTF-16 (with BOM)",
    "utf-16-le": "UTF-16 little-endian",
    "utf-16-be": "UTF-16 big-endian",
    "cp1252": "Windows-1252 (Western European)",
    "latin-1": "ISO-8859-1 (Latin-1)",
    "cp1250": "Windows-1250 (Central European)",
    "mac_roman": "Mac Roman",
}


def detect_delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def xlsx_check(path: Path) -> None:
    """Refuse what is not an .xlsx workbook, and workbooks that unpack to absurd sizes."""
    if not zipfile.is_zipfile(path):
        raise FileRejected("This file looks like a zip but is damaged: Bosco cannot open it as an .xlsx workbook.")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileRejected(f"This .xlsx workbook is damaged ({exc}).") from exc
    names = {info.filename for info in infos}
    if "xl/workbook.xml" not in names:
        raise FileRejected("This is a zip archive, not an Excel .xlsx workbook (it has no xl/workbook.xml).")
    total = sum(info.file_size for info in infos)
    if total > XLSX_MAX_UNCOMPRESSED:
        raise FileRejected(
            f"This workbook unpacks to {total // (1 << 20)} MB, more than Bosco reads "
            f"({XLSX_MAX_UNCOMPRESSED // (1 << 20)} MB): export the sheet as CSV instead."
        )
    for info in infos:
        if info.file_size > (1 << 20) and info.file_size > XLSX_MAX_RATIO * max(info.compress_size, 1):
            raise FileRejected(
                f"Part {info.filename} of this workbook is compressed {info.file_size // max(info.compress_size, 1)}"
                " times: Bosco refuses it as a possible zip bomb. Export the sheet as CSV instead."
            )


@dataclass(frozen=True)
class Row:
    line: int
    cells: list[Any]
    error: str = ""


def read_rows(path: Path, sniffed: Sniffed, *, encoding: str | None = None) -> Generator[Row]:
    """The file's rows (header first) with their line numbers; unreadable rows carry an error."""
    if sniffed.file_format == "xlsx":
        yield from _xlsx_rows(path)
    else:
        yield from _csv_rows(path, encoding or sniffed.encoding, sniffed.delimiter)


def _csv_rows(path: Path, encoding: str, delimiter: str) -> Iterator[Row]:
    csv.field_size_limit(MAX_CELL_CHARS)
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
        reader = csv.reader(text, delimiter=delimiter)
        start = 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                limit = "field larger than field limit" in str(exc)
                message = (
                    f"a cell is longer than {MAX_CELL_CHARS:,} characters (the rest of the row was not read)"
                    if limit
                    else f"unreadable CSV row ({exc})"
                )
                yield Row(start, [], message)
            except UnicodeDecodeError as exc:
                raise FileRejected(
                    f"Near line {start} the file is not valid {ENCODINGS.get(encoding, encoding)} "
                    f"(byte {exc.object[exc.start : exc.start + 1]!r}). Choose the file's encoding and check again."
                ) from exc
            else:
                if any(cell.strip() for cell in cells):
                    yield Row(start, cells)
            start = reader.line_num + 1


def _xlsx_rows(path: Path) -> Iterator[Row]:
    # openpyxl is imported here: only uploads of .xlsx need it, and it is slow to import.
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds (XML, zip, key errors); all mean "unreadable"
        raise FileRejected(f"Bosco could not read this .xlsx workbook: {_xml_reason(exc)}") from exc
    try:
        sheet = workbook.worksheets[0]
        line = 0
        try:
            for values in sheet.iter_rows(values_only=True):
                line += 1
                cells = ["" if v is None else v for v in values]
                if any(str(c).strip() for c in cells):
                    yield Row(line, cells)
        except Exception as exc:  # same: a damaged or hostile sheet part
            raise FileRejected(f"Bosco could not read row {line + 1} of this workbook: {_xml_reason(exc)}") from exc
    finally:
        workbook.close()


def _xml_reason(exc: Exception) -> str:
    cause: BaseException | None = exc
    while cause is not None:  # openpyxl wraps defusedxml's refusal in its own ValueError
        if type(cause).__name__ in {"EntitiesForbidden", "DTDForbidden", "ExternalReferenceForbidden"}:
            return "it declares XML entities or a DTD, which Bosco refuses (a possible XML bomb)."
        cause = cause.__cause__ or cause.__context__
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]


def csv_safe(value: Any) -> str:
    """A cell for a CSV Bosco writes: text that a spreadsheet would run as a formula gets a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# --------------------------------------------------------------------------- values

CURRENCY_SYMBOLS: dict[str, str] = {
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "￥": "JPY",
    "₹": "INR",
    "₩": "KRW",
    "₺": "TRY",
    "zł": "PLN",
    "R$": "BRL",
    "CHF": "CHF",
    "US$": "USD",
    "$": "$",  # some dollar: the currency column or the upload's currency says which
    "kr": "kr",  # some krona/krone: likewise
}
_SYMBOLS_LONGEST_FIRST = sorted(CURRENCY_SYMBOLS, key=len, reverse=True)
_PLAIN = {".": re.compile(r"-?\d{1,15}(\.\d{1,9})?"), ",": re.compile(r"-?\d{1,15}(,\d{1,9})?")}
_SPACES = dict.fromkeys(map(ord, " \u00a0\u202f\u2009\u2007\t"), None)
_CODE = re.compile(r"^([A-Z]{3})|([A-Z]{3})$")


@dataclass(frozen=True)
class Amount:
    value: Decimal
    currency: str | None  # a code, "$" / "kr" (a family), or None when the cell names none


def parse_amount(text: Any, decimal_mark: str) -> Amount:
    """ "1.234,56 €" with decimal mark "," → 1234.56 EUR; "$1,234.56" with "." → 1234.56 "$"."""
    if isinstance(text, bool):
        raise CellError(f"{text!r} is not a number")
    if isinstance(text, int | float | Decimal):
        return Amount(_checked(Decimal(str(text))), None)
    raw = str(text).strip()
    if not raw:
        raise CellError("empty")
    if _PLAIN[decimal_mark].fullmatch(raw):  # the common case, 1M times per large file: no symbols or groups
        return Amount(_checked(Decimal(raw.replace(",", ".") if decimal_mark == "," else raw)), None)
    s = raw.translate(_SPACES)
    currency = None
    if s and not (s[0].isdigit() and s[-1].isdigit()):
        for symbol in _SYMBOLS_LONGEST_FIRST:
            if s.startswith((symbol, "-" + symbol)) or s.endswith(symbol):
                currency = CURRENCY_SYMBOLS[symbol]
                s = s.replace(symbol, "", 1)
                break
        else:
            match = _CODE.search(s)
            if match:
                currency = match.group(1) or match.group(2)
                s = s[3:] if match.group(1) else s[:-3]
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1]
    if s.startswith("-"):
        negative, s = not negative, s[1:]
    elif s.endswith("-"):
        negative, s = not negative, s[:-1]
    if not re.fullmatch(r"\d[\d.,']*", s):
        hint = " (a formula or text: Bosco reads values, it never calculates)" if raw[:1] in "=+@" else ""
        raise CellError(f"{raw!r} is not a number{hint}")
    group = "," if decimal_mark == "." else "."
    whole, _, fraction = s.partition(decimal_mark)
    if decimal_mark in fraction or not re.fullmatch(r"\d*", fraction) or (decimal_mark in s and not fraction):
        raise CellError(f"{raw!r} is not a number with {decimal_mark!r} as the decimal mark")
    parts = re.split(f"[{re.escape(group)}']", whole)
    if len(parts) > 1 and (not 1 <= len(parts[0]) <= 3 or any(len(p) != 3 for p in parts[1:])):
        raise CellError(
            f"{raw!r} is not a number with {decimal_mark!r} as the decimal mark and {group!r} between thousands"
        )
    value = Decimal("".join(parts) + ("." + fraction if fraction else ""))
    return Amount(_checked(-value if negative else value), currency)


def _checked(value: Decimal) -> Decimal:
    if not value.is_finite() or abs(value) >= MAX_AMOUNT:
        raise CellError(f"{value} is out of range")
    return value


def to_micros(value: Decimal) -> int:
    return int((value * 1_000_000).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def parse_count(text: Any, decimal_mark: str) -> int:
    if isinstance(text, str) and text.isdigit() and len(text) < 16:
        return int(text)
    amount = parse_amount(text, decimal_mark)
    if amount.currency is not None:
        raise CellError(f"{text!r} is an amount of money, not a count")
    if amount.value != amount.value.to_integral_value():
        raise CellError(f"{text!r} is not a whole number")
    return int(amount.value)


DATE_ORDERS = {
    "ymd": "year-month-day (2026-11-20)",
    "dmy": "day/month/year (20/11/2026)",
    "mdy": "month/day/year (11/20/2026)",
}
_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})")
_SLASHED = re.compile(r"(\d{1,2})[/-](\d{1,2})[/-](\d{4}|\d{2})")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_TIME = re.compile(r"[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def _year(text: str) -> int:
    return int(text) + 2000 if len(text) == 2 else int(text)


def parse_date(value: Any, order: str) -> date:
    """A day from a cell: ISO, `d.m.y`, `yyyymmdd`, or slashed/dashed in the chosen `order`."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raw = str(value).strip()
    text = _TIME.sub("", raw)
    try:
        if m := _ISO.fullmatch(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _DOTTED.fullmatch(text):
            return date(_year(m[3]), int(m[2]), int(m[1]))
        if m := _COMPACT.fullmatch(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _SLASHED.fullmatch(text):
            if order == "mdy":
                return date(_year(m[3]), int(m[1]), int(m[2]))
            if order == "dmy":
                return date(_year(m[3]), int(m[2]), int(m[1]))
            raise CellError(f"{raw!r}: choose whether dates are day/month/year or month/day/year")
    except ValueError as exc:
        if isinstance(exc, CellError):
            raise
        raise CellError(f"{raw!r} is not a valid date ({exc})") from exc
    raise CellError(f"{raw!r} is not a date Bosco reads (2026-11-20, 20.11.2026, 20/11/2026 or 11/20/2026)")


def detect_date_order(values: list[Any]) -> str | None:
    """ "dmy" / "mdy" when the sample decides it, "ymd" when no date is slashed, None when ambiguous."""
    firsts_over_12 = seconds_over_12 = slashed = 0
    for value in values:
        if isinstance(value, date):
            continue
        m = _SLASHED.fullmatch(_TIME.sub("", str(value).strip()))
        if not m:
            continue
        slashed += 1
        firsts_over_12 += int(m[1]) > 12
        seconds_over_12 += int(m[2]) > 12
    if not slashed:
        return "ymd"
    if firsts_over_12 and not seconds_over_12:
        return "dmy"
    if seconds_over_12 and not firsts_over_12:
        return "mdy"
    return None


def parse_currency(text: Any) -> str:
    raw = str(text).strip()
    code = CURRENCY_SYMBOLS.get(raw, raw.upper())
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise CellError(f"{raw!r} is not a currency code (EUR, USD, ...)")
    return code


def read_preview(
    path: Path, sniffed: Sniffed, *, encoding: str | None = None, sample: int = 500
) -> tuple[list[str], list[list[str]], list[list[Any]]]:
    """(headers, first rows as text, a larger sample for guessing date orders)."""
    rows = read_rows(path, sniffed, encoding=encoding)
    try:
        return _preview(rows, sample)
    finally:
        rows.close()  # closes the file (or workbook) now, not when the generator is collected


def _preview(rows: Iterator[Row], sample: int) -> tuple[list[str], list[list[str]], list[list[Any]]]:
    header = next((r for r in rows if not r.error), None)
    if header is None:
        raise FileRejected("The file is empty: it has no header row.")
    headers = [str(c) for c in header.cells]
    if not any(h.strip() for h in headers):
        raise FileRejected("The first row is empty: Bosco needs a header row naming the columns.")
    preview: list[list[str]] = []
    sampled: list[list[Any]] = []
    for row in rows:
        if row.error:
            continue
        sampled.append(row.cells)
        if len(preview) < PREVIEW_ROWS:
            preview.append([_shown(c) for c in row.cells])
        if len(sampled) >= sample:
            break
    return headers, preview, sampled


def _shown(value: Any) -> str:
    if isinstance(value, datetime) and not (value.hour or value.minute or value.second):
        return value.date().isoformat()
    text = str(value).replace("\x00", "\N{SYMBOL FOR NULL}")  # PostgreSQL's json cannot hold NUL
    return text if len(text) <= 200 else text[:200] + "…"
