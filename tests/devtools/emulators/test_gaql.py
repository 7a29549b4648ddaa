"""The GAQL parser is strict: connectors learn Google's errors here, not in production."""

from __future__ import annotations

from datetime import date

import pytest

from devtools.emulators.gaql import GaqlError, date_bounds, during_range, parse_query


def _code(text: str) -> str:
    with pytest.raises(GaqlError) as info:
        parse_query(text)
    return info.value.code


def test_parses_the_daily_performance_query() -> None:
    q = parse_query(
        "select campaign.id, metrics.cost_micros, segments.date from campaign "
        "where segments.date between '2026-11-01' and '2026-11-07' and campaign.status != 'REMOVED' "
        "order by segments.date desc, campaign.id limit 100"
    )
    assert q.resource == "campaign"
    assert q.select == ["campaign.id", "metrics.cost_micros", "segments.date"]
    assert [c.op for c in q.where] == ["BETWEEN", "!="]
    assert q.where[0].value == (date(2026, 11, 1), date(2026, 11, 7))
    assert [(o.field, o.descending) for o in q.order_by] == [("segments.date", True), ("campaign.id", False)]
    assert q.limit == 100
    assert q.field_mask() == "campaign.id,metrics.costMicros,segments.date"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("SELECT campaign.foo FROM campaign", "UNRECOGNIZED_FIELD"),
        ("SELECT campaign.id FROM campaign WHERE metrics.nope > 1", "UNRECOGNIZED_FIELD"),
        ("SELECT ad_group.name FROM campaign", "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE"),
        ("SELECT campaign.id FROM nonsense", "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE"),
        ("SELECT campaign.id FROM keyword_view", "PROHIBITED_RESOURCE_TYPE_IN_FROM_CLAUSE"),
        ("SELECT campaign.id, segments.date FROM campaign", "EXPECTED_FILTERS_ON_DATE_RANGE"),
        (
            "SELECT segments.date, metrics.clicks FROM campaign WHERE segments.date >= '2026-01-01'",
            "EXPECTED_FILTERS_ON_DATE_RANGE",
        ),
        ("SELECT campaign.id FROM campaign WHERE segments.date BETWEEN '2026-01-01' '2026-02-01'", "EXPECTED_AND"),
        (
            "SELECT campaign.id FROM campaign WHERE segments.date DURING LAST_5_WEEKS",
            "INVALID_VALUE_WITH_DURING_OPERATOR",
        ),
        ("SELECT campaign.id FROM campaign WHERE segments.date = '2026/01/01'", "INVALID_DATE_FORMAT"),
        ("SELECT campaign.id FROM campaign WHERE campaign.status = 'RUNNING'", "BAD_ENUM_CONSTANT"),
        ("SELECT campaign.id FROM campaign WHERE campaign.id IN 1, 2", "EXPECTED_LIST"),
        ("SELECT campaign.id FROM campaign WHERE campaign.name = unquoted", "INVALID_STRING_VALUE"),
        ("SELECT campaign.id FROM campaign LIMIT 0", "BAD_LIMIT_VALUE"),
        ("SELECT campaign.id FROM campaign ORDER campaign.id", "EXPECTED_BY"),
        ("campaign.id FROM campaign", "EXPECTED_SELECT"),
        ("SELECT campaign.id campaign", "EXPECTED_FROM"),
        ("SELECT campaign.id FROM campaign WHERE", "UNEXPECTED_END_OF_QUERY"),
        ("SELECT campaign.id FROM campaign WHERE campaign.name = 'open", "STRING_NOT_TERMINATED"),
        ("SELECT campaign.id FROM campaign extra", "UNEXPECTED_INPUT"),
        ("SELECT campaign.id FROM campaign WHERE campaign.status > 'ENABLED'", "OPERATOR_FIELD_MISMATCH"),
    ],
)
def test_rejects_invalid_queries_with_googles_codes(query: str, code: str) -> None:
    assert _code(query) == code


def test_unknown_field_message_matches_google() -> None:
    with pytest.raises(GaqlError) as info:
        parse_query("SELECT campaign.foo FROM campaign")
    assert info.value.message == "Unrecognized field in the query: 'campaign.foo'."


def test_open_range_on_both_sides_is_finite() -> None:
    q = parse_query(
        "SELECT segments.date, metrics.clicks FROM campaign "
        "WHERE segments.date >= '2026-11-01' AND segments.date <= '2026-11-05'"
    )
    assert date_bounds(q, date(2026, 11, 20), date(2023, 10, 20)) == (date(2026, 11, 1), date(2026, 11, 5))


def test_during_last_n_days_excludes_today() -> None:
    assert during_range("LAST_7_DAYS", date(2026, 11, 20)) == (date(2026, 11, 13), date(2026, 11, 19))
    assert during_range("TODAY", date(2026, 11, 20)) == (date(2026, 11, 20), date(2026, 11, 20))
    assert during_range("LAST_MONTH", date(2026, 11, 20)) == (date(2026, 10, 1), date(2026, 10, 31))


def test_duplicate_fields_are_served_once_and_enums_may_be_unquoted() -> None:
    q = parse_query("SELECT campaign.id, campaign.id FROM campaign WHERE campaign.status IN (ENABLED, PAUSED)")
    assert q.select == ["campaign.id"]
    assert q.where[0].value == ["ENABLED", "PAUSED"]


def test_parameters_clause_is_understood() -> None:
    q = parse_query("SELECT campaign.id FROM campaign PARAMETERS include_drafts=true")
    assert q.resource == "campaign"
