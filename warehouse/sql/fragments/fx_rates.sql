-- fragment: fx_rates
-- The conversion to the workspace's reporting currency that every fact with money shares
-- (fct_ad_performance_daily, fct_orders_daily, fct_sessions_daily); a model includes it with a
-- body line `-- include: fx_rates` right after its `enriched` CTE and a comma.
-- Needs: a CTE `enriched` with `currency` (ISO 4217 text) and `date_day`; parameters
--   reporting_currency and fx_max_fallback_days; the model lists wh_fx_rate among its inputs.
-- Gives: `rates` (currency, date_day, fx_rate, fx_rate_date, fx_source), one row per distinct
--   (currency, day), to LEFT JOIN on both; the select list takes its columns with
--   `-- include: fx_columns`. A currency that is not three letters, or that has no rate within
--   fx_max_fallback_days, gets a NULL fx_rate: the model's `fx_rate_available(fx_rate)` test
--   quarantines those rows, so an amount is never added in the wrong currency.
pairs AS MATERIALIZED (
    SELECT DISTINCT currency, date_day FROM enriched WHERE currency ~ '^[A-Z]{3}$'
), rates AS MATERIALIZED (
    -- computed once per (currency, day), then hash-joined: never per row
    -- ECB rates are units per euro: amount in C → amount × rate(R) / rate(C), the euro being 1.
    SELECT pr.currency, pr.date_day,
           CASE WHEN pr.currency = %(reporting_currency)s THEN 1::numeric
                ELSE round(dst.rate / src.rate, 14) END AS fx_rate,
           CASE WHEN pr.currency = %(reporting_currency)s THEN pr.date_day
                ELSE least(src.date, dst.date) END AS fx_rate_date,
           -- the euro side of a pair needs no rate (NULL source); two loaded rates name both sources if they differ
           CASE WHEN pr.currency = %(reporting_currency)s THEN 'none'
                ELSE coalesce(CASE WHEN src.source IS NULL OR src.source = dst.source THEN dst.source
                                   WHEN dst.source IS NULL THEN src.source
                                   ELSE left(src.source || '+' || dst.source, 16) END, 'none') END AS fx_source
      FROM pairs pr
      LEFT JOIN LATERAL (
            SELECT 1::numeric AS rate, pr.date_day AS date, NULL::text AS source WHERE pr.currency = 'EUR'
            UNION ALL
            (SELECT f.rate, f.date, f.source FROM wh_fx_rate f
              WHERE pr.currency <> 'EUR' AND f.currency = pr.currency
                AND f.date <= pr.date_day AND f.date >= pr.date_day - %(fx_max_fallback_days)s::int
              ORDER BY f.date DESC LIMIT 1)
      ) src ON true
      LEFT JOIN LATERAL (
            SELECT 1::numeric AS rate, pr.date_day AS date, NULL::text AS source WHERE %(reporting_currency)s = 'EUR'
            UNION ALL
            (SELECT f.rate, f.date, f.source FROM wh_fx_rate f
              WHERE %(reporting_currency)s <> 'EUR' AND f.currency = %(reporting_currency)s
                AND f.date <= pr.date_day AND f.date >= pr.date_day - %(fx_max_fallback_days)s::int
              ORDER BY f.date DESC LIMIT 1)
      ) dst ON true
)
