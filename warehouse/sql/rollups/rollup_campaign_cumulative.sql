-- name: rollup_campaign_cumulative
-- description: Running totals per campaign for every day from its first to its last day with data. The total of any date range for every campaign is then cum(end) − cum(start − 1): two rows per campaign instead of one per day. A window recomputes the running totals from its first day on (later days shift by the window's change); days before it are unchanged, so the running total just before the window is the base.
-- layer: rollups
-- inputs: rollup_day_campaign, dim_campaign
-- materialization: merge
-- unique_key: date_day, campaign_key
-- scope: date_day >= %(date_from)s AND campaign_key IN (SELECT c.id FROM dim_campaign c WHERE c.platform = ANY(%(platforms)s) AND (%(all_accounts)s OR c.account_id = ANY(%(account_ids)s)))
WITH affected AS (
    SELECT c.id AS campaign_key, s.first_day, s.last_day,
           greatest(%(date_from)s::date, s.first_day) AS start_day
      FROM dim_campaign c
     CROSS JOIN LATERAL (
            SELECT min(d.date_day) AS first_day, max(d.date_day) AS last_day
              FROM rollup_day_campaign d WHERE d.campaign_key = c.id
           ) s
     WHERE c.platform = ANY(%(platforms)s) AND (%(all_accounts)s OR c.account_id = ANY(%(account_ids)s))
       AND s.last_day >= greatest(%(date_from)s::date, s.first_day)
), base AS (
    -- the running total on the day before the window; if that row is missing, the sum of the days
    SELECT a.campaign_key, a.start_day, a.last_day,
           coalesce(b.impressions, f.impressions, 0) AS impressions,
           coalesce(b.clicks, f.clicks, 0) AS clicks,
           coalesce(b.spend_micros, f.spend_micros, 0) AS spend_micros,
           coalesce(b.conversions_micros, f.conversions_micros, 0) AS conversions_micros,
           coalesce(b.conversions_value_micros, f.conversions_value_micros, 0) AS conversions_value_micros
      FROM affected a
      LEFT JOIN rollup_campaign_cumulative b ON b.date_day = a.start_day - 1 AND b.campaign_key = a.campaign_key
      LEFT JOIN LATERAL (
            SELECT sum(d.impressions)::bigint AS impressions, sum(d.clicks)::bigint AS clicks,
                   sum(d.spend_micros)::bigint AS spend_micros, sum(d.conversions_micros)::bigint AS conversions_micros,
                   sum(d.conversions_value_micros)::bigint AS conversions_value_micros
              FROM rollup_day_campaign d
             WHERE b.campaign_key IS NULL AND a.start_day > a.first_day
               AND d.campaign_key = a.campaign_key AND d.date_day < a.start_day
           ) f ON true
)
SELECT g.day AS date_day, b.campaign_key,
       (b.impressions + sum(coalesce(d.impressions, 0)) OVER w)::bigint AS impressions,
       (b.clicks + sum(coalesce(d.clicks, 0)) OVER w)::bigint AS clicks,
       (b.spend_micros + sum(coalesce(d.spend_micros, 0)) OVER w)::bigint AS spend_micros,
       (b.conversions_micros + sum(coalesce(d.conversions_micros, 0)) OVER w)::bigint AS conversions_micros,
       (b.conversions_value_micros + sum(coalesce(d.conversions_value_micros, 0)) OVER w)::bigint AS conversions_value_micros
  FROM base b
 CROSS JOIN LATERAL (SELECT generate_series(b.start_day, b.last_day, interval '1 day')::date AS day) g
  LEFT JOIN rollup_day_campaign d
         ON d.campaign_key = b.campaign_key AND d.date_day = g.day
        -- redundant bounds, so the planner reads only the window's days of these platforms
        AND d.date_day >= %(date_from)s AND d.platform = ANY(%(platforms)s)
WINDOW w AS (PARTITION BY b.campaign_key ORDER BY g.day)
