-- name: rollup_day_platform
-- description: Day × platform totals in the reporting currency: dashboard totals and daily series by platform. Summed from the day × account rollup (a few rows per day) rather than the fact, whose key starts with the account.
-- layer: rollups
-- inputs: rollup_day_account
-- materialization: merge
-- unique_key: date_day, platform
-- scope: date_day BETWEEN %(date_from)s AND %(date_to)s AND platform = ANY(%(platforms)s)
SELECT a.date_day, a.platform,
       sum(a.impressions)::bigint AS impressions,
       sum(a.clicks)::bigint AS clicks,
       sum(a.spend_micros)::bigint AS spend_micros,
       sum(a.conversions_micros)::bigint AS conversions_micros,
       sum(a.conversions_value_micros)::bigint AS conversions_value_micros,
       sum(a.fact_rows)::int AS fact_rows,
       bool_or(a.is_settling) AS is_settling
  FROM rollup_day_account a
 WHERE a.date_day BETWEEN %(date_from)s AND %(date_to)s AND a.platform = ANY(%(platforms)s)
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
