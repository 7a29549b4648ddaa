-- name: stg_ga4__property
-- description: GA4 properties (Admin API) with their reporting currency and time zone; the property id without "properties/".
-- layer: staging
-- platform: ga4
-- inputs: raw_record
-- materialization: merge
-- unique_key: account_id
-- scope: (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
-- test: not_null(account_id)
-- test: currency_code(currency) [warn]
SELECT DISTINCT ON (1)
       coalesce(nullif(regexp_replace(r.payload ->> 'name', '^properties/', ''), ''), r.account_id) AS account_id,
       r.record_key,
       'ga4.property' AS _stream,
       nullif(r.payload ->> 'displayName', '') AS name,
       upper(nullif(r.payload ->> 'currencyCode', '')) AS currency,
       nullif(r.payload ->> 'timeZone', '') AS time_zone,
       r.connection_id,
       r.sync_run_id,
       r.fetched_at,
       %(run_id)s::bigint AS run_id
  FROM raw_record r
 WHERE r.stream = 'ga4.property'
   AND (%(all_accounts)s OR r.account_id = ANY(%(raw_account_ids)s))
 ORDER BY 1, r.fetched_at DESC, r.record_key
