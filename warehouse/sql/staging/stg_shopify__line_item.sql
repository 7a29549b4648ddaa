-- name: stg_shopify__line_item
-- description: Shopify order lines (product, quantity, quantity × original unit price in the shop's currency, micros), on their order's day: the Store page's top products.
-- layer: staging
-- platform: shopify
-- inputs: raw_record
-- materialization: merge
-- unique_key: line_key
-- scope: order_date BETWEEN %(date_from)s AND %(date_to)s AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
-- test: not_null(quantity, amount_micros)
-- test: non_negative(quantity, amount_micros)
SELECT r.record_key || '|' || coalesce(nullif(split_part(li ->> 'id', '/', 5), ''), md5(li::text)) AS line_key,
       r.record_key,
       'shopify.order' AS _stream,
       r.account_id,
       split_part(r.record_key, '|', 2) AS order_id,
       r.date AS order_date,
       nullif(split_part(li #>> '{product,id}', '/', 5), '') AS product_id,
       left(nullif(li ->> 'title', ''), 500) AS title,
       left(nullif(li ->> 'sku', ''), 200) AS sku,
       CASE WHEN li ->> 'quantity' ~ '^[0-9]{1,9}$' THEN (li ->> 'quantity')::bigint END AS quantity,
       CASE WHEN li ->> 'quantity' ~ '^[0-9]{1,9}$'
             AND li #>> '{originalUnitPriceSet,shopMoney,amount}' ~ '^[0-9]+(\.[0-9]+)?$'
             AND length(li #>> '{originalUnitPriceSet,shopMoney,amount}') < 16
            THEN round((li ->> 'quantity')::numeric * (li #>> '{originalUnitPriceSet,shopMoney,amount}')::numeric * 1000000)::bigint
       END AS amount_micros,
       upper(nullif(li #>> '{originalUnitPriceSet,shopMoney,currencyCode}', '')) AS currency,
       r.connection_id,
       r.sync_run_id,
       r.fetched_at,
       %(run_id)s::bigint AS run_id
  FROM raw_record r
 CROSS JOIN LATERAL jsonb_array_elements(
        CASE WHEN jsonb_typeof(r.payload -> 'lineItems') = 'array' THEN r.payload -> 'lineItems' ELSE '[]' END) li
 WHERE r.stream = 'shopify.order'
   AND r.date BETWEEN %(date_from)s AND %(date_to)s
   AND (%(all_accounts)s OR r.account_id = ANY(%(raw_account_ids)s))
