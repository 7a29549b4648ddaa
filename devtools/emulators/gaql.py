"""A small, strict parser for the Google Ads Query Language (GAQL).

Strict on purpose: a connector that sends a field the emulator does not know, or an open-ended
date range with `segments.date`, must fail here the way it fails against Google, with the same
`queryError` codes, instead of silently getting data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from devtools.emulators.datagen import ACCOUNT, AD_GROUP, CAMPAIGN, GOOGLE_CHANNELS


class GaqlError(Exception):
    """A query error, rendered as a GoogleAdsFailure with `errorCode.queryError`."""

    def __init__(self, code: str, message: str, trigger: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.trigger = trigger


@dataclass(frozen=True)
class FieldDef:
    """A selectable field: its GAQL name, JSON placement and wire type."""

    name: str
    kind: str  # int64 | double | string | enum | bool | date | resource_name
    number: int  # proto field number; the REST JSON lists fields in this order
    enum_values: tuple[str, ...] = ()

    @property
    def resource(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def category(self) -> str:
        if self.resource == "metrics":
            return "metric"
        if self.resource == "segments":
            return "segment"
        return "attribute"

    @property
    def json_resource(self) -> str:
        return camel(self.resource)

    @property
    def json_name(self) -> str:
        return camel(self.name.split(".", 1)[1])

    @property
    def mask_path(self) -> str:
        return ".".join(camel(p) for p in self.name.split("."))


def camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


_STATUS = ("UNSPECIFIED", "UNKNOWN", "ENABLED", "PAUSED", "REMOVED")
_AD_GROUP_TYPES = (
    "UNSPECIFIED",
    "UNKNOWN",
    "SEARCH_STANDARD",
    "DISPLAY_STANDARD",
    "SHOPPING_PRODUCT_ADS",
    "VIDEO_RESPONSIVE",
)
_CHANNELS = ("UNSPECIFIED", "UNKNOWN", *GOOGLE_CHANNELS, "DEMAND_GEN", "LOCAL", "SMART", "HOTEL")

FIELDS: dict[str, FieldDef] = {
    f.name: f
    for f in (
        FieldDef("customer.resource_name", "resource_name", 1),
        FieldDef("customer.id", "int64", 19),
        FieldDef("customer.descriptive_name", "string", 20),
        FieldDef("customer.currency_code", "string", 21),
        FieldDef("customer.time_zone", "string", 22),
        FieldDef("customer.auto_tagging_enabled", "bool", 24),
        FieldDef("customer.manager", "bool", 27),
        FieldDef("customer.test_account", "bool", 28),
        FieldDef(
            "customer.status", "enum", 36, ("UNSPECIFIED", "UNKNOWN", "ENABLED", "CANCELED", "SUSPENDED", "CLOSED")
        ),
        FieldDef("campaign.resource_name", "resource_name", 1),
        FieldDef("campaign.status", "enum", 5, _STATUS),
        FieldDef("campaign.advertising_channel_type", "enum", 9, _CHANNELS),
        FieldDef("campaign.name", "string", 58),
        FieldDef("campaign.id", "int64", 59),
        FieldDef("ad_group.resource_name", "resource_name", 1),
        FieldDef("ad_group.status", "enum", 5, _STATUS),
        FieldDef("ad_group.type", "enum", 12, _AD_GROUP_TYPES),
        FieldDef("ad_group.id", "int64", 34),
        FieldDef("ad_group.name", "string", 35),
        FieldDef("ad_group.campaign", "resource_name", 37),
        FieldDef("metrics.clicks", "int64", 131),
        FieldDef("metrics.ctr", "double", 133),
        FieldDef("metrics.average_cpc", "double", 203),
        FieldDef("metrics.impressions", "int64", 221),
        FieldDef("metrics.conversions", "double", 251),
        FieldDef("metrics.conversions_value", "double", 252),
        FieldDef("metrics.cost_micros", "int64", 316),
        FieldDef("segments.date", "date", 79),
    )
}

# FROM resource → report level, and which attribute resources may be selected with it.
RESOURCE_LEVEL = {"customer": ACCOUNT, "campaign": CAMPAIGN, "ad_group": AD_GROUP}
SELECTABLE_WITH = {
    "customer": ("customer",),
    "campaign": ("campaign", "customer"),
    "ad_group": ("ad_group", "campaign", "customer"),
}
# GoogleAdsRow field numbers: the JSON row lists resources in this order.
ROW_ORDER = ("customer", "campaign", "ad_group", "metrics", "segments")

_KNOWN_RESOURCES_NOT_EMULATED = frozenset(
    {
        "ad_group_ad",
        "keyword_view",
        "ad_group_criterion",
        "campaign_budget",
        "search_term_view",
        "customer_client",
        "geographic_view",
        "shopping_performance_view",
        "asset_group",
        "click_view",
        "user_location_view",
        "conversion_action",
        "bidding_strategy",
        "label",
        "change_event",
    }
)

DURING_LITERALS = frozenset(
    {
        "TODAY",
        "YESTERDAY",
        "LAST_7_DAYS",
        "LAST_14_DAYS",
        "LAST_30_DAYS",
        "LAST_BUSINESS_WEEK",
        "THIS_MONTH",
        "LAST_MONTH",
        "THIS_WEEK_SUN_TODAY",
        "THIS_WEEK_MON_TODAY",
        "LAST_WEEK_SUN_SAT",
        "LAST_WEEK_MON_SUN",
    }
)

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?(?![A-Za-z_]))
      | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
      | (?P<op>!=|>=|<=|=|>|<|\(|\)|,)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # string | number | ident | op | end
    text: str
    value: Any = None

    def is_kw(self, *words: str) -> bool:
        return self.kind == "ident" and self.text.upper() in words


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # = != > >= < <= IN NOT_IN LIKE NOT_LIKE BETWEEN DURING IS_NULL IS_NOT_NULL
    value: Any = None


@dataclass(frozen=True)
class Ordering:
    field: str
    descending: bool


@dataclass
class Query:
    select: list[str]
    resource: str
    where: list[Condition] = field(default_factory=list)
    order_by: list[Ordering] = field(default_factory=list)
    limit: int | None = None

    @property
    def level(self) -> str:
        return RESOURCE_LEVEL[self.resource]

    @property
    def metrics(self) -> list[str]:
        return [f for f in self.select if f.startswith("metrics.")]

    @property
    def has_date_segment(self) -> bool:
        return "segments.date" in self.select

    def field_mask(self) -> str:
        return ",".join(FIELDS[f].mask_path for f in self.select)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None:
            rest = text[pos:].lstrip()
            if rest[:1] in ("'", '"'):
                raise GaqlError("STRING_NOT_TERMINATED", "Error in query: string literal is not terminated.", rest[:20])
            raise GaqlError("UNEXPECTED_INPUT", f"Error in query: unexpected input {rest[:1]}.", rest[:1])
        pos = m.end()
        if m.group("string") is not None:
            raw = m.group("string")
            tokens.append(Token("string", raw, re.sub(r"\\(.)", r"\1", raw[1:-1])))
        elif m.group("number") is not None:
            raw = m.group("number")
            tokens.append(Token("number", raw, float(raw) if "." in raw else int(raw)))
        elif m.group("ident") is not None:
            tokens.append(Token("ident", m.group("ident")))
        else:
            tokens.append(Token("op", m.group("op")))
    tokens.append(Token("end", ""))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def next(self) -> Token:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def unexpected(self, tok: Token) -> GaqlError:
        if tok.kind == "end":
            return GaqlError("UNEXPECTED_END_OF_QUERY", "Error in query: unexpected end of query.")
        return GaqlError("UNEXPECTED_INPUT", f"Error in query: unexpected input {tok.text}.", tok.text)

    def field_name(self) -> str:
        tok = self.next()
        if tok.kind != "ident" or tok.is_kw("FROM", "WHERE", "ORDER", "LIMIT", "AND", "SELECT"):
            raise self.unexpected(tok)
        return tok.text

    def parse(self) -> Query:
        if not self.next().is_kw("SELECT"):
            raise GaqlError("EXPECTED_SELECT", "Error in query: expected SELECT.")
        select = [self.field_name()]
        while self.peek().kind == "op" and self.peek().text == ",":
            self.next()
            select.append(self.field_name())
        if not self.next().is_kw("FROM"):
            raise GaqlError("EXPECTED_FROM", "Error in query: expected FROM.")
        res_tok = self.next()
        if res_tok.kind != "ident":
            raise self.unexpected(res_tok)
        query = Query(select=select, resource=res_tok.text)
        if self.peek().is_kw("WHERE"):
            self.next()
            query.where.append(self.condition())
            while self.peek().is_kw("AND"):
                self.next()
                query.where.append(self.condition())
        if self.peek().is_kw("ORDER"):
            self.next()
            if not self.next().is_kw("BY"):
                raise GaqlError("EXPECTED_BY", "Error in query: expected BY after ORDER.")
            query.order_by.append(self.ordering())
            while self.peek().kind == "op" and self.peek().text == ",":
                self.next()
                query.order_by.append(self.ordering())
        if self.peek().is_kw("LIMIT"):
            self.next()
            tok = self.next()
            if tok.kind != "number" or not isinstance(tok.value, int) or tok.value <= 0:
                raise GaqlError("BAD_LIMIT_VALUE", "Error in query: LIMIT must be a positive integer.", tok.text)
            query.limit = tok.value
        if self.peek().is_kw("PARAMETERS"):
            self.next()
            self.parameters()
        tail = self.peek()
        if tail.kind != "end":
            raise self.unexpected(tail)
        return query

    def parameters(self) -> None:
        while True:
            name = self.next()
            if not name.is_kw("INCLUDE_DRAFTS", "OMIT_UNSELECTED_RESOURCE_NAMES"):
                raise GaqlError("BAD_PARAMETER_NAME", f"Error in query: bad parameter name {name.text}.", name.text)
            eq = self.next()
            value = self.next()
            if eq.text != "=" or not value.is_kw("TRUE", "FALSE"):
                raise GaqlError("BAD_PARAMETER_VALUE", "Error in query: bad parameter value.", value.text)
            if not (self.peek().kind == "op" and self.peek().text == ","):
                return
            self.next()

    def ordering(self) -> Ordering:
        name = self.field_name()
        desc = False
        if self.peek().is_kw("ASC", "DESC"):
            desc = self.next().text.upper() == "DESC"
        return Ordering(name, desc)

    def value(self) -> Any:
        tok = self.next()
        if tok.kind in ("string", "number"):
            return tok.value
        if tok.kind == "ident" and not tok.is_kw("AND", "ORDER", "LIMIT"):
            return _Ident(tok.text)
        raise self.unexpected(tok)

    def value_list(self) -> list[Any]:
        tok = self.next()
        if not (tok.kind == "op" and tok.text == "("):
            raise GaqlError("EXPECTED_LIST", "Error in query: the operator requires a list value.", tok.text)
        values = [self.value()]
        while self.peek().kind == "op" and self.peek().text == ",":
            self.next()
            values.append(self.value())
        close = self.next()
        if not (close.kind == "op" and close.text == ")"):
            raise self.unexpected(close)
        return values

    def condition(self) -> Condition:
        name = self.field_name()
        tok = self.next()
        if tok.kind == "op" and tok.text in ("=", "!=", ">", ">=", "<", "<="):
            return Condition(name, tok.text, self.value())
        if tok.is_kw("IN"):
            return Condition(name, "IN", self.value_list())
        if tok.is_kw("NOT"):
            nxt = self.next()
            if nxt.is_kw("IN"):
                return Condition(name, "NOT_IN", self.value_list())
            if nxt.is_kw("LIKE"):
                return Condition(name, "NOT_LIKE", self.value())
            raise GaqlError("BAD_OPERATOR", f"Error in query: bad operator NOT {nxt.text}.", nxt.text)
        if tok.is_kw("LIKE"):
            return Condition(name, "LIKE", self.value())
        if tok.is_kw("BETWEEN"):
            low = self.value()
            if not self.next().is_kw("AND"):
                raise GaqlError("EXPECTED_AND", "Error in query: expected AND between values with BETWEEN operator.")
            return Condition(name, "BETWEEN", (low, self.value()))
        if tok.is_kw("DURING"):
            lit = self.next()
            if lit.kind != "ident" or lit.text.upper() not in DURING_LITERALS:
                raise GaqlError(
                    "INVALID_VALUE_WITH_DURING_OPERATOR",
                    f"Error in query: invalid value with DURING operator: {lit.text}.",
                    lit.text,
                )
            return Condition(name, "DURING", lit.text.upper())
        if tok.is_kw("IS"):
            nxt = self.next()
            if nxt.is_kw("NULL"):
                return Condition(name, "IS_NULL")
            if nxt.is_kw("NOT") and self.next().is_kw("NULL"):
                return Condition(name, "IS_NOT_NULL")
            raise GaqlError("BAD_OPERATOR", "Error in query: bad operator after IS.")
        if tok.is_kw("CONTAINS", "REGEXP_MATCH"):
            raise GaqlError("BAD_OPERATOR", f"Error in query: operator {tok.text} is not supported for this field.")
        raise GaqlError("BAD_OPERATOR", f"Error in query: bad operator {tok.text}.", tok.text)


@dataclass(frozen=True)
class _Ident:
    """An unquoted literal (enum constant, TRUE/FALSE)."""

    text: str


def _check_field(name: str) -> FieldDef:
    fdef = FIELDS.get(name)
    if fdef is None:
        raise GaqlError("UNRECOGNIZED_FIELD", f"Unrecognized field in the query: '{name}'.", name)
    return fdef


def _typed_value(fdef: FieldDef, value: Any) -> Any:
    """Check a literal against the field type and return it in comparable form."""
    if fdef.kind in ("int64", "double"):
        if isinstance(value, _Ident | bool):
            raise GaqlError("BAD_NUMBER", f"Error in query: bad number for {fdef.name}.", str(value))
        try:
            return int(value) if fdef.kind == "int64" and not isinstance(value, float) else float(value)
        except ValueError as exc:
            raise GaqlError("BAD_NUMBER", f"Error in query: bad number for {fdef.name}.", str(value)) from exc
    if fdef.kind == "enum":
        text = value.text if isinstance(value, _Ident) else str(value)
        if text not in fdef.enum_values:
            raise GaqlError(
                "BAD_ENUM_CONSTANT", f"Error in query: invalid enum constant '{text}' for {fdef.name}.", text
            )
        return text
    if fdef.kind == "bool":
        text = value.text if isinstance(value, _Ident) else str(value)
        if text.upper() not in ("TRUE", "FALSE"):
            raise GaqlError("BAD_VALUE", f"Error in query: bad value for {fdef.name}.", text)
        return text.upper() == "TRUE"
    if fdef.kind == "date":
        if not isinstance(value, str):
            raise GaqlError("INVALID_DATE_FORMAT", "Error in query: dates must be quoted 'YYYY-MM-DD'.", str(value))
        try:
            return date.fromisoformat(value) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else _bad_date(value)
        except ValueError:
            return _bad_date(value)
    if isinstance(value, _Ident):
        raise GaqlError(
            "INVALID_STRING_VALUE", f"Error in query: string values must be quoted: {value.text}.", value.text
        )
    return str(value)


def _bad_date(value: str) -> date:
    raise GaqlError("INVALID_DATE_FORMAT", f"Error in query: invalid date '{value}', expected 'YYYY-MM-DD'.", value)


def parse_query(text: str) -> Query:
    """Parse and validate `text`; raises GaqlError with Google's queryError codes."""
    if not text or not text.strip():
        raise GaqlError("UNEXPECTED_END_OF_QUERY", "Error in query: unexpected end of query.")
    query = _Parser(text).parse()
    resource = query.resource
    if resource not in RESOURCE_LEVEL:
        if resource in _KNOWN_RESOURCES_NOT_EMULATED:
            raise GaqlError(
                "PROHIBITED_RESOURCE_TYPE_IN_FROM_CLAUSE",
                f"The emulator does not serve resource '{resource}'.",
                resource,
            )
        raise GaqlError(
            "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
            f"Error in query: invalid resource '{resource}' in FROM clause.",
            resource,
        )
    allowed = SELECTABLE_WITH[resource]
    for name in query.select:
        fdef = _check_field(name)
        if fdef.category == "attribute" and fdef.resource not in allowed:
            raise GaqlError(
                "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE",
                f"Cannot select fields from the following resource: '{fdef.resource}', "
                f"since the resource is incompatible with the resource in FROM clause.",  # nosec B608 # an error message, not SQL
                fdef.resource,
            )
    # Google answers a field selected twice once; keep the first position.
    query.select = list(dict.fromkeys(query.select))
    typed: list[Condition] = []
    for cond in query.where:
        fdef = _check_field(cond.field)
        if fdef.category == "attribute" and fdef.resource not in allowed:
            raise GaqlError(
                "PROHIBITED_RESOURCE_TYPE_IN_WHERE_CLAUSE",
                f"Cannot filter on resource '{fdef.resource}' when selecting from '{resource}'.",
                fdef.resource,
            )
        typed.append(_type_condition(fdef, cond))
    query.where = typed
    for order in query.order_by:
        fdef = _check_field(order.field)
        if fdef.category == "attribute" and fdef.resource not in allowed:
            raise GaqlError("PROHIBITED_FIELD_IN_ORDER_BY_CLAUSE", f"Cannot order by '{order.field}'.", order.field)
    if query.has_date_segment and not _has_finite_date_range(query.where):
        raise GaqlError(
            "EXPECTED_FILTERS_ON_DATE_RANGE",
            "Missing filters on date related fields: segments.date requires a finite date range "
            "in the WHERE clause (BETWEEN, DURING, or both >= and <=).",
        )
    return query


def _type_condition(fdef: FieldDef, cond: Condition) -> Condition:
    op = cond.op
    if op in ("IS_NULL", "IS_NOT_NULL"):
        return cond
    if op in ("IN", "NOT_IN"):
        if not cond.value:
            raise GaqlError("PROHIBITED_EMPTY_LIST_IN_CONDITION", "Error in query: empty list.")
        return Condition(cond.field, op, [_typed_value(fdef, v) for v in cond.value])
    if op == "BETWEEN":
        low, high = cond.value
        return Condition(cond.field, op, (_typed_value(fdef, low), _typed_value(fdef, high)))
    if op == "DURING":
        if fdef.kind != "date":
            raise GaqlError("OPERATOR_FIELD_MISMATCH", f"Error in query: DURING cannot be used with {fdef.name}.")
        return cond
    if op in ("LIKE", "NOT_LIKE"):
        if fdef.kind not in ("string", "resource_name"):
            raise GaqlError("OPERATOR_FIELD_MISMATCH", f"Error in query: LIKE cannot be used with {fdef.name}.")
        if not isinstance(cond.value, str):
            raise GaqlError("INVALID_VALUE_WITH_LIKE_OPERATOR", "Error in query: LIKE needs a quoted pattern.")
        return cond
    if op in (">", ">=", "<", "<=") and fdef.kind in ("enum", "bool", "resource_name"):
        raise GaqlError("OPERATOR_FIELD_MISMATCH", f"Error in query: operator {op} cannot be used with {fdef.name}.")
    return Condition(cond.field, op, _typed_value(fdef, cond.value))


def _has_finite_date_range(where: list[Condition]) -> bool:
    lower = upper = False
    for cond in where:
        if cond.field != "segments.date":
            continue
        if cond.op in ("BETWEEN", "DURING", "=", "IN"):
            return True
        if cond.op in (">", ">="):
            lower = True
        if cond.op in ("<", "<="):
            upper = True
    return lower and upper


def during_range(literal: str, today: date) -> tuple[date, date]:
    """Resolve a DURING literal against the account's today (LAST_N_DAYS excludes today)."""
    one = timedelta(days=1)
    if literal == "TODAY":
        return today, today
    if literal == "YESTERDAY":
        return today - one, today - one
    if literal.startswith("LAST_") and literal.endswith("_DAYS"):
        n = int(literal.split("_")[1])
        return today - timedelta(days=n), today - one
    if literal == "THIS_MONTH":
        return today.replace(day=1), today
    if literal == "LAST_MONTH":
        last = today.replace(day=1) - one
        return last.replace(day=1), last
    if literal == "THIS_WEEK_MON_TODAY":
        return today - timedelta(days=today.weekday()), today
    if literal == "THIS_WEEK_SUN_TODAY":
        return today - timedelta(days=(today.weekday() + 1) % 7), today
    if literal == "LAST_WEEK_MON_SUN":
        monday = today - timedelta(days=today.weekday() + 7)
        return monday, monday + timedelta(days=6)
    if literal == "LAST_WEEK_SUN_SAT":
        sunday = today - timedelta(days=(today.weekday() + 1) % 7 + 7)
        return sunday, sunday + timedelta(days=6)
    if literal == "LAST_BUSINESS_WEEK":
        monday = today - timedelta(days=today.weekday() + 7)
        return monday, monday + timedelta(days=4)
    raise GaqlError("INVALID_VALUE_WITH_DURING_OPERATOR", f"Error in query: invalid DURING value {literal}.")


def date_bounds(query: Query, today: date, history_start: date) -> tuple[date, date]:
    """The smallest [since, until] covering every date condition (all time when unfiltered)."""
    lo, hi = history_start, today
    for cond in query.where:
        if cond.field != "segments.date":
            continue
        if cond.op == "BETWEEN":
            lo, hi = max(lo, cond.value[0]), min(hi, cond.value[1])
        elif cond.op == "DURING":
            a, b = during_range(cond.value, today)
            lo, hi = max(lo, a), min(hi, b)
        elif cond.op == "=":
            lo, hi = max(lo, cond.value), min(hi, cond.value)
        elif cond.op == "IN":
            lo, hi = max(lo, min(cond.value)), min(hi, max(cond.value))
        elif cond.op == ">=":
            lo = max(lo, cond.value)
        elif cond.op == ">":
            lo = max(lo, cond.value + timedelta(days=1))
        elif cond.op == "<=":
            hi = min(hi, cond.value)
        elif cond.op == "<":
            hi = min(hi, cond.value - timedelta(days=1))
    return lo, hi
