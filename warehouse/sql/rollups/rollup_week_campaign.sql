-- name: rollup_week_campaign
-- description: ISO week × campaign totals, rebuilt for every week the window touches.
-- layer: rollups
-- inputs: rollup_day_campaign
-- materialization: merge
-- unique_key: week_start, campaign_key
-- scope: week_start BETWEEN date_trunc('week', %(date_from)s::date)::date AND %(date_to)s AND platform = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
SELECT date_trunc('week', d.date_day)::date AS week_start, d.campaign_key, d.platform, d.account_id,
       sum(d.impressions)::bigint AS impressions,
       sum(d.clicks)::bigint AS clicks,
       sum(d.spend_micros)::bigint AS spend_micros,
       sum(d.conversions_micros)::bigint AS conversions_micros,
       sum(d.conversions_value_micros)::bigint AS conversions_value_micros
  FROM rollup_day_campaign d
 WHERE d.date_day BETWEEN date_trunc('week', %(date_from)s::date)::date
                      AND (date_trunc('week', %(date_to)s::date) + interval '6 days')::date
   AND d.platform = ANY(%(platforms)s) AND (%(all_accounts)s OR d.account_id = ANY(%(account_ids)s))
 GROUP BY 1, 2, 3, 4
