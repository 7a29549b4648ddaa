-- name: stg_google_ads__ad_group
-- description: Google Ads ad groups with the campaign they belong to.
-- layer: staging
-- platform: google_ads
-- inputs: raw_record
-- materialization: merge
-- unique_key: account_id, ad_group_id
-- scope: (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
-- test: not_null(account_id, ad_group_id, campaign_id)
SELECT DISTINCT ON (1, 2)
       replace(r.account_id, '-', '') AS account_id,
       nullif(r.payload #>> '{adGroup,id}', '') AS ad_group_id,
       nullif(r.payload #>> '{campaign,id}', '') AS campaign_id,
       r.record_key,
       'google_ads.ad_group' AS _stream,
       nullif(r.payload #>> '{adGroup,name}', '') AS name,
       nullif(r.payload #>> '{adGroup,status}', '') AS status,
       r.connection_id,
       r.sync_run_id,
       r.fetched_at,
       %(run_id)s::bigint AS run_id
  FROM raw_record r
 WHERE r.stream = 'google_ads.ad_group'
   AND (%(all_accounts)s OR r.account_id = ANY(%(raw_account_ids)s))
 ORDER BY 1, 2, r.fetched_at DESC, r.record_key
