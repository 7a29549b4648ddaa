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
-- A platform's day settles once it has left the restatement window of every account of the
-- platform (the earliest cutoff across their time zones): no scan of the facts.
UPDATE rollup_day_platform r
   SET is_settling = false
  FROM (SELECT a.platform, min((%(now)s::timestamptz AT TIME ZONE a.time_zone)::date - p.restatement_days) AS cutoff
          FROM dim_ad_account a JOIN dim_platform p ON p.code = a.platform
         WHERE a.platform = ANY(%(platforms)s) AND a.time_zone = ANY(%(valid_time_zones)s)
         GROUP BY a.platform) c
 WHERE r.is_settling AND r.platform = c.platform AND r.date_day <= c.cutoff
