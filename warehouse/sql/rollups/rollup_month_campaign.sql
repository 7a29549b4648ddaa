-- name: rollup_month_campaign
-- description: Calendar month × campaign totals, rebuilt for every month the window touches.
-- layer: rollups
-- inputs: rollup_day_campaign
-- materialization: merge
-- unique_key: month_start, campaign_key
-- scope: month_start BETWEEN date_trunc('month', %(date_from)s::date)::date AND %(date_to)s AND platform = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
SELECT date_trunc('month', d.date_day)::date AS month_start, d.campaign_key, d.platform, d.account_id,
       sum(d.impressions)::bigint AS impressions,
       sum(d.clicks)::bigint AS clicks,
       sum(d.spend_micros)::bigint AS spend_micros,
       sum(d.conversions_micros)::bigint AS conversions_micros,
       sum(d.conversions_value_micros)::bigint AS conversions_value_micros
  FROM rollup_day_campaign d
 WHERE d.date_day BETWEEN date_trunc('month', %(date_from)s::date)::date
                      AND (date_trunc('month', %(date_to)s::date) + interval '1 month - 1 day')::date
   AND d.platform = ANY(%(platforms)s) AND (%(all_accounts)s OR d.account_id = ANY(%(account_ids)s))
 GROUP BY 1, 2, 3, 4
