-- name: rollup_day_platform
-- description: Day × platform totals in the reporting currency: dashboard totals and daily series by platform.
-- layer: rollups
-- inputs: fct_ad_performance_daily
-- materialization: merge
-- unique_key: date_day, platform
-- scope: date_day BETWEEN %(date_from)s AND %(date_to)s AND platform = ANY(%(platforms)s)
SELECT f.date_day, f.platform,
       sum(f.impressions)::bigint AS impressions,
       sum(f.clicks)::bigint AS clicks,
       sum(f.spend_reporting_micros)::bigint AS spend_micros,
       sum(f.conversions_micros)::bigint AS conversions_micros,
       sum(f.conversions_value_reporting_micros)::bigint AS conversions_value_micros,
       count(*)::int AS fact_rows,
       bool_or(f.is_settling) AS is_settling
  FROM fct_ad_performance_daily f
 WHERE f.date_day BETWEEN %(date_from)s AND %(date_to)s AND f.platform = ANY(%(platforms)s)
 GROUP BY 1, 2
-- step: after_settle
UPDATE rollup_day_platform r
   SET is_settling = false
 WHERE r.is_settling AND r.platform = ANY(%(platforms)s)
   AND NOT EXISTS (SELECT 1 FROM fct_ad_performance_daily f
                    WHERE f.is_settling AND f.platform = r.platform AND f.date_day = r.date_day)
