-- name: fct_sessions_daily
-- description: GA4 sessions beside ad spend, at (property, day, traffic row = default channel group × session source × medium × campaign): sessions, engaged sessions, users, new users, key events and purchase revenue in the property's currency and in the workspace's reporting currency at that day's rate (or the last earlier one, flagged). The property's time zone and currency come from its Admin API record (else from the report's metadata). Flags: `is_other` (a row GA4 folded into "(other)"), `has_other_row` (the report lost rows to "(other)"), `is_thresholded` (GA4 withheld rows below its privacy thresholds), `is_settling` (GA4 may still be processing the day). Changes to rows that existed before are written to the restatement log (per property, day and channel group).
-- layer: facts
-- inputs: stg_ga4__traffic_daily, stg_ga4__property, dim_platform, wh_fx_rate
-- materialization: merge
-- unique_key: property_id, date_day, traffic_key
-- scope: 'ga4' = ANY(%(platforms)s) AND (%(all_accounts)s OR property_id = ANY(%(account_ids)s)) AND date_day BETWEEN %(date_from)s AND %(date_to)s
-- test: not_null(currency) "no currency for this GA4 property: its property record has not been synced"
-- test: currency_code(currency)
-- test: not_null(time_zone) "no valid time zone for this GA4 property: its property record is missing or names an unknown zone"
-- test: fx_rate_available(fx_rate)
-- test: unique(property_id, date_day, traffic_key)
-- test: fx_fallback(fx_fallback) [warn]
WITH daily AS (
    SELECT d.record_key AS _record_key, 'ga4.traffic_daily'::text AS _stream,
           d.account_id AS property_id, d.date AS date_day, d.traffic_key, d.channel_group, d.source, d.medium,
           d.campaign, d.sessions, d.engaged_sessions, d.total_users, d.new_users, d.key_events,
           d.purchase_revenue_micros, d.is_other, d.has_other_row, d.is_thresholded, d.sync_run_id,
           coalesce(p.currency, d.currency) AS currency,
           coalesce(p.time_zone, d.time_zone) AS any_zone
      FROM stg_ga4__traffic_daily d
      LEFT JOIN stg_ga4__property p ON p.account_id = d.account_id
     WHERE 'ga4' = ANY(%(platforms)s)
       AND d.date BETWEEN %(date_from)s AND %(date_to)s
       AND (%(all_accounts)s OR d.account_id = ANY(%(account_ids)s))
), enriched AS (
    SELECT d.*,
           CASE WHEN d.any_zone = ANY(%(valid_time_zones)s) THEN d.any_zone END AS time_zone,
           (SELECT restatement_days FROM dim_platform WHERE code = 'ga4') AS restatement_days
      FROM daily d
),
-- include: fx_rates
SELECT e.property_id, e.date_day, e.traffic_key, e.channel_group, e.source, e.medium, e.campaign,
       e.sessions, e.engaged_sessions, e.total_users, e.new_users, e.key_events, e.purchase_revenue_micros,
       e.currency, e.time_zone,
       %(reporting_currency)s::text AS reporting_currency,
       round(e.purchase_revenue_micros * r.fx_rate)::bigint AS purchase_revenue_reporting_micros,
-- include: fx_columns
       e.is_other, e.has_other_row, e.is_thresholded,
       CASE WHEN e.time_zone IS NULL OR e.restatement_days IS NULL THEN true
            ELSE e.date_day > (%(now)s::timestamptz AT TIME ZONE e.time_zone)::date - e.restatement_days END AS is_settling,
       %(run_id)s::bigint AS run_id,
       e.sync_run_id,
       e._stream,
       e._record_key,
       %(fx_max_fallback_days)s::int AS _fx_max_fallback_days
  FROM enriched e
  LEFT JOIN rates r ON r.currency = e.currency AND r.date_day = e.date_day
-- step: restatements
-- GA4 revisions (days it was still processing, late hits): rows that existed before and now differ
-- are logged per property, day and channel group and metric, before the merge overwrites them.
INSERT INTO wh_restatement (run_id, detected_at, date_day, platform, account_id, campaign_id, metric, old_value, new_value, currency)
WITH changed AS MATERIALIZED (
    SELECT DISTINCT o.property_id, o.date_day, o.channel_group
      FROM fct_sessions_daily o
      LEFT JOIN _m n
        ON n.property_id = o.property_id AND n.date_day = o.date_day AND n.traffic_key = o.traffic_key
     WHERE %(log_restatements)s AND 'ga4' = ANY(%(platforms)s)
       AND (%(all_accounts)s OR o.property_id = ANY(%(account_ids)s))
       AND o.date_day BETWEEN %(date_from)s AND %(date_to)s
       AND (n.property_id IS NULL
            OR (o.sessions, o.engaged_sessions, o.key_events, o.purchase_revenue_micros)
               IS DISTINCT FROM (n.sessions, n.engaged_sessions, n.key_events, n.purchase_revenue_micros))
), sides AS (
    SELECT o.property_id, o.date_day, o.channel_group, o.currency, true AS is_old,
           o.sessions, o.engaged_sessions, o.key_events, o.purchase_revenue_micros
      FROM changed c
      JOIN fct_sessions_daily o
        ON o.property_id = c.property_id AND o.date_day = c.date_day AND o.channel_group = c.channel_group
    UNION ALL
    SELECT n.property_id, n.date_day, n.channel_group, NULL, false,
           n.sessions, n.engaged_sessions, n.key_events, n.purchase_revenue_micros
      FROM changed c
      JOIN _m n
        ON n.property_id = c.property_id AND n.date_day = c.date_day AND n.channel_group = c.channel_group
), totals AS (
    SELECT property_id, date_day, channel_group, max(currency) AS currency,
           coalesce(sum(sessions) FILTER (WHERE is_old), 0) AS old_sessions,
           coalesce(sum(sessions) FILTER (WHERE NOT is_old), 0) AS new_sessions,
           coalesce(sum(engaged_sessions) FILTER (WHERE is_old), 0) AS old_engaged,
           coalesce(sum(engaged_sessions) FILTER (WHERE NOT is_old), 0) AS new_engaged,
           coalesce(sum(key_events) FILTER (WHERE is_old), 0) AS old_key_events,
           coalesce(sum(key_events) FILTER (WHERE NOT is_old), 0) AS new_key_events,
           coalesce(sum(purchase_revenue_micros) FILTER (WHERE is_old), 0) AS old_revenue,
           coalesce(sum(purchase_revenue_micros) FILTER (WHERE NOT is_old), 0) AS new_revenue
      FROM sides
     GROUP BY 1, 2, 3
)
SELECT %(run_id)s::bigint, %(now)s::timestamptz, t.date_day, 'ga4', t.property_id, left(t.channel_group, 64),
       v.metric, v.old_value, v.new_value, coalesce(t.currency, '')
  FROM totals t
 CROSS JOIN LATERAL (VALUES
        ('sessions', t.old_sessions::numeric, t.new_sessions::numeric),
        ('engaged_sessions', t.old_engaged::numeric, t.new_engaged::numeric),
        ('key_events', t.old_key_events::numeric, t.new_key_events::numeric),
        ('purchase_revenue', t.old_revenue / 1000000.0, t.new_revenue / 1000000.0)
       ) AS v(metric, old_value, new_value)
 WHERE v.old_value <> v.new_value
-- step: after_settle
-- Days GA4 has finished processing since they were written stop settling.
UPDATE fct_sessions_daily f
   SET is_settling = false
  FROM dim_platform p
 WHERE f.is_settling AND 'ga4' = ANY(%(platforms)s) AND p.code = 'ga4'
   AND f.date_day <= (%(now)s::timestamptz AT TIME ZONE f.time_zone)::date - p.restatement_days
