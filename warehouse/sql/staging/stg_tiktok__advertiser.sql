-- name: stg_tiktok__advertiser
-- description: TikTok advertisers (Bosco's ad accounts) with their currency and time zone, from advertiser/info.
-- layer: staging
-- platform: tiktok
-- inputs: raw_record
-- materialization: merge
-- unique_key: account_id
-- scope: (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
-- test: not_null(account_id)
-- test: currency_code(currency) [warn]
SELECT DISTINCT ON (1)
       coalesce(nullif(r.payload ->> 'advertiser_id', ''), r.account_id) AS account_id,
       r.record_key,
       'tiktok.advertiser' AS _stream,
       nullif(r.payload ->> 'name', '') AS name,
       upper(nullif(r.payload ->> 'currency', '')) AS currency,
       nullif(r.payload ->> 'timezone', '') AS time_zone,
       r.connection_id,
       r.sync_run_id,
       r.fetched_at,
       %(run_id)s::bigint AS run_id
  FROM raw_record r
 WHERE r.stream = 'tiktok.advertiser'
   AND (%(all_accounts)s OR r.account_id = ANY(%(raw_account_ids)s))
 ORDER BY 1, r.fetched_at DESC, r.record_key
