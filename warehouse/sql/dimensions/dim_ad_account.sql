-- name: dim_ad_account
-- description: Ad accounts of every platform with name, currency and time zone. Accounts seen in report rows before their account record arrived are kept as inferred members (currency from the row when the platform sends one), so report rows are never orphaned.
-- layer: dimensions
-- inputs: stg_google_ads__customer, stg_meta__ad_account, stg_tiktok__advertiser, stg_airbyte__account, stg_google_ads__ad_group_daily, stg_meta__adset_daily, stg_tiktok__adgroup_daily, stg_airbyte__ad_performance_daily, stg_upload__ad_daily
-- materialization: upsert
-- unique_key: platform, account_id
-- test: not_null(currency) [warn]
-- test: currency_code(currency) [warn]
WITH synced AS (
    SELECT 'google_ads'::text AS platform, account_id, name, currency, time_zone
      FROM stg_google_ads__customer
     WHERE 'google_ads' = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
    UNION ALL
    SELECT 'meta', account_id, name, currency, time_zone
      FROM stg_meta__ad_account
     WHERE 'meta' = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
    UNION ALL
    SELECT 'tiktok', account_id, name, currency, time_zone
      FROM stg_tiktok__advertiser
     WHERE 'tiktok' = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
    UNION ALL
    SELECT 'airbyte', account_id, name, currency, time_zone
      FROM stg_airbyte__account
     WHERE 'airbyte' = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
    UNION ALL
    -- an uploaded file names its accounts; currency and time zone of the newest uploaded day
    SELECT * FROM (
        SELECT DISTINCT ON (platform, account_id) platform, account_id, account_id AS name, currency, time_zone
          FROM stg_upload__ad_daily
         WHERE platform = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
         ORDER BY platform, account_id, date DESC
    ) u
), seen AS (
    SELECT 'google_ads'::text AS platform, account_id, NULL::text AS currency
      FROM stg_google_ads__ad_group_daily
     WHERE 'google_ads' = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
       AND date BETWEEN %(date_from)s AND %(date_to)s
     GROUP BY account_id
    UNION ALL
    SELECT 'meta', account_id, max(currency)
      FROM stg_meta__adset_daily
     WHERE 'meta' = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
       AND date BETWEEN %(date_from)s AND %(date_to)s
     GROUP BY account_id
    UNION ALL
    SELECT 'tiktok', account_id, max(currency)
      FROM stg_tiktok__adgroup_daily
     WHERE 'tiktok' = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
       AND date BETWEEN %(date_from)s AND %(date_to)s
     GROUP BY account_id
    UNION ALL
    SELECT 'airbyte', account_id, max(currency)
      FROM stg_airbyte__ad_performance_daily
     WHERE 'airbyte' = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
       AND date BETWEEN %(date_from)s AND %(date_to)s
     GROUP BY account_id
)
SELECT platform, account_id, name, currency, time_zone, false AS is_inferred,
       %(run_id)s::bigint AS run_id, %(now)s::timestamptz AS updated_at
  FROM synced
UNION ALL
SELECT s.platform, s.account_id, NULL, s.currency, NULL, true, %(run_id)s::bigint, %(now)s::timestamptz
  FROM seen s
 WHERE NOT EXISTS (SELECT 1 FROM synced x WHERE x.platform = s.platform AND x.account_id = s.account_id)
   AND NOT EXISTS (SELECT 1 FROM dim_ad_account d
                    WHERE d.platform = s.platform AND d.account_id = s.account_id AND NOT d.is_inferred)
