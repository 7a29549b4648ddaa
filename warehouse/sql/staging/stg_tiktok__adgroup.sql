-- name: stg_tiktok__adgroup
-- description: TikTok ad groups with their campaign and status.
-- layer: staging
-- platform: tiktok
-- inputs: raw_record
-- materialization: merge
-- unique_key: account_id, ad_group_id
-- scope: (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
-- test: not_null(account_id, ad_group_id, campaign_id)
SELECT DISTINCT ON (1, 2)
       r.account_id,
       nullif(r.payload ->> 'adgroup_id', '') AS ad_group_id,
       nullif(r.payload ->> 'campaign_id', '') AS campaign_id,
       r.record_key,
       'tiktok.adgroup' AS _stream,
       nullif(r.payload ->> 'adgroup_name', '') AS name,
       CASE WHEN right(r.payload ->> 'secondary_status', 13) = 'STATUS_DELETE' THEN 'DELETED'
            WHEN r.payload ->> 'operation_status' = 'ENABLE' THEN 'ENABLED'
            WHEN r.payload ->> 'operation_status' = 'DISABLE' THEN 'PAUSED'
            ELSE nullif(r.payload ->> 'operation_status', '') END AS status,
       r.connection_id,
       r.sync_run_id,
       r.fetched_at,
       %(run_id)s::bigint AS run_id
  FROM raw_record r
 WHERE r.stream = 'tiktok.adgroup'
   AND (%(all_accounts)s OR r.account_id = ANY(%(raw_account_ids)s))
 ORDER BY 1, 2, r.fetched_at DESC, r.record_key
