-- name: stg_airbyte__ad_performance_daily
-- description: Airbyte sources' records mapped onto the unified ad-performance shape by the bridge (connectors/airbyte/mappings.py, stream airbyte.ad_performance), summed per account, day and campaign (a source may report one campaign-day in several rows, e.g. per device). Numbers arrive as decimal strings in the account's currency; money → micros. A campaign-day with any unreadable value is null in that metric and quarantined.
-- layer: staging
-- platform: airbyte
-- inputs: raw_record
-- materialization: merge
-- unique_key: record_key
-- scope: date BETWEEN %(date_from)s AND %(date_to)s AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
-- test: not_null(date, campaign_id, ad_group_id, impressions, clicks, spend_micros, conversions_micros, conversions_value_micros)
-- test: non_negative(impressions, clicks, spend_micros, conversions_micros, conversions_value_micros)
-- test: date_in_range(date)
WITH parsed AS (
    SELECT r.account_id,
           r.date,
           nullif(r.payload ->> 'campaign_id', '') AS campaign_id,
           nullif(r.payload ->> 'campaign_name', '') AS campaign_name,
           upper(nullif(r.payload ->> 'currency', '')) AS currency,
           n.impressions, n.clicks, n.spend, n.conversions, n.value,
           r.connection_id, r.sync_run_id, r.fetched_at
      FROM raw_record r
     CROSS JOIN LATERAL (
            SELECT CASE WHEN v.impressions ~ '^-?[0-9]{1,15}(\.[0-9]+)?$' THEN v.impressions::numeric END AS impressions,
                   CASE WHEN v.clicks ~ '^-?[0-9]{1,15}(\.[0-9]+)?$' THEN v.clicks::numeric END AS clicks,
                   CASE WHEN v.spend ~ '^-?[0-9]{1,12}(\.[0-9]+)?$' THEN v.spend::numeric END AS spend,
                   CASE WHEN v.conversions ~ '^-?[0-9]{1,12}(\.[0-9]+)?$' THEN v.conversions::numeric END AS conversions,
                   CASE WHEN v.value ~ '^-?[0-9]{1,12}(\.[0-9]+)?$' THEN v.value::numeric END AS value
              FROM (SELECT coalesce(r.payload ->> 'impressions', '0') AS impressions,
                           coalesce(r.payload ->> 'clicks', '0') AS clicks,
                           r.payload ->> 'spend' AS spend,
                           coalesce(r.payload ->> 'conversions', '0') AS conversions,
                           coalesce(r.payload ->> 'value', '0') AS value) v
           ) n
     WHERE r.stream = 'airbyte.ad_performance'
       AND (r.date BETWEEN %(date_from)s AND %(date_to)s OR r.date IS NULL)
       AND (%(all_accounts)s OR r.account_id = ANY(%(raw_account_ids)s))
)
SELECT p.account_id || '|' || coalesce(p.date::text, '?') || '|' || coalesce(p.campaign_id, '?') AS record_key,
       'airbyte.ad_performance' AS _stream,
       p.account_id,
       p.date,
       p.campaign_id,
       ''::text AS ad_group_id,
       max(p.campaign_name) AS campaign_name,
       CASE WHEN count(*) = count(p.impressions) THEN round(sum(p.impressions))::bigint END AS impressions,
       CASE WHEN count(*) = count(p.clicks) THEN round(sum(p.clicks))::bigint END AS clicks,
       CASE WHEN count(*) = count(p.spend) THEN round(sum(p.spend) * 1000000)::bigint END AS spend_micros,
       CASE WHEN count(*) = count(p.conversions) THEN round(sum(p.conversions) * 1000000)::bigint END AS conversions_micros,
       CASE WHEN count(*) = count(p.value) THEN round(sum(p.value) * 1000000)::bigint END AS conversions_value_micros,
       max(p.currency) AS currency,
       max(p.connection_id) AS connection_id,
       max(p.sync_run_id) AS sync_run_id,
       max(p.fetched_at) AS fetched_at,
       %(run_id)s::bigint AS run_id
  FROM parsed p
 GROUP BY p.account_id, p.date, p.campaign_id
