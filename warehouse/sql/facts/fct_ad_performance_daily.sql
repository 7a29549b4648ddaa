-- name: fct_ad_performance_daily
-- description: The unified daily fact at (date_day, platform, account, campaign, ad group): native amounts in the account's currency, the same amounts in the workspace's reporting currency with the cross rate of that day (or the last earlier one, flagged, at most fx.max_fallback_days old) and where that rate came from (fx_source: 'ECB', 'synthetic' for the demo sample, 'none' when no conversion was needed), the account's time zone, and whether the day is still inside the platform's restatement window. Changes to rows that existed before are written to the restatement log.
-- layer: facts
-- inputs: stg_google_ads__ad_group_daily, stg_meta__adset_daily, stg_tiktok__adgroup_daily, stg_airbyte__ad_performance_daily, dim_ad_account, dim_platform, wh_fx_rate, stg_upload__ad_daily, stg_upload__offline_conversion
-- materialization: merge
-- unique_key: platform, account_id, date_day, campaign_id, ad_group_id
-- scope: platform = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s)) AND date_day BETWEEN %(date_from)s AND %(date_to)s
-- test: known_platform(platform)
-- test: not_null(currency) "no currency for this ad account: its account record has not been synced"
-- test: currency_code(currency)
-- test: not_null(time_zone) "no valid time zone for this ad account: its account record is missing or names an unknown zone"
-- test: fx_rate_available(fx_rate)
-- test: unique(platform, account_id, date_day, campaign_id, ad_group_id)
-- test: clicks_le_impressions(clicks, impressions) [warn]
-- test: references(dim_campaign: platform, account_id, campaign_id) [warn]
-- test: references(dim_ad_group: platform, account_id, ad_group_id) [warn]
-- test: fx_fallback(fx_fallback) [warn]
WITH daily AS (
    SELECT 'google_ads'::text AS platform, 'google_ads.ad_group_daily'::text AS _stream, d.record_key AS _record_key,
           d.account_id, d.date AS date_day, d.campaign_id, d.ad_group_id, d.impressions, d.clicks, d.spend_micros,
           d.conversions_micros, d.conversions_value_micros, d.currency AS row_currency, d.sync_run_id
      FROM stg_google_ads__ad_group_daily d
     WHERE 'google_ads' = ANY(%(platforms)s)
       AND d.date BETWEEN %(date_from)s AND %(date_to)s
       AND (%(all_accounts)s OR d.account_id = ANY(%(account_ids)s))
    UNION ALL
    SELECT 'meta', 'meta.adset_daily', d.record_key, d.account_id, d.date, d.campaign_id, d.ad_group_id,
           d.impressions, d.clicks, d.spend_micros, d.conversions_micros, d.conversions_value_micros, d.currency,
           d.sync_run_id
      FROM stg_meta__adset_daily d
     WHERE 'meta' = ANY(%(platforms)s)
       AND d.date BETWEEN %(date_from)s AND %(date_to)s
       AND (%(all_accounts)s OR d.account_id = ANY(%(account_ids)s))
    UNION ALL
    SELECT 'tiktok', 'tiktok.adgroup_daily', d.record_key, d.account_id, d.date, d.campaign_id, d.ad_group_id,
           d.impressions, d.clicks, d.spend_micros, d.conversions_micros, d.conversions_value_micros, d.currency,
           d.sync_run_id
      FROM stg_tiktok__adgroup_daily d
     WHERE 'tiktok' = ANY(%(platforms)s)
       AND d.date BETWEEN %(date_from)s AND %(date_to)s
       AND (%(all_accounts)s OR d.account_id = ANY(%(account_ids)s))
    UNION ALL
    SELECT 'airbyte', 'airbyte.ad_performance', d.record_key, d.account_id, d.date, d.campaign_id, d.ad_group_id,
           d.impressions, d.clicks, d.spend_micros, d.conversions_micros, d.conversions_value_micros, d.currency,
           d.sync_run_id
      FROM stg_airbyte__ad_performance_daily d
     WHERE 'airbyte' = ANY(%(platforms)s)
       AND d.date BETWEEN %(date_from)s AND %(date_to)s
       AND (%(all_accounts)s OR d.account_id = ANY(%(account_ids)s))
    UNION ALL
    -- uploaded files: the platform is the upload source ("upload_linkedin"), one row per campaign and day
    SELECT d.platform, 'upload.ad_daily', d.record_key, d.account_id, d.date, d.campaign_id, d.ad_group_id,
           d.impressions, d.clicks, d.spend_micros, d.conversions_micros, d.conversions_value_micros, d.currency,
           d.sync_run_id
      FROM stg_upload__ad_daily d
     WHERE d.platform = ANY(%(platforms)s)
       AND d.date BETWEEN %(date_from)s AND %(date_to)s
       AND (%(all_accounts)s OR d.account_id = ANY(%(account_ids)s))
    UNION ALL
    -- offline conversions add to their campaign's day as one extra row per upload source
    -- (ad group "offline:<source>", no spend, impressions or clicks)
    SELECT d.platform, 'upload.offline_conversion', d.record_key, d.account_id, d.date, d.campaign_id,
           left('offline:' || d.source, 64), 0, 0, 0, d.conversions_micros, d.conversions_value_micros, d.currency,
           d.sync_run_id
      FROM stg_upload__offline_conversion d
     WHERE d.platform = ANY(%(platforms)s)
       AND d.date BETWEEN %(date_from)s AND %(date_to)s
       AND (%(all_accounts)s OR d.account_id = ANY(%(account_ids)s))
), enriched AS (
    -- only zones PostgreSQL knows (checked by the runner): an unknown one would make AT TIME ZONE
    -- fail the whole model, so its rows fail the not_null(time_zone) test instead
    SELECT d.*,
           coalesce(a.currency, d.row_currency) AS currency,
           CASE WHEN a.time_zone = ANY(%(valid_time_zones)s) THEN a.time_zone END AS time_zone,
           p.restatement_days
      FROM daily d
      LEFT JOIN dim_ad_account a ON a.platform = d.platform AND a.account_id = d.account_id
      LEFT JOIN dim_platform p ON p.code = d.platform
),
-- include: fx_rates
SELECT e.date_day, e.platform, e.account_id, e.campaign_id, e.ad_group_id,
       e.impressions, e.clicks, e.spend_micros, e.conversions_micros, e.conversions_value_micros,
       e.currency, e.time_zone,
       %(reporting_currency)s::text AS reporting_currency,
       round(e.spend_micros * r.fx_rate)::bigint AS spend_reporting_micros,
       round(e.conversions_value_micros * r.fx_rate)::bigint AS conversions_value_reporting_micros,
-- include: fx_columns
       CASE WHEN e.time_zone IS NULL OR e.restatement_days IS NULL THEN true
            ELSE e.date_day > (%(now)s::timestamptz AT TIME ZONE e.time_zone)::date - e.restatement_days END AS is_settling,
       %(run_id)s::bigint AS run_id,
       e.sync_run_id,
       e._stream,
       e._record_key,
       e.restatement_days AS _restatement_days,
       %(fx_max_fallback_days)s::int AS _fx_max_fallback_days
  FROM enriched e
  LEFT JOIN rates r ON r.currency = e.currency AND r.date_day = e.date_day
-- step: restatements
-- Rows that existed before and now differ are restatements: log them per campaign, day and metric
-- (native units, money in the account's currency) before the merge overwrites the old values.
-- Changed rows are found row by row first, so only the campaign-days that changed are summed.
INSERT INTO wh_restatement (run_id, detected_at, date_day, platform, account_id, campaign_id, metric, old_value, new_value, currency)
WITH changed AS MATERIALIZED (
    SELECT DISTINCT o.platform, o.account_id, o.date_day, o.campaign_id
      FROM fct_ad_performance_daily o
      LEFT JOIN _m n
        ON n.platform = o.platform AND n.account_id = o.account_id AND n.date_day = o.date_day
       AND n.campaign_id = o.campaign_id AND n.ad_group_id = o.ad_group_id
     WHERE %(log_restatements)s
       AND o.platform = ANY(%(platforms)s) AND (%(all_accounts)s OR o.account_id = ANY(%(account_ids)s))
       AND o.date_day BETWEEN %(date_from)s AND %(date_to)s
       AND (n.platform IS NULL
            OR (o.impressions, o.clicks, o.spend_micros, o.conversions_micros, o.conversions_value_micros)
               IS DISTINCT FROM (n.impressions, n.clicks, n.spend_micros, n.conversions_micros, n.conversions_value_micros))
), sides AS (
    -- old and new rows of the changed campaign-days side by side, summed in one aggregate
    -- (joining two aggregates would depend on row estimates the planner cannot know here)
    SELECT o.platform, o.account_id, o.date_day, o.campaign_id, o.currency, true AS is_old,
           o.impressions, o.clicks, o.spend_micros, o.conversions_micros, o.conversions_value_micros
      FROM changed c
      JOIN fct_ad_performance_daily o
        ON o.platform = c.platform AND o.account_id = c.account_id AND o.date_day = c.date_day
       AND o.campaign_id = c.campaign_id
    UNION ALL
    SELECT n.platform, n.account_id, n.date_day, n.campaign_id, NULL, false,
           n.impressions, n.clicks, n.spend_micros, n.conversions_micros, n.conversions_value_micros
      FROM changed c
      JOIN _m n
        ON n.platform = c.platform AND n.account_id = c.account_id AND n.date_day = c.date_day
       AND n.campaign_id = c.campaign_id
), totals AS (
    SELECT platform, account_id, date_day, campaign_id, max(currency) AS currency,
           coalesce(sum(impressions) FILTER (WHERE is_old), 0) AS old_impressions,
           coalesce(sum(impressions) FILTER (WHERE NOT is_old), 0) AS new_impressions,
           coalesce(sum(clicks) FILTER (WHERE is_old), 0) AS old_clicks,
           coalesce(sum(clicks) FILTER (WHERE NOT is_old), 0) AS new_clicks,
           coalesce(sum(spend_micros) FILTER (WHERE is_old), 0) AS old_spend,
           coalesce(sum(spend_micros) FILTER (WHERE NOT is_old), 0) AS new_spend,
           coalesce(sum(conversions_micros) FILTER (WHERE is_old), 0) AS old_conversions,
           coalesce(sum(conversions_micros) FILTER (WHERE NOT is_old), 0) AS new_conversions,
           coalesce(sum(conversions_value_micros) FILTER (WHERE is_old), 0) AS old_value,
           coalesce(sum(conversions_value_micros) FILTER (WHERE NOT is_old), 0) AS new_value
      FROM sides
     GROUP BY 1, 2, 3, 4
)
SELECT %(run_id)s::bigint, %(now)s::timestamptz, t.date_day, t.platform, t.account_id, t.campaign_id,
       v.metric, v.old_value, v.new_value, t.currency
  FROM totals t
 CROSS JOIN LATERAL (VALUES
        ('impressions', t.old_impressions::numeric, t.new_impressions::numeric),
        ('clicks', t.old_clicks::numeric, t.new_clicks::numeric),
        ('spend', t.old_spend / 1000000.0, t.new_spend / 1000000.0),
        ('conversions', t.old_conversions / 1000000.0, t.new_conversions / 1000000.0),
        ('conversions_value', t.old_value / 1000000.0, t.new_value / 1000000.0)
       ) AS v(metric, old_value, new_value)
 WHERE v.old_value <> v.new_value
-- step: after_settle
-- Days that have left their platform's restatement window since they were written stop settling.
UPDATE fct_ad_performance_daily f
   SET is_settling = false
  FROM dim_platform p
 WHERE f.is_settling AND f.platform = ANY(%(platforms)s) AND p.code = f.platform
   AND f.date_day <= (%(now)s::timestamptz AT TIME ZONE f.time_zone)::date - p.restatement_days
