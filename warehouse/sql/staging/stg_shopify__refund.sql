-- name: stg_shopify__refund
-- description: Shopify refunds, one row per refund, on the day it was made in the shop's time zone (refunds arrive days after their order), with the day of the order they belong to. Amount = totalRefundedSet.shopMoney in micros.
-- layer: staging
-- platform: shopify
-- inputs: raw_record, stg_shopify__shop
-- materialization: merge
-- unique_key: refund_key
-- scope: order_date BETWEEN %(date_from)s AND %(date_to)s AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
-- test: not_null(refund_date, amount_micros)
-- test: non_negative(amount_micros)
-- test: date_in_range(refund_date)
SELECT r.record_key || '|' || coalesce(nullif(split_part(f ->> 'id', '/', 5), ''), md5(f::text)) AS refund_key,
       r.record_key,
       'shopify.order' AS _stream,
       r.account_id,
       split_part(r.record_key, '|', 2) AS order_id,
       r.date AS order_date,
       ((f ->> 'createdAt')::timestamptz AT TIME ZONE s.time_zone)::date AS refund_date,
       CASE WHEN f #>> '{totalRefundedSet,shopMoney,amount}' ~ '^-?[0-9]+(\.[0-9]+)?$'
             AND length(f #>> '{totalRefundedSet,shopMoney,amount}') < 20
            THEN round((f #>> '{totalRefundedSet,shopMoney,amount}')::numeric * 1000000)::bigint END AS amount_micros,
       upper(nullif(f #>> '{totalRefundedSet,shopMoney,currencyCode}', '')) AS currency,
       r.connection_id,
       r.sync_run_id,
       r.fetched_at,
       %(run_id)s::bigint AS run_id
  FROM raw_record r
  LEFT JOIN stg_shopify__shop s0 ON s0.account_id = r.account_id
 CROSS JOIN LATERAL (SELECT CASE WHEN s0.time_zone = ANY(%(valid_time_zones)s) THEN s0.time_zone ELSE 'UTC' END AS time_zone) s
 CROSS JOIN LATERAL jsonb_array_elements(
        CASE WHEN jsonb_typeof(r.payload -> 'refunds') = 'array' THEN r.payload -> 'refunds' ELSE '[]' END) f
 WHERE r.stream = 'shopify.order'
   AND r.date BETWEEN %(date_from)s AND %(date_to)s
   AND (%(all_accounts)s OR r.account_id = ANY(%(raw_account_ids)s))
