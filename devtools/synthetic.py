"""Synthetic ad data for tests, the demo and the benchmark — generated inside PostgreSQL.

Not a connector: it writes realistic platform rows (the Google Ads REST and Meta insights wire
shapes) straight into `raw_record` with `generate_series`, so a workspace with millions of rows
is built in seconds, not through HTTP. Numbers are deterministic functions of
(platform, account, campaign, day, variant): regenerating gives the same rows, a new `variant`
restates them.

- `synthetic_raw_land`: entity and daily raw rows for google_ads / meta → run the models;
- `synthetic_facts_generate` (benchmark only): dimensions and facts directly, for any platform
  code, when the raw → fact path is not what is being measured;
- `synthetic_raw_from_facts`: the raw rows a sync of one platform's window would land,
  reproducing the facts exactly (the benchmark's window transform starts from these);
- `synthetic_restate`: change the conversions of some raw rows, as a platform restating days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

ZONES = ("Europe/Berlin", "America/New_York", "Europe/London", "Asia/Tokyo", "Europe/Stockholm")
ZERO_DECIMAL = ("JPY", "KRW", "HUF", "ISK")


@dataclass(frozen=True)
class SyntheticSpec:
    platforms: tuple[str, ...] = ("google_ads", "meta")
    accounts_per_platform: int = 2
    campaigns_per_account: int = 5
    ad_groups_per_campaign: int = 1
    currencies: tuple[str, ...] = ("EUR", "USD", "GBP", "JPY", "SEK")
    seed: int = 1

    def accounts(self) -> list[dict[str, Any]]:
        out = []
        for p, platform in enumerate(self.platforms):
            for i in range(self.accounts_per_platform):
                n = p * self.accounts_per_platform + i
                if platform == "google_ads":
                    account_id = str(1_000_000_000 + n * 1_111 + self.seed)
                elif platform == "meta":
                    account_id = str(1_000_000_000_000_000 + n * 7_777 + self.seed)
                else:
                    account_id = f"{platform[:2]}{100_000 + n}"
                out.append(
                    {
                        "platform": platform,
                        "account_id": account_id,
                        "account_no": n + 1,
                        "currency": self.currencies[n % len(self.currencies)],
                        "time_zone": ZONES[n % len(ZONES)],
                        "name": f"{platform.replace('_', ' ').title()} account {n + 1}",
                    }
                )
        return out


def _accounts_table(cursor: Any, spec: SyntheticSpec) -> None:
    cursor.execute("DROP TABLE IF EXISTS _syn_accounts")
    cursor.execute(
        "CREATE TEMPORARY TABLE _syn_accounts (platform text, account_id text, account_no int, currency text,"
        " decimals int, time_zone text, name text)"
    )
    for a in spec.accounts():
        cursor.execute(
            "INSERT INTO _syn_accounts VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                a["platform"],
                a["account_id"],
                a["account_no"],
                a["currency"],
                0 if a["currency"] in ZERO_DECIMAL else 2,
                a["time_zone"],
                a["name"],
            ],
        )


# One row per (account, campaign, ad group, day) with integer metrics in the account's minor
# units; `variant` only moves conversions and their value (what platforms restate).
_GRID = """
WITH grid AS (
    SELECT a.platform, a.account_id, a.account_no, a.currency, a.decimals, a.time_zone,
           (a.account_no * 100000 + c)::text AS campaign_id,
           ((a.account_no * 100000 + c) * 10 + g)::text AS ad_group_id,
           c AS campaign_no, g AS ad_group_no, d::date AS day,
           abs(hashtextextended(a.platform || ':' || a.account_id || ':' || c || ':' || g || ':' || d::date, %(seed)s)) AS h
      FROM _syn_accounts a
     CROSS JOIN generate_series(1, %(campaigns)s) AS c
     CROSS JOIN generate_series(1, %(ad_groups)s) AS g
     CROSS JOIN generate_series(%(date_from)s::date, %(date_to)s::date, interval '1 day') AS d
     WHERE a.platform = ANY(%(platforms)s)
), metrics AS (
    SELECT grid.*,
           200 + h %% 20000 AS impressions,
           ((200 + h %% 20000) * (1 + (h >> 8) %% 40) / 1000) AS clicks,
           CASE WHEN decimals = 0 THEN 30 + (h >> 16) %% 270 ELSE 20 + (h >> 16) %% 180 END AS cpc_minor,
           (1 + (h >> 24) %% 8) AS conv_rate_pct,
           CASE WHEN decimals = 0 THEN 3000 + (h >> 32) %% 12000 ELSE 2000 + (h >> 32) %% 10000 END AS aov_minor
      FROM grid
), final AS (
    SELECT m.*,
           clicks * cpc_minor AS spend_minor,
           -- conversions in hundredths (Google reports fractions); Meta rows use whole purchases
           (clicks * conv_rate_pct * (100 + (%(variant)s * 7 + campaign_no) %% 23 * sign(%(variant)s)::int))
               / 100 AS conv_centi
      FROM metrics m
)
"""


def synthetic_raw_land(
    *,
    spec: SyntheticSpec,
    date_from: date,
    date_to: date,
    connection_id: int = 1,
    sync_run_id: int = 1,
    variant: int = 0,
) -> dict[str, int]:
    """Land entity and daily raw rows (wire shapes) for the spec's google_ads / meta accounts."""
    params: dict[str, Any] = {
        "seed": spec.seed,
        "campaigns": spec.campaigns_per_account,
        "ad_groups": spec.ad_groups_per_campaign,
        "date_from": date_from,
        "date_to": date_to,
        "variant": variant,
        "connection_id": connection_id,
        "sync_run_id": sync_run_id,
        "now": timezone.now(),
        "platforms": [p for p in spec.platforms if p in ("google_ads", "meta")],
    }
    counts: dict[str, int] = {}
    upsert = (
        " ON CONFLICT (stream, record_key) DO UPDATE SET payload = EXCLUDED.payload, sync_run_id = EXCLUDED.sync_run_id,"
        " fetched_at = EXCLUDED.fetched_at WHERE raw_record.payload IS DISTINCT FROM EXCLUDED.payload"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        _accounts_table(cursor, spec)
        entities = [
            (
                "google_ads.customer",
                """SELECT 'google_ads.customer', account_id, %(connection_id)s, account_id, NULL::date,
                          jsonb_build_object('customer', jsonb_build_object('resourceName', 'customers/' || account_id,
                              'id', account_id, 'descriptiveName', name, 'currencyCode', currency, 'timeZone', time_zone)),
                          %(sync_run_id)s, %(now)s
                     FROM _syn_accounts WHERE platform = 'google_ads'""",
            ),
            (
                "meta.ad_account",
                """SELECT 'meta.ad_account', 'act_' || account_id, %(connection_id)s, 'act_' || account_id, NULL::date,
                          jsonb_build_object('id', 'act_' || account_id, 'account_id', account_id, 'name', name,
                              'currency', currency, 'timezone_name', time_zone),
                          %(sync_run_id)s, %(now)s
                     FROM _syn_accounts WHERE platform = 'meta'""",
            ),
            (
                "google_ads.campaign",
                """SELECT 'google_ads.campaign', account_id || '|' || (account_no * 100000 + c), %(connection_id)s, account_id,
                          NULL::date,
                          jsonb_build_object('campaign', jsonb_build_object(
                              'resourceName', 'customers/' || account_id || '/campaigns/' || (account_no * 100000 + c),
                              'id', (account_no * 100000 + c)::text, 'name', 'Search ' || c,
                              'status', CASE WHEN c %% 7 = 0 THEN 'PAUSED' ELSE 'ENABLED' END,
                              'advertisingChannelType', 'SEARCH')),
                          %(sync_run_id)s, %(now)s
                     FROM _syn_accounts CROSS JOIN generate_series(1, %(campaigns)s) c WHERE platform = 'google_ads'""",
            ),
            (
                "meta.campaign",
                """SELECT 'meta.campaign', 'act_' || account_id || '|' || (account_no * 100000 + c), %(connection_id)s,
                          'act_' || account_id, NULL::date,
                          jsonb_build_object('id', (account_no * 100000 + c)::text, 'name', 'Prospecting ' || c,
                              'status', CASE WHEN c %% 7 = 0 THEN 'PAUSED' ELSE 'ACTIVE' END, 'objective', 'OUTCOME_SALES'),
                          %(sync_run_id)s, %(now)s
                     FROM _syn_accounts CROSS JOIN generate_series(1, %(campaigns)s) c WHERE platform = 'meta'""",
            ),
            (
                "google_ads.ad_group",
                """SELECT 'google_ads.ad_group', account_id || '|' || ((account_no * 100000 + c) * 10 + g), %(connection_id)s,
                          account_id, NULL::date,
                          jsonb_build_object('adGroup', jsonb_build_object('id', ((account_no * 100000 + c) * 10 + g)::text,
                              'name', 'Ad group ' || c || '.' || g, 'status', 'ENABLED'),
                              'campaign', jsonb_build_object('id', (account_no * 100000 + c)::text)),
                          %(sync_run_id)s, %(now)s
                     FROM _syn_accounts CROSS JOIN generate_series(1, %(campaigns)s) c
                    CROSS JOIN generate_series(1, %(ad_groups)s) g WHERE platform = 'google_ads'""",
            ),
            (
                "meta.adset",
                """SELECT 'meta.adset', 'act_' || account_id || '|' || ((account_no * 100000 + c) * 10 + g), %(connection_id)s,
                          'act_' || account_id, NULL::date,
                          jsonb_build_object('id', ((account_no * 100000 + c) * 10 + g)::text,
                              'name', 'Ad set ' || c || '.' || g, 'status', 'ACTIVE',
                              'campaign_id', (account_no * 100000 + c)::text),
                          %(sync_run_id)s, %(now)s
                     FROM _syn_accounts CROSS JOIN generate_series(1, %(campaigns)s) c
                    CROSS JOIN generate_series(1, %(ad_groups)s) g WHERE platform = 'meta'""",
            ),
        ]
        columns = "(stream, record_key, connection_id, account_id, date, payload, sync_run_id, fetched_at)"
        for stream, select in entities:
            cursor.execute(f"INSERT INTO raw_record {columns} {select}{upsert}", params)
            counts[stream] = cursor.rowcount
        cursor.execute(
            f"""INSERT INTO raw_record {columns}
                {_GRID}
                SELECT 'google_ads.ad_group_daily', account_id || '|' || day || '|' || campaign_id || '|' || ad_group_id,
                       %(connection_id)s, account_id, day,
                       jsonb_build_object(
                           'campaign', jsonb_build_object('resourceName', 'customers/' || account_id || '/campaigns/' || campaign_id,
                                                          'id', campaign_id),
                           'adGroup', jsonb_build_object('resourceName', 'customers/' || account_id || '/adGroups/' || ad_group_id,
                                                         'id', ad_group_id),
                           'segments', jsonb_build_object('date', day::text),
                           'metrics', jsonb_build_object(
                               'costMicros', (spend_minor * (10 ^ (6 - decimals))::bigint)::text,
                               'impressions', impressions::text,
                               'clicks', clicks::text,
                               'conversions', (conv_centi / 100.0)::numeric,
                               'conversionsValue', (conv_centi * aov_minor / 100 / (10 ^ decimals)::numeric)::numeric)),
                       %(sync_run_id)s, %(now)s
                  FROM final WHERE platform = 'google_ads'
                {upsert}""",  # nosec B608 # constant SQL, bound values
            params,
        )
        counts["google_ads.ad_group_daily"] = cursor.rowcount
        cursor.execute(
            f"""INSERT INTO raw_record {columns}
                {_GRID}
                , meta AS (
                    SELECT final.*, conv_centi / 100 AS purchases,
                           CASE WHEN decimals = 0 THEN spend_minor::text
                                ELSE to_char(spend_minor / 100.0, 'FM9999999999990.00') END AS spend_text,
                           CASE WHEN decimals = 0 THEN ((conv_centi / 100) * aov_minor)::text
                                ELSE to_char((conv_centi / 100) * aov_minor / 100.0, 'FM9999999999990.00') END AS value_text
                      FROM final WHERE platform = 'meta'
                )
                SELECT 'meta.adset_daily', 'act_' || account_id || '|' || day || '|' || campaign_id || '|' || ad_group_id,
                       %(connection_id)s, 'act_' || account_id, day,
                       jsonb_strip_nulls(jsonb_build_object(
                           'account_id', account_id, 'campaign_id', campaign_id, 'adset_id', ad_group_id,
                           'date_start', day::text, 'date_stop', day::text,
                           'impressions', impressions::text, 'clicks', clicks::text, 'spend', spend_text,
                           'account_currency', currency,
                           'actions', CASE WHEN purchases > 0 THEN jsonb_build_array(
                               jsonb_build_object('action_type', 'link_click', 'value', (clicks * 9 / 10)::text),
                               jsonb_build_object('action_type', 'purchase', 'value', purchases::text),
                               jsonb_build_object('action_type', 'offsite_conversion.fb_pixel_purchase', 'value', purchases::text),
                               jsonb_build_object('action_type', 'omni_purchase', 'value', purchases::text)) END,
                           'action_values', CASE WHEN purchases > 0 THEN jsonb_build_array(
                               jsonb_build_object('action_type', 'purchase', 'value', value_text),
                               jsonb_build_object('action_type', 'offsite_conversion.fb_pixel_purchase', 'value', value_text),
                               jsonb_build_object('action_type', 'omni_purchase', 'value', value_text)) END)),
                       %(sync_run_id)s, %(now)s
                  FROM meta
                {upsert}""",  # nosec B608 # constant SQL, bound values
            params,
        )
        counts["meta.adset_daily"] = cursor.rowcount
    return counts


# --------------------------------------------------------------------------- benchmark helpers


def synthetic_facts_generate(*, spec: SyntheticSpec, date_from: date, date_to: date) -> int:
    """Dimensions and facts written directly (benchmark only), converted with the loaded FX rates.

    The reporting currency is EUR. Days without a rate within 10 days are skipped (the sample
    covers 2022–2027).
    """
    params: dict[str, Any] = {
        "seed": spec.seed,
        "campaigns": spec.campaigns_per_account,
        "ad_groups": spec.ad_groups_per_campaign,
        "date_from": date_from,
        "date_to": date_to,
        "variant": 0,
        "platforms": list(spec.platforms),
        "now": timezone.now(),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        _accounts_table(cursor, spec)
        cursor.execute(
            """INSERT INTO dim_ad_account (platform, account_id, name, currency, time_zone, is_inferred, run_id, updated_at)
               SELECT platform, account_id, name, currency, time_zone, false, 0, %(now)s FROM _syn_accounts
               ON CONFLICT DO NOTHING""",
            params,
        )
        cursor.execute(
            """INSERT INTO dim_campaign (platform, account_id, campaign_id, name, status, platform_status, objective,
                                         is_inferred, run_id, updated_at)
               SELECT platform, account_id, (account_no * 100000 + c)::text, 'Campaign ' || c, 'active', 'ENABLED',
                      'SEARCH', false, 0, %(now)s
                 FROM _syn_accounts CROSS JOIN generate_series(1, %(campaigns)s) c
               ON CONFLICT DO NOTHING""",
            params,
        )
        cursor.execute(
            """INSERT INTO dim_ad_group (platform, account_id, ad_group_id, campaign_id, name, status, platform_status,
                                         is_inferred, run_id, updated_at)
               SELECT platform, account_id, ((account_no * 100000 + c) * 10 + g)::text, (account_no * 100000 + c)::text,
                      'Ad group ' || c || '.' || g, 'active', 'ENABLED', false, 0, %(now)s
                 FROM _syn_accounts CROSS JOIN generate_series(1, %(campaigns)s) c
                CROSS JOIN generate_series(1, %(ad_groups)s) g
               ON CONFLICT DO NOTHING""",
            params,
        )
        cursor.execute(
            """CREATE TEMPORARY TABLE _syn_rates ON COMMIT DROP AS
               SELECT a.currency, d::date AS day, r.rate, r.date AS rate_date, r.source
                 FROM (SELECT DISTINCT currency FROM _syn_accounts) a
                CROSS JOIN generate_series(%(date_from)s::date, %(date_to)s::date, interval '1 day') d
                CROSS JOIN LATERAL (
                      SELECT 1::numeric AS rate, d::date AS date, 'none'::text AS source WHERE a.currency = 'EUR'
                      UNION ALL
                      (SELECT f.rate, f.date, f.source FROM wh_fx_rate f
                        WHERE a.currency <> 'EUR' AND f.currency = a.currency AND f.date <= d::date
                          AND f.date >= d::date - 10 ORDER BY f.date DESC LIMIT 1)
                ) r""",
            params,
        )
        cursor.execute(
            f"""INSERT INTO fct_ad_performance_daily
                   (date_day, platform, account_id, campaign_id, ad_group_id, impressions, clicks, spend_micros,
                    conversions_micros, conversions_value_micros, currency, time_zone, reporting_currency,
                    spend_reporting_micros, conversions_value_reporting_micros, fx_rate, fx_rate_date, fx_fallback,
                    fx_source, is_settling, run_id, sync_run_id)
                {_GRID}
                , money AS (
                    SELECT final.*, spend_minor * (10 ^ (6 - decimals))::bigint AS spend_micros,
                           conv_centi * 10000 AS conversions_micros,
                           (conv_centi * aov_minor / 100) * (10 ^ (6 - decimals))::bigint AS value_micros
                      FROM final
                )
                SELECT m.day, m.platform, m.account_id, m.campaign_id, m.ad_group_id, m.impressions, m.clicks,
                       m.spend_micros, m.conversions_micros, m.value_micros, m.currency, m.time_zone, 'EUR',
                       round(m.spend_micros * round(1 / r.rate, 14))::bigint,
                       round(m.value_micros * round(1 / r.rate, 14))::bigint,
                       round(1 / r.rate, 14), r.rate_date, r.rate_date < m.day, r.source, false, 0, 0
                  FROM money m JOIN _syn_rates r ON r.currency = m.currency AND r.day = m.day
                 ORDER BY m.day, m.platform, m.account_id, m.campaign_id, m.ad_group_id""",  # nosec B608 # constant SQL, bound values
            params,
        )
        return int(cursor.rowcount)


def synthetic_raw_from_facts(
    *, platform: str, date_from: date, date_to: date, connection_id: int = 1, sync_run_id: int = 1
) -> int:
    """The raw rows a Google Ads sync of [date_from, date_to] would land, reproducing the facts."""
    if platform != "google_ads":
        raise ValueError("raw rows from facts are generated for google_ads only")
    params: dict[str, Any] = {
        "date_from": date_from,
        "date_to": date_to,
        "connection_id": connection_id,
        "sync_run_id": sync_run_id,
        "now": timezone.now(),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO raw_record (stream, record_key, connection_id, account_id, date, payload, sync_run_id, fetched_at)
               SELECT 'google_ads.customer', account_id, %(connection_id)s, account_id, NULL::date,
                      jsonb_build_object('customer', jsonb_build_object('id', account_id, 'descriptiveName', name,
                          'currencyCode', currency, 'timeZone', time_zone)), %(sync_run_id)s, %(now)s
                 FROM dim_ad_account WHERE platform = 'google_ads'
               UNION ALL
               SELECT 'google_ads.campaign', account_id || '|' || campaign_id, %(connection_id)s, account_id, NULL::date,
                      jsonb_build_object('campaign', jsonb_build_object('id', campaign_id, 'name', name,
                          'status', platform_status, 'advertisingChannelType', objective)), %(sync_run_id)s, %(now)s
                 FROM dim_campaign WHERE platform = 'google_ads'
               UNION ALL
               SELECT 'google_ads.ad_group', account_id || '|' || ad_group_id, %(connection_id)s, account_id, NULL::date,
                      jsonb_build_object('adGroup', jsonb_build_object('id', ad_group_id, 'name', name, 'status', platform_status),
                          'campaign', jsonb_build_object('id', campaign_id)), %(sync_run_id)s, %(now)s
                 FROM dim_ad_group WHERE platform = 'google_ads'
               ON CONFLICT (stream, record_key) DO NOTHING""",
            params,
        )
        cursor.execute(
            """INSERT INTO raw_record (stream, record_key, connection_id, account_id, date, payload, sync_run_id, fetched_at)
               SELECT 'google_ads.ad_group_daily', account_id || '|' || date_day || '|' || campaign_id || '|' || ad_group_id,
                      %(connection_id)s, account_id, date_day,
                      jsonb_build_object('campaign', jsonb_build_object('id', campaign_id),
                          'adGroup', jsonb_build_object('id', ad_group_id),
                          'segments', jsonb_build_object('date', date_day::text),
                          'metrics', jsonb_build_object('costMicros', spend_micros::text, 'impressions', impressions::text,
                              'clicks', clicks::text, 'conversions', conversions_micros / 1000000.0,
                              'conversionsValue', conversions_value_micros / 1000000.0)),
                      %(sync_run_id)s, %(now)s
                 FROM fct_ad_performance_daily
                WHERE platform = 'google_ads' AND date_day BETWEEN %(date_from)s AND %(date_to)s
               ON CONFLICT (stream, record_key) DO UPDATE SET payload = EXCLUDED.payload""",
            params,
        )
        return int(cursor.rowcount)


def synthetic_restate(*, stream: str, date_from: date, date_to: date, every_nth: int = 2, variant: int = 1) -> int:
    """Restate conversions and their value in every n-th raw row of a daily stream in the window.

    Odd variants raise them by 5%, even ones lower them by as much, so repeated restatements
    oscillate instead of compounding.
    """
    if stream != "google_ads.ad_group_daily":
        raise ValueError("restating is implemented for google_ads.ad_group_daily")
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE raw_record
                   SET payload = jsonb_set(jsonb_set(payload,
                           '{metrics,conversions}',
                           to_jsonb(round(coalesce((payload #>> '{metrics,conversions}')::numeric, 0)
                                          * %(factor)s, 2))),
                           '{metrics,conversionsValue}',
                           to_jsonb(round(coalesce((payload #>> '{metrics,conversionsValue}')::numeric, 0)
                                          * %(factor)s, 2))),
                       fetched_at = now()
                 WHERE stream = %(stream)s AND date BETWEEN %(date_from)s AND %(date_to)s
                   AND abs(hashtext(record_key)) %% %(nth)s = 0""",
            {
                "stream": stream,
                "date_from": date_from,
                "date_to": date_to,
                "nth": every_nth,
                "factor": Decimal("1.05") if variant % 2 else Decimal(1) / Decimal("1.05"),
            },
        )
        return int(cursor.rowcount)
