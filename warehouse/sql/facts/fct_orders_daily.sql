-- name: fct_orders_daily
-- description: A shop's day (date_day in the shop's time zone): orders placed, new and returning customers, items, gross sales, discounts, refunds made that day (whatever day their order was placed) and refunds of that day's orders (made on any day so far), net revenue = gross − discounts − refunds made that day (Shopify's "net sales"; shipping and taxes are not revenue), and new-customer revenue (gross − discounts of first orders). Money in the shop's currency and in the workspace's reporting currency at the day's ECB rate (or the last earlier one, flagged) with the rate's source, like the ad fact. Test and cancelled orders are left out. Changes to existing days (refunds arriving later, edited orders) are written to the restatement log.
-- layer: facts
-- platform: shopify
-- inputs: stg_shopify__order, stg_shopify__refund, stg_shopify__shop, dim_platform, wh_fx_rate
-- materialization: merge
-- unique_key: account_id, date_day
-- scope: (%(all_accounts)s OR account_id = ANY(%(account_ids)s)) AND date_day BETWEEN %(date_from)s AND %(date_to)s
-- test: not_null(currency) "no currency for this shop: its shop record has not been synced"
-- test: currency_code(currency)
-- test: not_null(time_zone) "no valid time zone for this shop: its shop record is missing or names an unknown zone"
-- test: fx_rate_available(fx_rate)
-- test: unique(account_id, date_day)
-- test: fx_fallback(fx_fallback) [warn]
WITH orders AS (
    SELECT o.account_id, o.date AS date_day,
           count(*) AS orders,
           count(*) FILTER (WHERE o.is_new_customer) AS new_customers,
           count(*) FILTER (WHERE NOT o.is_new_customer) AS returning_customers,
           sum(o.items) AS items,
           sum(o.gross_micros) AS gross,
           sum(o.discounts_micros) AS discounts,
           sum(o.refunded_micros) AS refunds_by_order_date,
           sum(o.gross_micros - o.discounts_micros) FILTER (WHERE o.is_new_customer) AS new_customer_revenue,
           max(o.currency) AS row_currency
      FROM stg_shopify__order o
     WHERE o.date BETWEEN %(date_from)s AND %(date_to)s
       AND (%(all_accounts)s OR o.account_id = ANY(%(account_ids)s))
       AND NOT o.is_test AND NOT o.is_cancelled
     GROUP BY 1, 2
), refunds AS (
    SELECT f.account_id, f.refund_date AS date_day, sum(f.amount_micros) AS refunds
      FROM stg_shopify__refund f
      JOIN stg_shopify__order o ON o.account_id = f.account_id AND o.order_id = f.order_id
     WHERE f.refund_date BETWEEN %(date_from)s AND %(date_to)s
       AND (%(all_accounts)s OR f.account_id = ANY(%(account_ids)s))
       AND NOT o.is_test AND NOT o.is_cancelled
     GROUP BY 1, 2
), days AS (
    SELECT coalesce(o.account_id, r.account_id) AS account_id,
           coalesce(o.date_day, r.date_day) AS date_day,
           coalesce(o.orders, 0) AS orders,
           coalesce(o.new_customers, 0) AS new_customers,
           coalesce(o.returning_customers, 0) AS returning_customers,
           coalesce(o.items, 0) AS items,
           coalesce(o.gross, 0) AS gross_sales_micros,
           coalesce(o.discounts, 0) AS discounts_micros,
           coalesce(r.refunds, 0) AS refunds_micros,
           coalesce(o.refunds_by_order_date, 0) AS refunds_by_order_date_micros,
           coalesce(o.gross, 0) - coalesce(o.discounts, 0) - coalesce(r.refunds, 0) AS net_revenue_micros,
           coalesce(o.new_customer_revenue, 0) AS new_customer_revenue_micros,
           o.row_currency
      FROM orders o
      FULL JOIN refunds r ON r.account_id = o.account_id AND r.date_day = o.date_day
), enriched AS (
    SELECT d.*,
           coalesce(s.currency, d.row_currency) AS currency,
           CASE WHEN s.time_zone = ANY(%(valid_time_zones)s) THEN s.time_zone END AS time_zone,
           p.restatement_days
      FROM days d
      LEFT JOIN stg_shopify__shop s ON s.account_id = d.account_id
      LEFT JOIN dim_platform p ON p.code = 'shopify'
),
-- include: fx_rates
SELECT e.account_id, e.date_day,
       e.orders, e.new_customers, e.returning_customers, e.items,
       e.gross_sales_micros, e.discounts_micros, e.refunds_micros, e.refunds_by_order_date_micros,
       e.net_revenue_micros, e.new_customer_revenue_micros,
       e.currency, e.time_zone,
       %(reporting_currency)s::text AS reporting_currency,
       round(e.gross_sales_micros * r.fx_rate)::bigint AS gross_sales_reporting_micros,
       round(e.discounts_micros * r.fx_rate)::bigint AS discounts_reporting_micros,
       round(e.refunds_micros * r.fx_rate)::bigint AS refunds_reporting_micros,
       round(e.refunds_by_order_date_micros * r.fx_rate)::bigint AS refunds_by_order_date_reporting_micros,
       round(e.net_revenue_micros * r.fx_rate)::bigint AS net_revenue_reporting_micros,
       round(e.new_customer_revenue_micros * r.fx_rate)::bigint AS new_customer_revenue_reporting_micros,
-- include: fx_columns
       CASE WHEN e.time_zone IS NULL OR e.restatement_days IS NULL THEN true
            ELSE e.date_day > (%(now)s::timestamptz AT TIME ZONE e.time_zone)::date - e.restatement_days END AS is_settling,
       %(run_id)s::bigint AS run_id,
       'shopify'::text AS platform,
       'shopify.order'::text AS _stream,
       e.account_id || '|' || e.date_day::text AS _record_key,
       %(fx_max_fallback_days)s::int AS _fx_max_fallback_days
  FROM enriched e
  LEFT JOIN rates r ON r.currency = e.currency AND r.date_day = e.date_day
-- step: restatements
-- Days that existed before and now differ (a refund arrived, an order was edited or cancelled) are
-- restatements: one log row per day and metric, money in the shop's currency, before the merge.
INSERT INTO wh_restatement (run_id, detected_at, date_day, platform, account_id, campaign_id, metric, old_value, new_value, currency)
SELECT %(run_id)s::bigint, %(now)s::timestamptz, o.date_day, 'shopify', o.account_id, '', v.metric, v.old_value, v.new_value, o.currency
  FROM fct_orders_daily o
  JOIN _m n ON n.account_id = o.account_id AND n.date_day = o.date_day
 CROSS JOIN LATERAL (VALUES
        ('orders', o.orders::numeric, n.orders::numeric),
        ('gross_sales', o.gross_sales_micros / 1000000.0, n.gross_sales_micros / 1000000.0),
        ('refunds', o.refunds_micros / 1000000.0, n.refunds_micros / 1000000.0),
        ('refunds_by_order_date', o.refunds_by_order_date_micros / 1000000.0, n.refunds_by_order_date_micros / 1000000.0),
        ('net_revenue', o.net_revenue_micros / 1000000.0, n.net_revenue_micros / 1000000.0)
       ) AS v(metric, old_value, new_value)
 WHERE %(log_restatements)s
   AND (%(all_accounts)s OR o.account_id = ANY(%(account_ids)s))
   AND o.date_day BETWEEN %(date_from)s AND %(date_to)s
   AND v.old_value <> v.new_value
-- step: after_settle
-- Days older than the store's refund window stop settling.
UPDATE fct_orders_daily f
   SET is_settling = false
  FROM dim_platform p
 WHERE f.is_settling AND p.code = 'shopify' AND 'shopify' = ANY(%(platforms)s)
   AND f.date_day <= (%(now)s::timestamptz AT TIME ZONE f.time_zone)::date - p.restatement_days
