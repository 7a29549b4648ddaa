-- name: stg_tiktok__adgroup_daily
-- description: TikTok reports at ad group × day (report/integrated/get, AUCTION_ADGROUP, stat_time_day in the advertiser's time zone). Every metric arrives as a string: spend and `total_complete_payment_rate` (the purchase value) are decimal amounts in the advertiser's currency (→ micros); conversions are the ad group's optimisation events (`conversion`).
-- layer: staging
-- platform: tiktok
-- inputs: raw_record
-- materialization: merge
-- unique_key: record_key
-- scope: date BETWEEN %(date_from)s AND %(date_to)s AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
-- test: not_null(date, campaign_id, ad_group_id, impressions, clicks, spend_micros, conversions_micros, conversions_value_micros)
-- test: non_negative(impressions, clicks, spend_micros, conversions_micros, conversions_value_micros)
-- test: date_in_range(date)
SELECT r.record_key,
       'tiktok.adgroup_daily' AS _stream,
       r.account_id,
       r.date,
       nullif(m.campaign_id, '') AS campaign_id,
       nullif(r.payload -> 'dimensions' ->> 'adgroup_id', '') AS ad_group_id,
       CASE WHEN m.impressions ~ '^-?[0-9]+$' AND length(m.impressions) < 16 THEN m.impressions::bigint END AS impressions,
       CASE WHEN m.clicks ~ '^-?[0-9]+$' AND length(m.clicks) < 16 THEN m.clicks::bigint END AS clicks,
       CASE WHEN m.spend ~ '^-?[0-9]+(\.[0-9]+)?$' AND length(m.spend) < 20
            THEN CASE WHEN abs(m.spend::numeric) < 1e12 THEN round(m.spend::numeric * 1000000)::bigint END END AS spend_micros,
       CASE WHEN m.conversion ~ '^-?[0-9]+$' AND length(m.conversion) < 13
            THEN m.conversion::bigint * 1000000 END AS conversions_micros,
       CASE WHEN m.payment_value ~ '^-?[0-9]+(\.[0-9]+)?$' AND length(m.payment_value) < 20
            THEN CASE WHEN abs(m.payment_value::numeric) < 1e12 THEN round(m.payment_value::numeric * 1000000)::bigint END
       END AS conversions_value_micros,
       upper(nullif(m.currency, '')) AS currency,
       r.connection_id,
       r.sync_run_id,
       r.fetched_at,
       %(run_id)s::bigint AS run_id
  FROM raw_record r
 CROSS JOIN LATERAL (
        SELECT r.payload -> 'metrics' ->> 'campaign_id' AS campaign_id,
               r.payload -> 'metrics' ->> 'impressions' AS impressions,
               r.payload -> 'metrics' ->> 'clicks' AS clicks,
               r.payload -> 'metrics' ->> 'spend' AS spend,
               r.payload -> 'metrics' ->> 'conversion' AS conversion,
               r.payload -> 'metrics' ->> 'total_complete_payment_rate' AS payment_value,
               r.payload -> 'metrics' ->> 'currency' AS currency
       ) m
 WHERE r.stream = 'tiktok.adgroup_daily'
   AND (r.date BETWEEN %(date_from)s AND %(date_to)s OR r.date IS NULL)
   AND (%(all_accounts)s OR r.account_id = ANY(%(raw_account_ids)s))
