-- name: rollup_day_campaign
-- description: Day × campaign totals in the reporting currency, keyed by the compact campaign_key.
-- layer: rollups
-- inputs: fct_ad_performance_daily, dim_campaign
-- materialization: merge
-- unique_key: date_day, campaign_key
-- scope: campaign_key IN (SELECT c.id FROM dim_campaign c WHERE c.platform = ANY(%(platforms)s) AND (%(all_accounts)s OR c.account_id = ANY(%(account_ids)s))) AND date_day BETWEEN %(date_from)s AND %(date_to)s
-- test: reconciles_with_facts(fct_ad_performance_daily)
SELECT f.date_day, c.id AS campaign_key, f.platform, f.account_id,
       sum(f.impressions)::bigint AS impressions,
       sum(f.clicks)::bigint AS clicks,
       sum(f.spend_reporting_micros)::bigint AS spend_micros,
       sum(f.conversions_micros)::bigint AS conversions_micros,
       sum(f.conversions_value_reporting_micros)::bigint AS conversions_value_micros
  FROM fct_ad_performance_daily f
  JOIN dim_campaign c ON c.platform = f.platform AND c.account_id = f.account_id AND c.campaign_id = f.campaign_id
 WHERE f.date_day BETWEEN %(date_from)s AND %(date_to)s AND f.platform = ANY(%(platforms)s)
   AND (%(all_accounts)s OR f.account_id = ANY(%(account_ids)s))
 GROUP BY 1, 2, 3, 4
