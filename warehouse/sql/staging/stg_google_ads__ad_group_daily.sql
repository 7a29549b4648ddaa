-- name: stg_google_ads__ad_group_daily
-- description: Google Ads ad group × day performance. costMicros is already micros; conversions and conversionsValue (doubles, JSON numbers) become micros. The REST API omits zero-valued metrics (proto3 JSON), so an absent metric is 0; a present one that is not a number is an error.
-- layer: staging
-- platform: google_ads
-- inputs: raw_record
-- materialization: merge
-- unique_key: record_key
-- scope: date BETWEEN %(date_from)s AND %(date_to)s AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
-- test: not_null(date, campaign_id, ad_group_id, impressions, clicks, spend_micros, conversions_micros, conversions_value_micros)
-- test: non_negative(impressions, clicks, spend_micros, conversions_micros, conversions_value_micros)
-- test: date_in_range(date)
SELECT r.record_key,
       'google_ads.ad_group_daily' AS _stream,
       replace(r.account_id, '-', '') AS account_id,
       r.date,
       nullif(r.payload #>> '{campaign,id}', '') AS campaign_id,
       nullif(r.payload #>> '{adGroup,id}', '') AS ad_group_id,
       -- int64 arrive as strings; a short all-digit check is enough to make the cast safe
       CASE WHEN m.impressions IS NULL THEN 0
            WHEN m.impressions ~ '^-?[0-9]+$' AND length(m.impressions) < 16 THEN m.impressions::bigint END AS impressions,
       CASE WHEN m.clicks IS NULL THEN 0
            WHEN m.clicks ~ '^-?[0-9]+$' AND length(m.clicks) < 16 THEN m.clicks::bigint END AS clicks,
       CASE WHEN m.cost_micros IS NULL THEN 0
            WHEN m.cost_micros ~ '^-?[0-9]+$' AND length(m.cost_micros) < 19 THEN m.cost_micros::bigint END AS spend_micros,
       -- doubles arrive as JSON numbers, already validated by the JSON parser
       CASE WHEN m.conversions IS NULL THEN 0
            WHEN jsonb_typeof(m.conversions) = 'number' THEN
                 CASE WHEN abs(m.conversions::numeric) < 1e12 THEN round(m.conversions::numeric * 1000000)::bigint END
       END AS conversions_micros,
       CASE WHEN m.conversions_value IS NULL THEN 0
            WHEN jsonb_typeof(m.conversions_value) = 'number' THEN
                 CASE WHEN abs(m.conversions_value::numeric) < 1e12 THEN round(m.conversions_value::numeric * 1000000)::bigint END
       END AS conversions_value_micros,
       NULL::text AS currency,
       r.connection_id,
       r.sync_run_id,
       r.fetched_at,
       %(run_id)s::bigint AS run_id
  FROM raw_record r
 CROSS JOIN LATERAL (
        SELECT r.payload -> 'metrics' AS metrics
       ) p
 CROSS JOIN LATERAL (
        SELECT p.metrics ->> 'impressions' AS impressions,
               p.metrics ->> 'clicks' AS clicks,
               p.metrics ->> 'costMicros' AS cost_micros,
               p.metrics -> 'conversions' AS conversions,
               p.metrics -> 'conversionsValue' AS conversions_value
       ) m
 WHERE r.stream = 'google_ads.ad_group_daily'
   AND (r.date BETWEEN %(date_from)s AND %(date_to)s OR r.date IS NULL)
   AND (%(all_accounts)s OR r.account_id = ANY(%(raw_account_ids)s))
