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
-- The facts' rule (a day settles when it leaves the account's restatement window, counted in the
-- account's own time zone) applied to the rollup directly: no scan of the facts.
UPDATE rollup_day_account r
   SET is_settling = false
  FROM dim_ad_account a, dim_platform p
 WHERE r.is_settling AND r.platform = ANY(%(platforms)s)
   AND a.platform = r.platform AND a.account_id = r.account_id AND p.code = r.platform
   AND a.time_zone = ANY(%(valid_time_zones)s)
   AND r.date_day <= (%(now)s::timestamptz AT TIME ZONE a.time_zone)::date - p.restatement_days
