-- name: stg_ga4__traffic_daily
-- description: GA4 sessions per property, day (the property's time zone), default channel group, session source, medium and campaign (runReport). Every metric arrives as a string; purchase revenue is a decimal in the property currency (→ micros). The report's flags travel with each row: `is_other` for a row GA4 folded into "(other)", `has_other_row` when the report lost rows to "(other)", `is_thresholded` when GA4 withheld rows below its privacy thresholds.
-- layer: staging
-- platform: ga4
-- inputs: raw_record
-- materialization: merge
-- unique_key: record_key
-- scope: date BETWEEN %(date_from)s AND %(date_to)s AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
-- test: not_null(date, traffic_key, channel_group, source, medium, campaign, sessions, engaged_sessions, total_users, new_users, key_events, purchase_revenue_micros)
-- test: non_negative(sessions, engaged_sessions, total_users, new_users, key_events, purchase_revenue_micros)
-- test: date_in_range(date)
-- test: currency_code(currency) [warn]
SELECT r.record_key,
       'ga4.traffic_daily' AS _stream,
       r.account_id,
       r.date,
       split_part(r.record_key, '|', 3) AS traffic_key,
       d ->> 'sessionDefaultChannelGroup' AS channel_group,
       d ->> 'sessionSource' AS source,
       d ->> 'sessionMedium' AS medium,
       d ->> 'sessionCampaignName' AS campaign,
       CASE WHEN m ->> 'sessions' ~ '^[0-9]{1,15}$' THEN (m ->> 'sessions')::bigint END AS sessions,
       CASE WHEN m ->> 'engagedSessions' ~ '^[0-9]{1,15}$' THEN (m ->> 'engagedSessions')::bigint END AS engaged_sessions,
       CASE WHEN m ->> 'totalUsers' ~ '^[0-9]{1,15}$' THEN (m ->> 'totalUsers')::bigint END AS total_users,
       CASE WHEN m ->> 'newUsers' ~ '^[0-9]{1,15}$' THEN (m ->> 'newUsers')::bigint END AS new_users,
       CASE WHEN m ->> 'keyEvents' ~ '^[0-9]{1,15}$' THEN (m ->> 'keyEvents')::bigint END AS key_events,
       CASE WHEN m ->> 'purchaseRevenue' ~ '^-?[0-9]{1,12}(\.[0-9]+)?$'
            THEN round((m ->> 'purchaseRevenue')::numeric * 1000000)::bigint END AS purchase_revenue_micros,
       upper(nullif(rep ->> 'currencyCode', '')) AS currency,
       nullif(rep ->> 'timeZone', '') AS time_zone,
       (d ->> 'sessionDefaultChannelGroup' = '(other)' OR d ->> 'sessionSource' = '(other)'
        OR d ->> 'sessionMedium' = '(other)' OR d ->> 'sessionCampaignName' = '(other)') AS is_other,
       coalesce((rep ->> 'dataLossFromOtherRow')::boolean, false) AS has_other_row,
       coalesce((rep ->> 'subjectToThresholding')::boolean, false) AS is_thresholded,
       r.connection_id,
       r.sync_run_id,
       r.fetched_at,
       %(run_id)s::bigint AS run_id
  FROM raw_record r
 CROSS JOIN LATERAL (SELECT r.payload -> 'dimensions' AS d, r.payload -> 'metrics' AS m, r.payload -> 'report' AS rep) x
 WHERE r.stream = 'ga4.traffic_daily'
   AND r.date BETWEEN %(date_from)s AND %(date_to)s
   AND (%(all_accounts)s OR r.account_id = ANY(%(raw_account_ids)s))
