"""Checking one upload's rows: every cell parsed in the upload's locale, every error kept with its line.

`RowChecker.check(cells)` returns the row in PostgreSQL's COPY text format (what
`warehouse.services.uploads` lands) or raises `RowErrors` with every problem of the row, so a
person fixes a row once, not once per column.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from bosco.money import REPORTING_CURRENCIES
from bosco.platforms import UPLOAD_PREFIX
from uploads.parsing import (
    AD_PERFORMANCE,
    Amount,
    CellError,
    header_currency,
    parse_amount,
    parse_count,
    parse_currency,
    parse_date,
    to_micros,
)
from warehouse.selectors.uploads import CampaignTarget

_DOLLARS = {"USD", "CAD", "AUD", "NZD", "HKD", "SGD", "MXN"}
_KRONOR = {"SEK", "NOK", "DKK", "ISK"}


class RowErrors(Exception):
    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def source_code(name: str) -> str:
    """ "LinkedIn" → "upload_linkedin": the warehouse platform code of an upload source."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "_", text).strip("_")[:24].strip("_")
    if not slug:
        raise CellError(f"the source name {name!r} needs letters or digits")
    return UPLOAD_PREFIX + slug


def campaign_id_for(name: str) -> str:
    """A campaign without an id column is identified by its name (a hash keeps long names in 64)."""
    if len(name) <= 64:
        return name
    return name[:47] + "~" + hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:16]


def _tsv(value: Any) -> str:
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


@dataclass
class RowChecker:
    kind: str
    mapping: dict[str, int]
    headers: list[str]
    source_name: str
    date_order: str
    decimal_mark: str
    default_currency: str
    time_zone: str
    targets: list[CampaignTarget] = field(default_factory=list)
    # what the rows so far covered
    date_from: date | None = None
    date_to: date | None = None
    sources: dict[str, str] = field(default_factory=dict)
    _account_currency: dict[tuple[str, str], str] = field(default_factory=dict)
    _by_id: dict[str, list[CampaignTarget]] = field(default_factory=dict)
    _by_name: dict[str, list[CampaignTarget]] = field(default_factory=dict)
    _codes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for target in self.targets:
            self._by_id.setdefault(target.campaign_id, []).append(target)
            self._by_id.setdefault(f"{target.platform}:{target.account_id}:{target.campaign_id}", []).append(target)
            self._by_name.setdefault(target.name.strip().casefold(), []).append(target)
        self._header_currency = {
            name: header_currency(self.headers[index])
            for name, index in self.mapping.items()
            if name in ("spend", "value") and index < len(self.headers)
        }
        if self.kind != AD_PERFORMANCE:
            self.sources[source_code(self.source_name)] = self.source_name

    def _cell(self, cells: list[Any], name: str) -> Any:
        index = self.mapping.get(name)
        if index is None or index >= len(cells):
            return ""
        value = cells[index]
        return value.strip() if isinstance(value, str) else value

    def check(self, cells: list[Any]) -> str:
        errors: list[str] = []
        for name, index in self.mapping.items():
            value = cells[index] if index < len(cells) else ""
            if isinstance(value, str) and "\x00" in value:
                errors.append(f"{name.replace('_', ' ').capitalize()}: contains a NUL character")
        if errors:
            raise RowErrors(errors)
        line = self._ad(cells, errors) if self.kind == AD_PERFORMANCE else self._offline(cells, errors)
        if errors:
            raise RowErrors(errors)
        return line

    # ------------------------------------------------------------------ pieces

    def _date(self, cells: list[Any], errors: list[str]) -> date | None:
        value = self._cell(cells, "date")
        if value == "":
            errors.append("Date: empty")
            return None
        try:
            return parse_date(value, self.date_order)
        except CellError as exc:
            errors.append(f"Date: {exc}")
            return None

    def _amount(self, cells: list[Any], name: str, label: str, errors: list[str], *, required: bool) -> Amount | None:
        value = self._cell(cells, name)
        if value == "":
            if required:
                errors.append(f"{label}: empty")
            return None
        try:
            amount = parse_amount(value, self.decimal_mark)
        except CellError as exc:
            errors.append(f"{label}: {exc}")
            return None
        if amount.value < 0:
            errors.append(f"{label}: {value!r} is negative")
            return None
        return amount

    def _count(self, cells: list[Any], name: str, label: str, errors: list[str]) -> int:
        value = self._cell(cells, name)
        if value == "":
            return 0
        try:
            count = parse_count(value, self.decimal_mark)
        except CellError as exc:
            errors.append(f"{label}: {exc}")
            return 0
        if count < 0:
            errors.append(f"{label}: {value!r} is negative")
        return count

    def _currency(self, cells: list[Any], amounts: dict[str, Amount | None], errors: list[str]) -> str | None:
        column = self._cell(cells, "currency")
        stated: str | None = None
        if column != "":
            try:
                stated = parse_currency(column)
            except CellError as exc:
                errors.append(f"Currency: {exc}")
                return None
        named: dict[str, str] = {}
        for name, amount in amounts.items():
            code = (amount.currency if amount else None) or self._header_currency.get(name)
            if code:
                named[name] = code
        exact = {code for code in named.values() if code not in ("$", "kr")}
        if stated is None and len(exact) == 1:
            stated = exact.pop()
        elif stated is None and len(exact) > 1:
            errors.append(f"Amounts in two currencies on one row ({', '.join(sorted(exact))})")
            return None
        if stated is None:
            families = set(named.values())
            if "$" in families:
                stated = self.default_currency if self.default_currency in _DOLLARS else "USD"
            elif "kr" in families:
                if self.default_currency not in _KRONOR:
                    errors.append("Currency: 'kr' may be SEK, NOK, DKK or ISK: add a currency column")
                    return None
                stated = self.default_currency
            else:
                stated = self.default_currency
        for name, code in named.items():
            if (code == "$" and stated not in _DOLLARS) or (code == "kr" and stated not in _KRONOR):
                errors.append(f"{name.title()}: the amount's '{code}' does not fit the currency {stated}")
            elif code not in ("$", "kr") and code != stated:
                errors.append(f"{name.title()}: the amount is in {code} but the row's currency is {stated}")
        if stated not in REPORTING_CURRENCIES:
            errors.append(f"Currency: Bosco has no exchange rates for {stated}")
            return None
        return stated

    def _cover(self, day: date) -> None:
        if self.date_from is None or day < self.date_from:
            self.date_from = day
        if self.date_to is None or day > self.date_to:
            self.date_to = day

    # ------------------------------------------------------------------ kinds

    def _ad(self, cells: list[Any], errors: list[str]) -> str:
        day = self._date(cells, errors)
        source = self._cell(cells, "source")
        source = str(source) if source != "" else self.source_name
        code = self._codes.get(source)
        if code is None:
            try:
                code = source_code(source)
            except CellError as exc:
                errors.append(f"Source: {exc}")
            else:
                self._codes[source] = code
        account = str(self._cell(cells, "account")) or self.source_name
        if len(account) > 64:
            errors.append(f"Account: longer than 64 characters ({account[:20]!r}…)")
        campaign = str(self._cell(cells, "campaign"))
        if not campaign:
            errors.append("Campaign: empty")
        elif len(campaign) > 500:
            errors.append("Campaign: a name longer than 500 characters")
        campaign_id = str(self._cell(cells, "campaign_id")) or campaign_id_for(campaign)
        if len(campaign_id) > 64:
            errors.append("Campaign id: longer than 64 characters")
        spend = self._amount(cells, "spend", "Spend", errors, required=True)
        value = self._amount(cells, "value", "Conversion value", errors, required=False)
        conversions = self._amount(cells, "conversions", "Conversions", errors, required=False)
        if conversions and conversions.currency:
            errors.append("Conversions: a count, not an amount of money")
        impressions = self._count(cells, "impressions", "Impressions", errors)
        clicks = self._count(cells, "clicks", "Clicks", errors)
        currency = self._currency(cells, {"spend": spend, "value": value}, errors)
        if code and currency and not errors:
            known = self._account_currency.setdefault((code, account), currency)
            if known != currency:
                errors.append(
                    f"Currency: account {account!r} has amounts in {known} on earlier rows; one account has one currency"
                )
        if errors or day is None or code is None or spend is None or currency is None:
            return ""
        self._cover(day)
        self.sources.setdefault(code, source)
        return "\t".join(
            (
                _tsv(f"{code}|{account}|{day.isoformat()}|{campaign_id}"),
                _tsv(account),
                day.isoformat(),
                code,
                _tsv(campaign_id),
                _tsv(campaign),
                str(impressions),
                str(clicks),
                str(to_micros(spend.value)),
                str(to_micros(conversions.value if conversions else Decimal(0))),
                str(to_micros(value.value if value else Decimal(0))),
                currency,
                _tsv(self.time_zone),
            )
        )

    def _offline(self, cells: list[Any], errors: list[str]) -> str:
        day = self._date(cells, errors)
        campaign = str(self._cell(cells, "campaign"))
        target: CampaignTarget | None = None
        if not campaign:
            errors.append("Campaign: empty (Bosco matches offline conversions to campaigns, not click ids)")
        else:
            found = self._by_id.get(campaign) or self._by_name.get(campaign.casefold(), [])
            if not found:
                errors.append(f"Campaign: no synced campaign is named or numbered {campaign!r}")
            elif len(found) > 1:
                errors.append(f"Campaign: {len(found)} campaigns are named {campaign!r}; use the campaign id")
            else:
                target = found[0]
        if "conversions" in self.mapping:
            conversions = self._amount(cells, "conversions", "Conversions", errors, required=True)
        else:
            conversions = Amount(Decimal(1), None)
        value = self._amount(cells, "value", "Conversion value", errors, required=False)
        currency = self._currency(cells, {"value": value}, errors)
        if target and currency and value and value.value and target.currency and currency != target.currency:
            errors.append(
                f"Currency: the value is in {currency} but campaign {campaign!r} reports in {target.currency}"
            )
        if errors or day is None or target is None or conversions is None:
            return ""
        self._cover(day)
        code = next(iter(self.sources))
        return "\t".join(
            (
                _tsv(f"{code}|{target.platform}|{target.account_id}|{day.isoformat()}|{target.campaign_id}"),
                _tsv(target.account_id),
                day.isoformat(),
                target.platform,
                _tsv(target.campaign_id),
                code,
                str(to_micros(conversions.value)),
                str(to_micros(value.value if value else Decimal(0))),
                target.currency or currency or "",
            )
        )
