-- name: stg_airbyte__account
-- description: The account of each Airbyte connection (Bosco's ad account for that source) with the currency and time zone the admin gave when adding it; landed by the bridge at every run (stream airbyte.account).
-- layer: staging
-- platform: airbyte
-- inputs: raw_record
-- materialization: merge
-- unique_key: account_id
-- scope: (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
-- test: not_null(account_id)
-- test: currency_code(currency) [warn]
SELECT DISTINCT ON (1)
       r.account_id,
       r.record_key,
       'airbyte.account' AS _stream,
       nullif(r.payload ->> 'name', '') AS name,
       upper(nullif(r.payload ->> 'currency', '')) AS currency,
       nullif(r.payload ->> 'time_zone', '') AS time_zone,
       r.connection_id,
       r.sync_run_id,
       r.fetched_at,
       %(run_id)s::bigint AS run_id
  FROM raw_record r
 WHERE r.stream = 'airbyte.account'
   AND (%(all_accounts)s OR r.account_id = ANY(%(raw_account_ids)s))
 ORDER BY 1, r.fetched_at DESC, r.record_key
