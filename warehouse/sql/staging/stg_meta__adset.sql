-- name: stg_meta__adset
-- description: Meta ad sets (Bosco's ad groups) with their campaign.
-- layer: staging
-- platform: meta
-- inputs: raw_record
-- materialization: merge
-- unique_key: account_id, ad_group_id
-- scope: (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
-- test: not_null(account_id, ad_group_id, campaign_id)
SELECT DISTINCT ON (1, 2)
       regexp_replace(r.account_id, '^act_', '') AS account_id,
       nullif(r.payload ->> 'id', '') AS ad_group_id,
       nullif(r.payload ->> 'campaign_id', '') AS campaign_id,
       r.record_key,
       'meta.adset' AS _stream,
       nullif(r.payload ->> 'name', '') AS name,
       nullif(coalesce(r.payload ->> 'status', r.payload ->> 'effective_status'), '') AS status,
       r.connection_id,
       r.sync_run_id,
       r.fetched_at,
       %(run_id)s::bigint AS run_id
  FROM raw_record r
 WHERE r.stream = 'meta.adset'
   AND (%(all_accounts)s OR r.account_id = ANY(%(raw_account_ids)s))
 ORDER BY 1, 2, r.fetched_at DESC, r.record_key
