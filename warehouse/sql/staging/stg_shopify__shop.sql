-- name: stg_shopify__shop
-- description: Shopify shops (a store is the "account" of a Shopify connection) with their currency and IANA time zone, from the GraphQL `shop` object.
-- layer: staging
-- platform: shopify
-- inputs: raw_record
-- materialization: merge
-- unique_key: account_id
-- scope: (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
-- test: not_null(account_id)
-- test: currency_code(currency) [warn]
SELECT DISTINCT ON (1)
       r.account_id,
       r.record_key,
       'shopify.shop' AS _stream,
       nullif(r.payload ->> 'name', '') AS name,
       upper(nullif(r.payload ->> 'currencyCode', '')) AS currency,
       nullif(r.payload ->> 'ianaTimezone', '') AS time_zone,
       r.connection_id,
       r.sync_run_id,
       r.fetched_at,
       %(run_id)s::bigint AS run_id
  FROM raw_record r
 WHERE r.stream = 'shopify.shop'
   AND (%(all_accounts)s OR r.account_id = ANY(%(raw_account_ids)s))
 ORDER BY 1, r.fetched_at DESC, r.record_key
