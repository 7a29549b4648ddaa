-- name: stg_upload__offline_conversion
-- description: Offline conversions from uploaded files, each already matched (when uploaded) to one synced campaign: `platform`, `account_id`, `campaign_id` are that campaign's, `source` the upload source's code. The fact adds them to the campaign's day as an extra row (ad group "offline:<source>").
-- layer: staging
-- platform: upload
-- inputs: raw_record
-- materialization: merge
-- unique_key: record_key
-- scope: platform = ANY(%(platforms)s) AND date BETWEEN %(date_from)s AND %(date_to)s AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
-- test: not_null(date, platform, campaign_id, conversions_micros, conversions_value_micros)
-- test: non_negative(conversions_micros, conversions_value_micros)
-- test: date_in_range(date)
SELECT r.record_key,
       'upload.offline_conversion' AS _stream,
       r.payload ->> 'source' AS source,
       r.payload ->> 'platform' AS platform,
       r.account_id,
       r.date,
       r.payload ->> 'campaign_id' AS campaign_id,
       (r.payload ->> 'conversions_micros')::bigint AS conversions_micros,
       (r.payload ->> 'value_micros')::bigint AS conversions_value_micros,
       r.payload ->> 'currency' AS currency,
       r.connection_id,
       r.sync_run_id,
       r.fetched_at,
       %(run_id)s::bigint AS run_id
  FROM raw_record r
 WHERE r.stream = 'upload.offline_conversion'
   AND r.payload ->> 'platform' = ANY(%(platforms)s)
   AND r.date BETWEEN %(date_from)s AND %(date_to)s
   AND (%(all_accounts)s OR r.account_id = ANY(%(raw_account_ids)s))
