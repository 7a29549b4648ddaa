-- name: stg_shopify__order
-- description: Shopify orders, one row per order, on the day it was placed in the shop's time zone. Money is the shop's currency in micros (shopMoney; presentmentMoney stays in the raw payload): gross = subtotal + discounts (line items at their original prices), refunded = the sum of the order's refunds so far. A customer is new when this is their first order (`customerJourneySummary.customerOrderIndex` = 1, else `customer.numberOfOrders` ≤ 1 at order time). UTM tags, landing page and referrer come from the customer's first visit.
-- layer: staging
-- platform: shopify
-- inputs: raw_record
-- materialization: merge
-- unique_key: record_key
-- scope: date BETWEEN %(date_from)s AND %(date_to)s AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
-- test: not_null(date, order_id, created_at, updated_at, gross_micros, discounts_micros, shipping_micros, tax_micros, total_micros, refunded_micros, items)
-- test: non_negative(gross_micros, discounts_micros, refunded_micros, items)
-- test: date_in_range(date)
-- test: currency_code(currency)
SELECT r.record_key,
       'shopify.order' AS _stream,
       r.account_id,
       split_part(r.record_key, '|', 2) AS order_id,
       nullif(r.payload ->> 'name', '') AS name,
       r.date,
       (r.payload ->> 'createdAt')::timestamptz AS created_at,
       (r.payload ->> 'updatedAt')::timestamptz AS updated_at,
       upper(nullif(r.payload ->> 'currencyCode', '')) AS currency,
       upper(nullif(r.payload ->> 'presentmentCurrencyCode', '')) AS presentment_currency,
       m.subtotal + m.discounts AS gross_micros,
       m.discounts AS discounts_micros,
       m.shipping AS shipping_micros,
       m.tax AS tax_micros,
       m.total AS total_micros,
       (SELECT coalesce(sum(CASE WHEN x.amount ~ '^[0-9]+(\.[0-9]+)?$' AND length(x.amount) < 20
                                 THEN round(x.amount::numeric * 1000000)::bigint END), 0)
          FROM jsonb_array_elements(CASE WHEN jsonb_typeof(r.payload -> 'refunds') = 'array' THEN r.payload -> 'refunds' ELSE '[]' END) f
         CROSS JOIN LATERAL (SELECT f #>> '{totalRefundedSet,shopMoney,amount}' AS amount) x) AS refunded_micros,
       (SELECT coalesce(sum((li ->> 'quantity')::bigint), 0)
          FROM jsonb_array_elements(CASE WHEN jsonb_typeof(r.payload -> 'lineItems') = 'array' THEN r.payload -> 'lineItems' ELSE '[]' END) li
         WHERE li ->> 'quantity' ~ '^[0-9]{1,9}$') AS items,
       nullif(r.payload #>> '{customer,id}', '') AS customer_id,
       CASE WHEN r.payload #>> '{customerJourneySummary,customerOrderIndex}' ~ '^[0-9]{1,9}$'
            THEN (r.payload #>> '{customerJourneySummary,customerOrderIndex}')::int END AS customer_order_index,
       coalesce(CASE WHEN r.payload #>> '{customerJourneySummary,customerOrderIndex}' ~ '^[0-9]{1,9}$'
                     THEN (r.payload #>> '{customerJourneySummary,customerOrderIndex}')::int = 1 END,
                CASE WHEN r.payload #>> '{customer,numberOfOrders}' ~ '^[0-9]{1,9}$'
                     THEN (r.payload #>> '{customer,numberOfOrders}')::int <= 1 END,
                false) AS is_new_customer,
       nullif(r.payload ->> 'sourceName', '') AS source_name,
       nullif(r.payload #>> '{customerJourneySummary,firstVisit,utmParameters,source}', '') AS utm_source,
       nullif(r.payload #>> '{customerJourneySummary,firstVisit,utmParameters,medium}', '') AS utm_medium,
       left(nullif(r.payload #>> '{customerJourneySummary,firstVisit,utmParameters,campaign}', ''), 500) AS utm_campaign,
       nullif(r.payload #>> '{customerJourneySummary,firstVisit,landingPage}', '') AS landing_page,
       nullif(r.payload #>> '{customerJourneySummary,firstVisit,referrerUrl}', '') AS referrer,
       coalesce((r.payload ->> 'test')::boolean, false) AS is_test,
       r.payload ->> 'cancelledAt' IS NOT NULL AS is_cancelled,
       r.connection_id,
       r.sync_run_id,
       r.fetched_at,
       %(run_id)s::bigint AS run_id
  FROM raw_record r
 CROSS JOIN LATERAL (
        SELECT CASE WHEN a.subtotal ~ '^-?[0-9]+(\.[0-9]+)?$' AND length(a.subtotal) < 20 THEN round(a.subtotal::numeric * 1000000)::bigint END AS subtotal,
               CASE WHEN a.discounts ~ '^-?[0-9]+(\.[0-9]+)?$' AND length(a.discounts) < 20 THEN round(a.discounts::numeric * 1000000)::bigint END AS discounts,
               CASE WHEN a.shipping ~ '^-?[0-9]+(\.[0-9]+)?$' AND length(a.shipping) < 20 THEN round(a.shipping::numeric * 1000000)::bigint END AS shipping,
               CASE WHEN a.tax ~ '^-?[0-9]+(\.[0-9]+)?$' AND length(a.tax) < 20 THEN round(a.tax::numeric * 1000000)::bigint END AS tax,
               CASE WHEN a.total ~ '^-?[0-9]+(\.[0-9]+)?$' AND length(a.total) < 20 THEN round(a.total::numeric * 1000000)::bigint END AS total
          FROM (SELECT r.payload #>> '{subtotalPriceSet,shopMoney,amount}' AS subtotal,
                       r.payload #>> '{totalDiscountsSet,shopMoney,amount}' AS discounts,
                       r.payload #>> '{totalShippingPriceSet,shopMoney,amount}' AS shipping,
                       r.payload #>> '{totalTaxSet,shopMoney,amount}' AS tax,
                       r.payload #>> '{totalPriceSet,shopMoney,amount}' AS total) a
       ) m
 WHERE r.stream = 'shopify.order'
   AND r.date BETWEEN %(date_from)s AND %(date_to)s
   AND (%(all_accounts)s OR r.account_id = ANY(%(raw_account_ids)s))
