-- name: dim_ad_group
-- description: Google Ads and TikTok ad groups and Meta ad sets with their campaign and normalised status; ids seen only in report rows become inferred members.
-- layer: dimensions
-- inputs: stg_google_ads__ad_group, stg_meta__adset, stg_tiktok__adgroup, stg_google_ads__ad_group_daily, stg_meta__adset_daily, stg_tiktok__adgroup_daily
-- materialization: upsert
-- unique_key: platform, account_id, ad_group_id
-- test: accepted_values(status: active, paused, removed) [warn]
WITH synced AS (
    SELECT 'google_ads'::text AS platform, account_id, ad_group_id, campaign_id, name, status AS platform_status
      FROM stg_google_ads__ad_group
     WHERE 'google_ads' = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
    UNION ALL
    SELECT 'meta', account_id, ad_group_id, campaign_id, name, status
      FROM stg_meta__adset
     WHERE 'meta' = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
    UNION ALL
    SELECT 'tiktok', account_id, ad_group_id, campaign_id, name, status
      FROM stg_tiktok__adgroup
     WHERE 'tiktok' = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
), seen AS (
    (SELECT DISTINCT ON (1, 2, 3) 'google_ads'::text AS platform, account_id, ad_group_id, campaign_id
      FROM stg_google_ads__ad_group_daily
     WHERE 'google_ads' = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
       AND date BETWEEN %(date_from)s AND %(date_to)s
     ORDER BY 1, 2, 3, date DESC)
    UNION ALL
    (SELECT DISTINCT ON (1, 2, 3) 'meta', account_id, ad_group_id, campaign_id
      FROM stg_meta__adset_daily
     WHERE 'meta' = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
       AND date BETWEEN %(date_from)s AND %(date_to)s
     ORDER BY 1, 2, 3, date DESC)
    UNION ALL
    (SELECT DISTINCT ON (1, 2, 3) 'tiktok', account_id, ad_group_id, campaign_id
      FROM stg_tiktok__adgroup_daily
     WHERE 'tiktok' = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
       AND date BETWEEN %(date_from)s AND %(date_to)s
     ORDER BY 1, 2, 3, date DESC)
)
SELECT platform, account_id, ad_group_id, campaign_id, name,
       CASE upper(platform_status)
            WHEN 'ENABLED' THEN 'active' WHEN 'ACTIVE' THEN 'active'
            WHEN 'PAUSED' THEN 'paused'
            WHEN 'REMOVED' THEN 'removed' WHEN 'DELETED' THEN 'removed' WHEN 'ARCHIVED' THEN 'removed'
            ELSE 'unknown' END AS status,
       platform_status, false AS is_inferred,
       %(run_id)s::bigint AS run_id, %(now)s::timestamptz AS updated_at
  FROM synced
UNION ALL
SELECT s.platform, s.account_id, s.ad_group_id, s.campaign_id, NULL, 'unknown', NULL, true,
       %(run_id)s::bigint, %(now)s::timestamptz
  FROM seen s
 WHERE NOT EXISTS (SELECT 1 FROM synced x
                    WHERE x.platform = s.platform AND x.account_id = s.account_id AND x.ad_group_id = s.ad_group_id)
   AND NOT EXISTS (SELECT 1 FROM dim_ad_group d
                    WHERE d.platform = s.platform AND d.account_id = s.account_id AND d.ad_group_id = s.ad_group_id)
