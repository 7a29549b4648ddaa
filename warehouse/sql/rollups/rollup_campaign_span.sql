-- name: rollup_campaign_span
-- description: Each campaign's first and last day with data and its lifetime totals (the running total on its last day). With the cumulative rollup it answers any range total per campaign.
-- layer: rollups
-- inputs: rollup_campaign_cumulative, rollup_day_campaign, dim_campaign
-- materialization: merge
-- unique_key: campaign_key
-- scope: platform = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
SELECT c.id AS campaign_key, c.platform, c.account_id, s.first_day, s.last_day,
       t.impressions, t.clicks, t.spend_micros, t.conversions_micros, t.conversions_value_micros
  FROM dim_campaign c
 CROSS JOIN LATERAL (
        SELECT min(d.date_day) AS first_day, max(d.date_day) AS last_day
          FROM rollup_day_campaign d WHERE d.campaign_key = c.id
       ) s
  JOIN rollup_campaign_cumulative t ON t.date_day = s.last_day AND t.campaign_key = c.id
 WHERE c.platform = ANY(%(platforms)s) AND (%(all_accounts)s OR c.account_id = ANY(%(account_ids)s))
