-- name: stg_google_ads__customer
-- description: Google Ads customers (ad accounts) with their currency and time zone, one row per customer id.
-- layer: staging
-- platform: google_ads
-- inputs: raw_record
-- materialization: merge
-- unique_key: account_id
-- scope: (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
-- test: not_null(account_id)
-- test: currency_code(currency) [warn]
SELECT DISTINCT ON (1)
       replace(coalesce(nullif(r.payload #>> '{customer,id}', ''), r.account_id), '-', '') AS account_id,
       r.record_key,
       'google_ads.customer' AS _stream,
       nullif(r.payload #>> '{customer,descriptiveName}', '') AS name,
       upper(nullif(r.payload #>> '{customer,currencyCode}', '')) AS currency,
       nullif(r.payload #>> '{customer,timeZone}', '') AS time_zone,
       r.connection_id,
       r.sync_run_id,
       r.fetched_at,
       %(run_id)s::bigint AS run_id
  FROM raw_record r
 WHERE r.stream = 'google_ads.customer'
   AND (%(all_accounts)s OR r.account_id = ANY(%(raw_account_ids)s))
 ORDER BY 1, r.fetched_at DESC, r.record_key
