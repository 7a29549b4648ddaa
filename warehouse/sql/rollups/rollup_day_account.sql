-- name: rollup_day_account
-- description: Day × ad account totals, in the reporting currency and in the account's own currency (one currency per account, so its native amounts add up).
-- layer: rollups
-- inputs: fct_ad_performance_daily
-- materialization: merge
-- unique_key: date_day, platform, account_id
-- scope: date_day BETWEEN %(date_from)s AND %(date_to)s AND platform = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
SELECT f.date_day, f.platform, f.account_id,
       sum(f.impressions)::bigint AS impressions,
       sum(f.clicks)::bigint AS clicks,
       sum(f.spend_reporting_micros)::bigint AS spend_micros,
       sum(f.conversions_micros)::bigint AS conversions_micros,
       sum(f.conversions_value_reporting_micros)::bigint AS conversions_value_micros,
       min(f.currency) AS currency,
       sum(f.spend_micros)::bigint AS spend_native_micros,
       sum(f.conversions_value_micros)::bigint AS conversions_value_native_micros,
       count(*)::int AS fact_rows,
       bool_or(f.is_settling) AS is_settling
  FROM fct_ad_performance_daily f
 WHERE f.date_day BETWEEN %(date_from)s AND %(date_to)s AND f.platform = ANY(%(platforms)s)
   AND (%(all_accounts)s OR f.account_id = ANY(%(account_ids)s))
 GROUP BY 1, 2, 3
-- step: after_settle
UPDATE rollup_day_account r
   SET is_settling = false
 WHERE r.is_settling AND r.platform = ANY(%(platforms)s)
   AND NOT EXISTS (SELECT 1 FROM fct_ad_performance_daily f
                    WHERE f.is_settling AND f.platform = r.platform AND f.date_day = r.date_day AND f.account_id = r.account_id)
