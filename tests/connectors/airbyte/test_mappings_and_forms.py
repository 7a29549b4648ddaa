"""Mappings tested on records of the schemas the marketing packages ship; forms from real specs.

`schemas/*.json` are copies of stream schemas inside the published wheels (airbyte-source-
linkedin-ads 5.4.1, -pinterest 2.1.12, -snapchat-marketing 1.2.12, -bing-ads 2.22.0, -amazon-ads
7.2.3) and the file source's spec (0.5.46); each file says where it came from.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.http import QueryDict

from connectors.airbyte import protocol
from connectors.airbyte.forms import UnsupportedSpec, config_from, config_merge, spec_form_class
from connectors.airbyte.mappings import MAPPINGS, mapping_for, unified_row
from connectors.airbyte.registry import SOURCES
from tests.connectors.airbyte.conftest import schema

SCHEMA_FILES = {
    "linkedin_ads": "linkedin_ads.ad_campaign_analytics",
    "pinterest": "pinterest.campaign_analytics",
    "snapchat_marketing": "snapchat_marketing.campaigns_stats_daily",
    "bing_ads": "bing_ads.campaign_performance_report_daily",
    "amazon_ads": "amazon_ads.sponsored_products_campaigns_report_stream_daily",
}

# One record per source, written in each package's schema (field names and JSON types as shipped).
RECORDS = {
    "linkedin_ads": {
        "start_date": "2026-11-03",
        "end_date": "2026-11-03",
        "pivotValues": ["urn:li:sponsoredCampaign:123456"],
        "string_of_pivot_values": "urn:li:sponsoredCampaign:123456",
        "costInLocalCurrency": 41.27,
        "costInUsd": 44.1,
        "impressions": 5321.0,
        "clicks": 77.0,
        "externalWebsiteConversions": 3.0,
        "conversionValueInLocalCurrency": 150.0,
    },
    "pinterest": {
        "DATE": "2026-11-03",
        "CAMPAIGN_ID": 626744128956,  # a number in the shipped schema
        "CAMPAIGN_NAME": "Holiday boards",
        "SPEND_IN_MICRO_DOLLAR": 12_340_000,
        "SPEND_IN_DOLLAR": 12.34,
        "IMPRESSION_1": 2000,
        "CLICKTHROUGH_1": 40,
        "TOTAL_CONVERSIONS": 2,
        "TOTAL_CHECKOUT_VALUE_IN_MICRO_DOLLAR": 99_990_000,
    },
    "snapchat_marketing": {
        "id": "0b4fb2e8-4a3b-4a4c-9e2e-2b2c3f8c2e11",
        "type": "CAMPAIGN",
        "granularity": "DAY",
        "start_time": "2026-11-03T00:00:00.000-08:00",
        "end_time": "2026-11-04T00:00:00.000-08:00",
        "spend": 5_250_000,
        "impressions": 900,
        "swipes": 12,
        "conversion_purchases": 1,
        "conversion_purchases_value": 30_000_000,
    },
    "bing_ads": {
        "AccountId": 180000001,
        "CampaignId": 412345678,
        "CampaignName": "Search – brand",
        "TimePeriod": "2026-11-03",
        "CurrencyCode": "usd",
        "Spend": 18.4,
        "Impressions": 1400,
        "Clicks": 61,
        "Conversions": 4.0,
        "Revenue": 210.5,
        "DeviceType": "Computer",
    },
    "amazon_ads": {
        "date": "2026-11-03",
        "profileId": 3377771,
        "campaignId": 287654321,
        "campaignName": "SP auto",
        "cost": 7.77,
        "impressions": 350,
        "clicks": 9,
        "purchases7d": 2,
        "sales7d": 59.98,
    },
}

EXPECTED = {
    "linkedin_ads": ("123456", None, "41.27", "5321", "77", "3", "150", None),
    "pinterest": ("626744128956", "Holiday boards", "12.34", "2000", "40", "2", "99.99", None),
    "snapchat_marketing": ("0b4fb2e8-4a3b-4a4c-9e2e-2b2c3f8c2e11", None, "5.25", "900", "12", "1", "30", None),
    "bing_ads": ("412345678", "Search – brand", "18.4", "1400", "61", "4", "210.5", "USD"),
    "amazon_ads": ("287654321", "SP auto", "7.77", "350", "9", "2", "59.98", None),
}


@pytest.mark.parametrize("source", sorted(SCHEMA_FILES))
def test_every_mapped_field_exists_in_the_schema_the_package_ships(source) -> None:
    properties = schema(SCHEMA_FILES[source])["properties"]
    ((stream, mapping),) = MAPPINGS[source].items()
    for name, spec in vars(mapping).items():
        if spec is None:
            continue
        root = spec.partition("|")[0].split(".")[0]
        assert root in properties, f"{source}.{stream}: {name} reads {root!r}, which the package's schema lacks"
    for field, value in RECORDS[source].items():
        assert field in properties, f"the test record of {source} uses {field!r}, not in the schema"
        declared = properties[field].get("type")
        declared = declared if isinstance(declared, list) else [declared]
        kind = {str: "string", int: "integer", float: "number", list: "array"}[type(value)]
        assert kind in declared or (kind == "integer" and "number" in declared), (source, field, declared)


@pytest.mark.parametrize("source", sorted(SCHEMA_FILES))
def test_records_of_the_shipped_schemas_map_to_the_unified_shape(source) -> None:
    ((stream, _),) = MAPPINGS[source].items()
    assert stream in SOURCES[source].default_streams
    day, row = unified_row(mapping_for(source, stream), RECORDS[source])
    assert day == date(2026, 11, 3) and row["date"] == "2026-11-03"
    got = tuple(
        row[k]
        for k in ("campaign_id", "campaign_name", "spend", "impressions", "clicks", "conversions", "value", "currency")
    )
    assert got == EXPECTED[source]


def test_unreadable_values_stay_empty_for_the_warehouse_to_quarantine() -> None:
    day, row = unified_row(
        mapping_for("bing_ads", "campaign_performance_report_daily"),
        {"TimePeriod": "not a day", "Spend": "NaN", "Clicks": True},
    )
    assert day is None and row["date"] is None and row["spend"] is None and row["clicks"] is None


def test_the_form_of_the_file_sources_spec_and_its_config() -> None:
    spec = schema("file.spec")["connectionSpecification"]
    form_class, plan = spec_form_class(spec)
    local = next(i for i, v in enumerate(plan.one_of["provider"]) if v.const_value == "local")
    s3 = next(i for i, v in enumerate(plan.one_of["provider"]) if v.const_value == "S3")
    data = QueryDict(mutable=True)
    data.update({"dataset_name": "ad_performance", "format": "csv", "url": "/data/ads.csv", "provider": str(local)})
    form = form_class(data)
    assert form.is_valid(), form.errors
    config, secrets = config_from(form, plan)
    assert config == {
        "dataset_name": "ad_performance",
        "format": "csv",
        "url": "/data/ads.csv",
        "provider": {"storage": "local"},
    }
    assert secrets == {}
    assert "provider.1.service_account_json" in plan.secrets  # GCS's key is a password field
    data.update(
        {"provider": str(s3), f"provider.{s3}.aws_access_key_id": "AKIA", f"provider.{s3}.aws_secret_access_key": "shh"}
    )
    form = form_class(data)
    assert form.is_valid()
    config, secrets = config_from(form, plan)
    assert config["provider"] == {"storage": "S3", "aws_access_key_id": "AKIA"}
    assert secrets == {"provider/aws_secret_access_key": "shh"}
    assert config_merge(config, secrets)["provider"]["aws_secret_access_key"] == "shh"
    assert 'type="password"' in str(form[f"provider.{s3}.aws_secret_access_key"])


def test_every_json_schema_kind_the_bridge_supports_makes_a_field() -> None:
    spec = {
        "type": "object",
        "required": ["name", "account"],
        "properties": {
            "name": {"type": "string", "pattern": "^[a-z]+$"},
            "limit": {"type": "integer", "minimum": 1, "maximum": 10},
            "ratio": {"type": "number"},
            "verbose": {"type": "boolean"},
            "level": {"type": "string", "enum": ["low", "high"]},
            "ids": {"type": "array", "items": {"type": "string"}},
            "metrics": {"type": "array", "items": {"type": "string", "enum": ["spend", "clicks"]}},
            "account": {
                "type": "object",
                "required": ["id"],
                "properties": {"id": {"type": "string"}, "token": {"type": "string", "airbyte_secret": True}},
            },
        },
    }
    form_class, plan = spec_form_class(spec)
    form = form_class(
        {
            "name": "acme",
            "limit": "3",
            "ratio": "0.5",
            "verbose": "on",
            "level": "high",
            "ids": "a\nb\n",
            "metrics": ["clicks"],
            "account.id": "42",
            "account.token": "t0k",
        }
    )
    assert form.is_valid(), form.errors
    config, secrets = config_from(form, plan)
    assert config == {
        "name": "acme",
        "limit": 3,
        "ratio": 0.5,
        "verbose": True,
        "level": "high",
        "ids": ["a", "b"],
        "metrics": ["clicks"],
        "account": {"id": "42"},
    }
    assert secrets == {"account/token": "t0k"}
    bad = form_class({"name": "ACME!", "limit": "99", "account.id": ""})
    assert not bad.is_valid() and {"name", "limit", "account.id"} <= set(bad.errors)


def test_unsupported_json_schema_is_refused_naming_every_field() -> None:
    spec = {
        "type": "object",
        "properties": {
            "ok": {"type": "string"},
            "reports": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
            "deep": {"type": "object", "properties": {"inner": {"type": "object", "properties": {}}}},
            "untyped": {"description": "anything"},
        },
    }
    with pytest.raises(UnsupportedSpec) as refused:
        spec_form_class(spec)
    message = str(refused.value)
    assert "reports (a list of object)" in message and "deep.inner" in message and "untyped (no type)" in message
    assert "Nothing was saved" in message


def test_protocol_lines_are_parsed_strictly() -> None:
    assert protocol.parse_line("", 1) is None
    record = protocol.parse_line('{"type":"RECORD","record":{"stream":"s","data":{"a":1},"emitted_at":0}}', 1)
    assert record == protocol.Record(stream="s", data={"a": 1})
    for bad, words in [
        ("hello", "not JSON"),
        ("[1,2]", "without a message type"),
        ('{"type":"RECORD","record":{"stream":"s"}}', "no valid 'data'"),
        ('{"type":"STATE","state":{"type":"STREAM","stream":{}}}', "stream_descriptor"),
        ('{"type":"WHAT"}', "unknown message type"),
    ]:
        with pytest.raises(protocol.ProtocolError, match=words):
            protocol.parse_line(bad, 7)
    estimate = protocol.parse_line(
        '{"type":"TRACE","trace":{"type":"ESTIMATE","estimate":{"name":"s","row_estimate":5}}}', 1
    )
    assert estimate == protocol.Estimate(stream="s", rows=5)


def test_the_configured_catalog_is_incremental_where_supported() -> None:
    streams = [
        {
            "name": "a",
            "json_schema": {},
            "supported_sync_modes": ["full_refresh", "incremental"],
            "source_defined_cursor": True,
            "default_cursor_field": ["t"],
            "source_defined_primary_key": [["id"]],
        },
        {"name": "b", "json_schema": {}, "supported_sync_modes": ["full_refresh"]},
    ]
    catalog = protocol.configured_catalog(streams, ["a", "b"])
    modes = {
        c["stream"]["name"]: (c["sync_mode"], c["destination_sync_mode"], c.get("cursor_field"))
        for c in catalog["streams"]
    }
    assert modes == {"a": ("incremental", "append_dedup", ["t"]), "b": ("full_refresh", "overwrite", None)}
