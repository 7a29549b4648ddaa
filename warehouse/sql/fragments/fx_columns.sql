-- fragment: fx_columns
-- The conversion columns of a fact's select list, read from the `rates r` that fx_rates gives,
-- joined to the model's `enriched e`: the rate, its date (the day's or the last earlier one),
-- whether it is an earlier day's (flagged) and where it came from.
       r.fx_rate,
       r.fx_rate_date,
       r.fx_rate_date < e.date_day AS fx_fallback,
       coalesce(r.fx_source, 'none') AS fx_source,
