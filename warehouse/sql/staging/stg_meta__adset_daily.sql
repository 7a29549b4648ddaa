-- name: stg_meta__adset_daily
-- description: Meta insights at ad set × day. Every metric arrives as a string; spend and action values are decimal amounts in the account currency (→ micros). Conversions and their value come from `actions` / `action_values`: for each configured group of alias action types (setting meta.conversion_action_groups) the first alias present counts — aliases of one purchase are never added.
-- layer: staging
-- platform: meta
-- inputs: raw_record
-- materialization: merge
-- unique_key: record_key
-- scope: date BETWEEN %(date_from)s AND %(date_to)s AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
-- test: not_null(date, campaign_id, ad_group_id, impressions, clicks, spend_micros, conversions_micros, conversions_value_micros)
-- test: non_negative(impressions, clicks, spend_micros, conversions_micros, conversions_value_micros)
-- test: date_in_range(date)
SELECT r.record_key,
       'meta.adset_daily' AS _stream,
       regexp_replace(r.account_id, '^act_', '') AS account_id,
       r.date,
       nullif(r.payload ->> 'campaign_id', '') AS campaign_id,
       nullif(r.payload ->> 'adset_id', '') AS ad_group_id,
       CASE WHEN m.impressions ~ '^-?[0-9]+$' AND length(m.impressions) < 16 THEN m.impressions::bigint END AS impressions,
       CASE WHEN m.clicks ~ '^-?[0-9]+$' AND length(m.clicks) < 16 THEN m.clicks::bigint END AS clicks,
       CASE WHEN m.spend ~ '^-?[0-9]+(\.[0-9]+)?$' AND length(m.spend) < 20
            THEN CASE WHEN abs(m.spend::numeric) < 1e12 THEN round(m.spend::numeric * 1000000)::bigint END END AS spend_micros,
       CASE WHEN jsonb_typeof(r.payload -> 'actions') NOT IN ('array', 'null') THEN NULL
            ELSE conversions.micros END AS conversions_micros,
       CASE WHEN jsonb_typeof(r.payload -> 'action_values') NOT IN ('array', 'null') THEN NULL
            ELSE conversion_values.micros END AS conversions_value_micros,
       upper(nullif(r.payload ->> 'account_currency', '')) AS currency,
       r.connection_id,
       r.sync_run_id,
       r.fetched_at,
       %(run_id)s::bigint AS run_id
  FROM raw_record r
 CROSS JOIN LATERAL (
        SELECT r.payload ->> 'impressions' AS impressions,
               r.payload ->> 'clicks' AS clicks,
               r.payload ->> 'spend' AS spend
       ) m
 CROSS JOIN LATERAL (
        -- one value per alias group: the highest-priority alias present in the row
        SELECT CASE WHEN count(*) = 0 THEN 0
                    WHEN bool_and(picked.v ~ '^-?[0-9]{1,12}(\.[0-9]+)?$')
                    -- aggregates run before the CASE picks a branch: the cast must guard itself
                    THEN sum(CASE WHEN picked.v ~ '^-?[0-9]{1,12}(\.[0-9]+)?$' THEN round(picked.v::numeric * 1000000) END)::bigint
               END AS micros
          FROM (SELECT DISTINCT ON (cfg.grp) a ->> 'value' AS v
                  FROM jsonb_array_elements(CASE WHEN jsonb_typeof(r.payload -> 'actions') = 'array'
                                                 THEN r.payload -> 'actions' ELSE '[]'::jsonb END) a
                  JOIN unnest(%(meta_action_types)s::text[], %(meta_action_groups)s::int[], %(meta_action_priorities)s::int[])
                       AS cfg(action_type, grp, prio) ON cfg.action_type = a ->> 'action_type'
                 ORDER BY cfg.grp, cfg.prio) picked
       ) conversions
 CROSS JOIN LATERAL (
        SELECT CASE WHEN count(*) = 0 THEN 0
                    WHEN bool_and(picked.v ~ '^-?[0-9]{1,12}(\.[0-9]+)?$')
                    -- aggregates run before the CASE picks a branch: the cast must guard itself
                    THEN sum(CASE WHEN picked.v ~ '^-?[0-9]{1,12}(\.[0-9]+)?$' THEN round(picked.v::numeric * 1000000) END)::bigint
               END AS micros
          FROM (SELECT DISTINCT ON (cfg.grp) a ->> 'value' AS v
                  FROM jsonb_array_elements(CASE WHEN jsonb_typeof(r.payload -> 'action_values') = 'array'
                                                 THEN r.payload -> 'action_values' ELSE '[]'::jsonb END) a
                  JOIN unnest(%(meta_action_types)s::text[], %(meta_action_groups)s::int[], %(meta_action_priorities)s::int[])
                       AS cfg(action_type, grp, prio) ON cfg.action_type = a ->> 'action_type'
                 ORDER BY cfg.grp, cfg.prio) picked
       ) conversion_values
 WHERE r.stream = 'meta.adset_daily'
   AND (r.date BETWEEN %(date_from)s AND %(date_to)s OR r.date IS NULL)
   AND (%(all_accounts)s OR r.account_id = ANY(%(raw_account_ids)s))
