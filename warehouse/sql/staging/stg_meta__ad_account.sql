-- name: stg_meta__ad_account
-- description: Meta ad accounts with their currency and time zone; ids without the act_ prefix.
-- layer: staging
-- platform: meta
-- inputs: raw_record
-- materialization: merge
-- unique_key: account_id
-- scope: (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
-- test: not_null(account_id)
-- test: currency_code(currency) [warn]
SELECT DISTINCT ON (1)
       regexp_replace(coalesce(nullif(r.payload ->> 'account_id', ''), nullif(r.payload ->> 'id', ''), r.account_id), '^act_', '') AS account_id,
       r.record_key,
       'meta.ad_account' AS _stream,
       nullif(r.payload ->> 'name', '') AS name,
       upper(nullif(r.payload ->> 'currency', '')) AS currency,
       nullif(r.payload ->> 'timezone_name', '') AS time_zone,
       r.connection_id,
       r.sync_run_id,
       r.fetched_at,
       %(run_id)s::bigint AS run_id
  FROM raw_record r
 WHERE r.stream = 'meta.ad_account'
   AND (%(all_accounts)s OR r.account_id = ANY(%(raw_account_ids)s))
 ORDER BY 1, r.fetched_at DESC, r.record_key
