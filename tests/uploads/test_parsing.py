"""Reading files and cells: locales, dates, encodings, headers, hostile workbooks (no database)."""

from __future__ import annotations

import codecs
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.uploads.conftest import xlsx_bytes
from uploads import parsing
from uploads.parsing import CellError, FileRejected, parse_amount, parse_date


@pytest.mark.parametrize(
    ("text", "mark", "value", "currency"),
    [
        ("1.234,56 €", ",", "1234.56", "EUR"),
        ("1 234,56 €", ",", "1234.56", "EUR"),
        ("1\u202f234,56\u00a0€", ",", "1234.56", "EUR"),
        ("€1,234.56", ".", "1234.56", "EUR"),
        ("$1,234,567.5", ".", "1234567.5", "$"),
        ("1234.5 USD", ".", "1234.5", "USD"),
        ("GBP 12", ".", "12", "GBP"),
        ("1'234.50", ".", "1234.50", None),
        ("0,5", ",", "0.5", None),
        ("-12,00", ",", "-12.00", None),
        ("(12.00)", ".", "-12.00", None),
        ("1.234", ",", "1234", None),
        ("1,234", ".", "1234", None),
    ],
)
def test_amounts_in_the_workspace_locale(text: str, mark: str, value: str, currency: str | None) -> None:
    amount = parse_amount(text, mark)
    assert amount.value == Decimal(value)
    assert amount.currency == currency


@pytest.mark.parametrize(
    ("text", "mark"),
    [
        ("12.5", ","),
        ("1,234.56", ","),
        ("1.234,56", "."),
        ("=1+2", "."),
        ("+SUM(A1)", ","),
        ("abc", "."),
        ("1,2,3", ","),
    ],
)
def test_numbers_in_the_other_locale_or_formulas_are_errors_not_guesses(text: str, mark: str) -> None:
    with pytest.raises(CellError):
        parse_amount(text, mark)


def test_a_formula_is_reported_as_text_never_calculated() -> None:
    with pytest.raises(CellError, match="never calculates"):
        parse_amount("=1+2", ".")


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("2026-11-20", "", date(2026, 11, 20)),
        ("2026-11-20T00:00:00Z", "", date(2026, 11, 20)),
        ("20.11.2026", "", date(2026, 11, 20)),
        ("20261120", "", date(2026, 11, 20)),
        ("03/04/2026", "dmy", date(2026, 4, 3)),
        ("03/04/2026", "mdy", date(2026, 3, 4)),
        ("3-4-26", "dmy", date(2026, 4, 3)),
    ],
)
def test_dates(text: str, order: str, expected: date) -> None:
    assert parse_date(text, order) == expected


def test_a_slashed_date_without_an_order_is_asked_not_guessed() -> None:
    with pytest.raises(CellError, match="choose"):
        parse_date("03/04/2026", "")
    with pytest.raises(CellError, match="not a valid date"):
        parse_date("11/20/2026", "dmy")


def test_date_order_is_detected_only_when_the_sample_decides_it() -> None:
    assert parsing.detect_date_order(["20/11/2026", "01/12/2026"]) == "dmy"
    assert parsing.detect_date_order(["11/20/2026", "12/01/2026"]) == "mdy"
    assert parsing.detect_date_order(["03/04/2026", "05/06/2026"]) is None
    assert parsing.detect_date_order(["2026-11-20"]) == "ymd"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            ["Date", "Campaign name", "Amount spent (EUR)", "Impressions", "Link clicks"],
            {"date": 0, "campaign": 1, "spend": 2, "impressions": 3, "clicks": 4},
        ),
        (
            ["Datum", "Kampagne", "Kosten", "Impressionen", "Klicks", "Umsatz", "Währung"],
            {"date": 0, "campaign": 1, "spend": 2, "impressions": 3, "clicks": 4, "value": 5, "currency": 6},
        ),
        (
            ["Jour", "Campagne", "Dépenses", "Clics", "Conversions"],
            {"date": 0, "campaign": 1, "spend": 2, "clicks": 3, "conversions": 4},
        ),
        (
            ["Fecha", "Campaña", "Coste", "Impresiones", "Clics"],
            {"date": 0, "campaign": 1, "spend": 2, "impressions": 3, "clicks": 4},
        ),
        (
            ["Dag", "Campagnenaam", "Uitgaven", "Vertoningen", "Klikken"],
            {"date": 0, "campaign": 1, "spend": 2, "impressions": 3, "clicks": 4},
        ),
    ],
)
def test_headers_are_recognised_in_several_languages(headers: list[str], expected: dict[str, int]) -> None:
    assert parsing.guess_mapping(headers, parsing.AD_PERFORMANCE) == expected


def test_duplicated_and_blank_headers_are_told_apart() -> None:
    assert parsing.unique_headers(["Spend", "", "spend"]) == ["Spend", "Column 2", "spend (column 3)"]
    assert parsing.header_currency("Amount spent (EUR)") == "EUR"


@pytest.mark.parametrize(
    ("data", "encoding", "certain"),
    [
        (codecs.BOM_UTF8 + b"Datum;Kosten\n", "utf-8-sig", True),
        ("Datum;Kosten\n".encode("utf-16"), "utf-16", True),
        ("Datum;Kosten\n".encode("utf-16-le"), "utf-16-le", True),
        ("Dépenses;Währung\n".encode(), "utf-8", True),
        ("Dépenses;Währung\n".encode("latin-1"), "cp1252", False),
    ],
)
def test_encodings(data: bytes, encoding: str, certain: bool) -> None:
    assert parsing.detect_encoding(data) == (encoding, certain)


def test_csv_injection_is_escaped_in_files_bosco_writes() -> None:
    assert parsing.csv_safe('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert parsing.csv_safe("@SUM(A1)") == "'@SUM(A1)"
    assert parsing.csv_safe("-5") == "'-5"
    assert parsing.csv_safe("Brand") == "Brand"


def test_a_huge_cell_is_an_error_of_its_row_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text(
        "Date,Campaign,Spend\n2026-11-01,A,1\n2026-11-02," + "x" * (10 * 1024 * 1024) + ",2\n2026-11-03,C,3\n"
    )
    rows = list(parsing.read_rows(path, parsing.sniff(path)))
    assert [r.line for r in rows] == [1, 2, 3, 4]
    assert "longer than" in rows[2].error
    assert rows[3].cells == ["2026-11-03", "C", "3"]


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"\xef\xbb\xbf\r\n")
    with pytest.raises(FileRejected, match="empty"):
        parsing.sniff(path)


def test_binary_and_old_excel_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    with pytest.raises(FileRejected, match="old Excel"):
        parsing.sniff(path)
    path.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(FileRejected, match="not a text"):
        parsing.sniff(path)


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(FileRejected, match="not an Excel"):
        parsing.sniff(path)


def test_a_zip_bomb_workbook_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(xlsx_bytes([["Date", "Spend"], ["2026-11-01", 1]]))
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", bytes(50 * 1024 * 1024))
    with pytest.raises(FileRejected, match="zip bomb"):
        parsing.sniff(path)


def _with_billion_laughs(source: bytes, target: Path, part: str) -> None:
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
        + "]>"
    )
    target.write_bytes(source)
    with zipfile.ZipFile(target) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    xml = members[part].decode()
    xml = xml.split("?>", 1)[1] if xml.startswith("<?xml") else xml
    members[part] = (laughs + xml.replace("<v>1</v>", "<v>&lol9;</v>", 1)).encode()
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_a_billion_laughs_workbook_is_refused_by_defusedxml(tmp_path: Path) -> None:
    path = tmp_path / "laughs.xlsx"
    _with_billion_laughs(xlsx_bytes([["Date", "Spend"], ["2026-11-01", 1]]), path, "xl/worksheets/sheet1.xml")
    sniffed = parsing.sniff(path)  # a well-formed zip with a workbook: the XML is refused when read
    with pytest.raises(FileRejected, match="XML entities"):
        list(parsing.read_rows(path, sniffed))


def test_xlsx_rows_keep_dates_and_numbers(tmp_path: Path) -> None:
    path = tmp_path / "ok.xlsx"
    path.write_bytes(xlsx_bytes([["Date", "Campaign", "Spend"], [date(2026, 11, 1), '=HYPERLINK("x")', 12.5]]))
    rows = list(parsing.read_rows(path, parsing.sniff(path)))
    assert rows[1].line == 2
    assert rows[1].cells[2] == 12.5
    assert parse_date(rows[1].cells[0], "") == date(2026, 11, 1)
