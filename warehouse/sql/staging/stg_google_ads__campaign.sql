-- name: stg_google_ads__campaign
-- description: Google Ads campaigns: name, status and advertising channel type (Bosco's "objective").
-- layer: staging
-- platform: google_ads
-- inputs: raw_record
-- materialization: merge
-- unique_key: account_id, campaign_id
-- scope: (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
-- test: not_null(account_id, campaign_id)
SELECT DISTINCT ON (1, 2)
       replace(r.account_id, '-', '') AS account_id,
       nullif(r.payload #>> '{campaign,id}', '') AS campaign_id,
       r.record_key,
       'google_ads.campaign' AS _stream,
       nullif(r.payload #>> '{campaign,name}', '') AS name,
       nullif(r.payload #>> '{campaign,status}', '') AS status,
       nullif(r.payload #>> '{campaign,advertisingChannelType}', '') AS objective,
       r.connection_id,
       r.sync_run_id,
       r.fetched_at,
       %(run_id)s::bigint AS run_id
  FROM raw_record r
 WHERE r.stream = 'google_ads.campaign'
   AND (%(all_accounts)s OR r.account_id = ANY(%(raw_account_ids)s))
 ORDER BY 1, 2, r.fetched_at DESC, r.record_key
