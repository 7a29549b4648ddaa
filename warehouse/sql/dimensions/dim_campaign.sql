-- name: dim_campaign
-- description: Campaigns of every platform with a normalised status (active, paused, removed) next to the platform's own, and the objective (Meta objective, Google Ads channel type). Its identity `id` is the compact campaign_key of the rollups. Campaign ids seen only in report rows become inferred members until their campaign record arrives.
-- layer: dimensions
-- inputs: stg_google_ads__campaign, stg_meta__campaign, stg_tiktok__campaign, stg_google_ads__ad_group_daily, stg_meta__adset_daily, stg_tiktok__adgroup_daily, stg_airbyte__ad_performance_daily, stg_upload__ad_daily
-- materialization: upsert
-- unique_key: platform, account_id, campaign_id
-- test: accepted_values(status: active, paused, removed) [warn]
WITH synced AS (
    SELECT 'google_ads'::text AS platform, account_id, campaign_id, name, status AS platform_status, objective
      FROM stg_google_ads__campaign
     WHERE 'google_ads' = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
    UNION ALL
    SELECT 'meta', account_id, campaign_id, name, status, objective
      FROM stg_meta__campaign
     WHERE 'meta' = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
    UNION ALL
    SELECT 'tiktok', account_id, campaign_id, name, status, objective
      FROM stg_tiktok__campaign
     WHERE 'tiktok' = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
    UNION ALL
    -- Airbyte sources name campaigns in their report rows (the latest name wins); no status
    (SELECT DISTINCT ON (account_id, campaign_id) 'airbyte', account_id, campaign_id, campaign_name, NULL, NULL
       FROM stg_airbyte__ad_performance_daily
      WHERE 'airbyte' = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
        AND campaign_name IS NOT NULL
      ORDER BY account_id, campaign_id, date DESC)
    UNION ALL
    -- uploaded files carry campaign names but no status: a campaign with uploaded rows counts as active
    SELECT * FROM (
        SELECT DISTINCT ON (platform, account_id, campaign_id) platform, account_id, campaign_id,
               coalesce(campaign_name, campaign_id), 'ACTIVE', NULL::text
          FROM stg_upload__ad_daily
         WHERE platform = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
         ORDER BY platform, account_id, campaign_id, date DESC
    ) u
), seen AS (
    SELECT DISTINCT 'google_ads'::text AS platform, account_id, campaign_id
      FROM stg_google_ads__ad_group_daily
     WHERE 'google_ads' = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
       AND date BETWEEN %(date_from)s AND %(date_to)s
    UNION
    SELECT DISTINCT 'meta', account_id, campaign_id
      FROM stg_meta__adset_daily
     WHERE 'meta' = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
       AND date BETWEEN %(date_from)s AND %(date_to)s
    UNION
    SELECT DISTINCT 'tiktok', account_id, campaign_id
      FROM stg_tiktok__adgroup_daily
     WHERE 'tiktok' = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
       AND date BETWEEN %(date_from)s AND %(date_to)s
    UNION
    SELECT DISTINCT 'airbyte', account_id, campaign_id
      FROM stg_airbyte__ad_performance_daily
     WHERE 'airbyte' = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
       AND date BETWEEN %(date_from)s AND %(date_to)s
)
SELECT platform, account_id, campaign_id, name,
       CASE upper(platform_status)
            WHEN 'ENABLED' THEN 'active' WHEN 'ACTIVE' THEN 'active'
            WHEN 'PAUSED' THEN 'paused'
            WHEN 'REMOVED' THEN 'removed' WHEN 'DELETED' THEN 'removed' WHEN 'ARCHIVED' THEN 'removed'
            ELSE 'unknown' END AS status,
       platform_status, objective, false AS is_inferred,
       %(run_id)s::bigint AS run_id, %(now)s::timestamptz AS updated_at
  FROM synced
UNION ALL
SELECT s.platform, s.account_id, s.campaign_id, NULL, 'unknown', NULL, NULL, true, %(run_id)s::bigint, %(now)s::timestamptz
  FROM seen s
 WHERE NOT EXISTS (SELECT 1 FROM synced x
                    WHERE x.platform = s.platform AND x.account_id = s.account_id AND x.campaign_id = s.campaign_id)
   AND NOT EXISTS (SELECT 1 FROM dim_campaign d
                    WHERE d.platform = s.platform AND d.account_id = s.account_id AND d.campaign_id = s.campaign_id)
