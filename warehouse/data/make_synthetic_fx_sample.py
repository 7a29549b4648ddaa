"""Write synthetic-eurofxref-hist.csv: made-up euro rates in the ECB's CSV format.

Bosco's machines cannot download the ECB's published history, and no figure here was copied
from it: the levels are round approximations and the daily moves a seeded random walk. Use the
real file in production (`manage.py load_fx_rates --url https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip`).

    python warehouse/data/make_synthetic_fx_sample.py
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

START, END = date(2022, 1, 3), date(2027, 12, 31)
# (currency, approximate level per EUR, decimals, daily volatility)
CURRENCIES = [
    ("USD", 1.08, 4, 0.004),
    ("JPY", 155.0, 2, 0.005),
    ("BGN", 1.9558, 4, 0.0),
    ("CZK", 24.8, 3, 0.002),
    ("DKK", 7.46, 4, 0.0002),
    ("GBP", 0.86, 5, 0.003),
    ("HUF", 390.0, 2, 0.004),
    ("PLN", 4.4, 4, 0.003),
    ("RON", 4.97, 4, 0.001),
    ("SEK", 11.3, 4, 0.004),
    ("CHF", 0.95, 4, 0.003),
    ("ISK", 150.0, 2, 0.003),
    ("NOK", 11.5, 4, 0.004),
    ("TRY", 30.0, 4, 0.006),
    ("AUD", 1.63, 4, 0.005),
    ("BRL", 5.6, 4, 0.007),
    ("CAD", 1.47, 4, 0.004),
    ("CNY", 7.75, 4, 0.003),
    ("HKD", 8.45, 4, 0.004),
    ("IDR", 17000.0, 2, 0.004),
    ("ILS", 4.0, 4, 0.005),
    ("INR", 90.0, 4, 0.004),
    ("KRW", 1450.0, 2, 0.005),
    ("MXN", 19.5, 4, 0.007),
    ("MYR", 5.0, 4, 0.004),
    ("NZD", 1.78, 4, 0.005),
    ("PHP", 61.0, 3, 0.004),
    ("SGD", 1.45, 4, 0.003),
    ("THB", 38.0, 3, 0.004),
    ("ZAR", 20.0, 4, 0.008),
]


def easter(year: int) -> date:
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 - the algorithm's own name
    m = (a + 11 * h + 22 * l) // 451
    month = (h + l - 7 * m + 114) // 31
    day = (h + l - 7 * m + 114) % 31 + 1
    return date(year, month, day)


def target_holiday(day: date) -> bool:
    sunday = easter(day.year)
    return (day.month, day.day) in {(1, 1), (5, 1), (12, 25), (12, 26)} or day in {
        sunday - timedelta(days=2),
        sunday + timedelta(days=1),
    }


def main() -> None:
    rng = random.Random(20240105)
    levels = {c: level for c, level, _, _ in CURRENCIES}
    rows = []
    day = START
    while day <= END:
        if day.weekday() < 5 and not target_holiday(day):
            cells = []
            for currency, _, decimals, vol in CURRENCIES:
                levels[currency] *= 1 + rng.gauss(0, vol)
                cells.append(f"{levels[currency]:.{decimals}f}")
            rows.append(f"{day.isoformat()},{','.join(cells)},")
        day += timedelta(days=1)
    header = "Date," + ",".join(c for c, *_ in CURRENCIES) + ","
    out = Path(__file__).with_name("synthetic-eurofxref-hist.csv")
    out.write_text("\n".join([header, *reversed(rows)]) + "\n")
    print(f"wrote {out} ({len(rows)} days)")


if __name__ == "__main__":
    main()
