-- name: stg_upload__ad_daily
-- description: Ad performance from uploaded CSV / Excel files (uploads app). The upload already parsed every number in the workspace's locale into micros and checked every row, so this maps the payload into columns; `platform` is the upload source's code ("upload_linkedin"), `campaign_id` the file's campaign id or name.
-- layer: staging
-- platform: upload
-- inputs: raw_record
-- materialization: merge
-- unique_key: record_key
-- scope: platform = ANY(%(platforms)s) AND date BETWEEN %(date_from)s AND %(date_to)s AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
-- test: not_null(date, platform, campaign_id, impressions, clicks, spend_micros, conversions_micros, conversions_value_micros, currency)
-- test: non_negative(impressions, clicks, spend_micros, conversions_micros, conversions_value_micros)
-- test: date_in_range(date)
SELECT r.record_key,
       'upload.ad_daily' AS _stream,
       r.payload ->> 'platform' AS platform,
       r.account_id,
       r.date,
       r.payload ->> 'campaign_id' AS campaign_id,
       r.payload ->> 'campaign_name' AS campaign_name,
       '(upload)'::text AS ad_group_id,
       (r.payload ->> 'impressions')::bigint AS impressions,
       (r.payload ->> 'clicks')::bigint AS clicks,
       (r.payload ->> 'spend_micros')::bigint AS spend_micros,
       (r.payload ->> 'conversions_micros')::bigint AS conversions_micros,
       (r.payload ->> 'value_micros')::bigint AS conversions_value_micros,
       r.payload ->> 'currency' AS currency,
       r.payload ->> 'time_zone' AS time_zone,
       r.connection_id,
       r.sync_run_id,
       r.fetched_at,
       %(run_id)s::bigint AS run_id
  FROM raw_record r
 WHERE r.stream = 'upload.ad_daily'
   AND r.payload ->> 'platform' = ANY(%(platforms)s)
   AND r.date BETWEEN %(date_from)s AND %(date_to)s
   AND (%(all_accounts)s OR r.account_id = ANY(%(raw_account_ids)s))
