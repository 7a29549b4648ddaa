"""Data tests: declared per model, evaluated on every run, stored per run.

Row tests run on the model's freshly computed rows (the temporary table `_m`) before they are
written. A failing row of a hard test (severity "error") goes to the quarantine with a reason a
person can act on and is removed from the batch — it never reaches the table, and it is never
dropped silently. A warning only records how many rows failed, with samples. Model tests
(`reconciles_with_facts`) compare totals and abort the model when they fail: a failed run that
changes nothing is better than a wrong rollup. Run checks (freshness per connection, data lag
per account, volume change against the previous sync) look at the run as a whole.

Every outcome becomes a `DataTestResult` row of the run; the Data sources page and, later, the
alerts read them through `warehouse.selectors`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Max
from django.utils import timezone

from warehouse.models import DataTestResult, ModelRun, TransformRun
from warehouse.services.config import setting
from warehouse.services.graph import SqlModel, TestSpec
from warehouse.services.timezones import valid_time_zones


class DataTestFailed(Exception):
    """A hard model-level test failed; the model's transaction is rolled back."""


def _lit(text: str) -> str:
    """A SQL string literal (test names and messages come from model files, never from users)."""
    return "'" + text.replace("'", "''").replace("%", "%%") + "'"


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a plain identifier: {name!r}")
    return name


def _names(cols: tuple[str, ...], predicate: str) -> str:
    """'a, b' — the columns of `cols` for which `predicate` (with {c}) holds, for reasons."""
    parts = ", ".join(f"CASE WHEN {predicate.format(c=f'm.{_ident(c)}')} THEN {_lit(c)} END" for c in cols)
    return f"concat_ws(', ', {parts})"


@dataclass(frozen=True)
class RowTest:
    """A row test compiled to SQL over `_m m`: `predicate` is true for failing rows."""

    spec: TestSpec
    predicate: str
    reason: str

    @property
    def name(self) -> str:
        return self.spec.kind

    @property
    def columns(self) -> str:
        return ", ".join(self.spec.args)


def _not_null(spec: TestSpec) -> RowTest:
    cols = spec.args
    predicate = " OR ".join(f"m.{_ident(c)} IS NULL" for c in cols)
    reason = (
        _lit(spec.message) if spec.message else f"'missing or not a valid value: ' || {_names(cols, '{c} IS NULL')}"
    )
    return RowTest(spec, f"({predicate})", reason)


def _non_negative(spec: TestSpec) -> RowTest:
    cols = spec.args
    predicate = " OR ".join(f"m.{_ident(c)} < 0" for c in cols)
    return RowTest(spec, f"({predicate})", f"'negative value in ' || {_names(cols, '{c} < 0')}")


def _date_in_range(spec: TestSpec) -> RowTest:
    col = f"m.{_ident(spec.args[0])}"
    return RowTest(
        spec,
        f"({col} < DATE '2000-01-01' OR {col} > CURRENT_DATE + 2)",
        f"'impossible date ' || {col}::text || ' (expected 2000-01-01 … the day after tomorrow)'",
    )


def _currency_code(spec: TestSpec) -> RowTest:
    col = f"m.{_ident(spec.args[0])}"
    return RowTest(
        spec, f"({col} IS NOT NULL AND {col} !~ '^[A-Z]{{3}}$')", f"'not an ISO 4217 currency code: ' || {col}"
    )


def _known_platform(spec: TestSpec) -> RowTest:
    col = f"m.{_ident(spec.args[0])}"
    # NOT IN over a small set is one hashed lookup per row; a correlated NOT EXISTS inside
    # count(*) FILTER would run a subquery per row.
    return RowTest(
        spec,
        f"({col} IS NULL OR {col} NOT IN (SELECT code FROM dim_platform))",  # nosec B608 # identifiers from models in code, bound values
        f"'unknown platform ' || coalesce({col}, 'NULL')",
    )


def _fx_rate_available(spec: TestSpec) -> RowTest:
    col = f"m.{_ident(spec.args[0])}"
    return RowTest(
        spec,
        f"{col} IS NULL",
        "'no ECB reference rate to convert ' || m.currency || ' to ' || m.reporting_currency || ' on '"
        " || m.date_day::text || ' or in the ' || m._fx_max_fallback_days::text || ' days before'"
        " || ' — load the rates (manage.py load_fx_rates) and rerun'",
    )


def _unique(spec: TestSpec) -> RowTest:
    cols = ", ".join(_ident(c) for c in spec.args)
    mcols = ", ".join(f"m.{_ident(c)}" for c in spec.args)
    return RowTest(
        spec,
        f"(({mcols}) IN (SELECT {cols} FROM _m GROUP BY {cols} HAVING count(*) > 1))",  # nosec B608 # identifiers from models in code, bound values
        _lit(f"more than one row for the same ({', '.join(spec.args)}): all of them are held back"),
    )


def _le(spec: TestSpec) -> RowTest:
    a, b = (f"m.{_ident(c)}" for c in spec.args)
    return RowTest(
        spec,
        f"({a} > {b})",
        f"{_lit(spec.args[0])} || ' ' || {a}::text || ' > ' || {_lit(spec.args[1])} || ' ' || {b}::text",
    )


def _references(spec: TestSpec) -> RowTest:
    """Each row's (platform, account_id, <id>) has a synced (not inferred) dimension record.

    Evaluated as NOT IN over the dimension rows of the run's platforms and accounts: one hashed
    set per run instead of a lookup per row.
    """
    table, *cols = spec.args
    names = ", ".join(_ident(c) for c in cols)
    row = ", ".join(f"m.{_ident(c)}" for c in cols)
    # Campaign-level platforms have no ad group (""), which needs no ad group record.
    skip_empty = " AND ".join(f"m.{_ident(c)} <> ''" for c in cols if c.endswith("_id"))
    synced = (
        f"SELECT {names} FROM {_ident(table)} WHERE NOT is_inferred AND platform = ANY(%(platforms)s)"
        " AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))"  # nosec B608 # identifiers from models in code, bound values
    )
    return RowTest(
        spec,
        f"({skip_empty} AND ({row}) NOT IN ({synced}))",
        f"'no synced {table} record for ' || concat_ws('/', {row})",
    )


def _accepted_values(spec: TestSpec) -> RowTest:
    col, *values = spec.args
    listed = ", ".join(_lit(v) for v in values)
    return RowTest(
        spec,
        f"(m.{_ident(col)} IS NOT NULL AND m.{_ident(col)} NOT IN ({listed}))",
        f"{_lit(col)} || ' ' || m.{_ident(col)} || ' is not one of ' || {_lit(', '.join(values))}",
    )


def _flag(spec: TestSpec) -> RowTest:
    col = f"m.{_ident(spec.args[0])}"
    return RowTest(spec, f"coalesce({col}, false)", _lit(f"{spec.args[0]} is set"))


ROW_TESTS: dict[str, Callable[[TestSpec], RowTest]] = {
    "not_null": _not_null,
    "non_negative": _non_negative,
    "date_in_range": _date_in_range,
    "currency_code": _currency_code,
    "known_platform": _known_platform,
    "fx_rate_available": _fx_rate_available,
    "unique": _unique,
    "clicks_le_impressions": _le,
    "references": _references,
    "accepted_values": _accepted_values,
    "fx_fallback": _flag,
}
MODEL_TESTS = frozenset({"reconciles_with_facts"})


def validate_specs(model: SqlModel) -> None:
    for spec in model.tests:
        if spec.kind not in ROW_TESTS and spec.kind not in MODEL_TESTS:
            raise ValueError(f"{model.name}: unknown data test {spec.kind!r}")


@dataclass
class TestOutcome:
    model: str
    test: str
    columns: str
    severity: str
    failing_rows: int
    checked_rows: int
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if self.failing_rows == 0:
            return DataTestResult.Status.PASS
        return DataTestResult.Status.FAIL if self.severity == "error" else DataTestResult.Status.WARN


def _quarantine_columns(model: SqlModel, columns: set[str]) -> dict[str, str]:
    """How to fill the quarantine's lineage columns from this model's rows."""

    def pick(*candidates: str, default: str) -> str:
        return next((f"m.{c}" for c in candidates if c in columns), default)

    return {
        "stream": pick("_stream", default="''"),
        "record_key": pick("_record_key", "record_key", default="''"),
        "platform": pick("platform", default=_lit(model.platform or "")),
        "account_id": f"coalesce({pick('account_id', default='NULL')}, '')",
        "date": pick("date_day", "date", default="NULL::date"),
    }


def apply_row_tests(cursor: Any, model: SqlModel, params: dict[str, Any]) -> tuple[list[TestOutcome], int]:
    """Run the model's row tests on `_m`; quarantine and remove rows failing hard tests.

    Returns the outcomes and the number of rows quarantined. The caller's transaction makes the
    quarantine and the model's output one atomic change.
    """
    tests = [ROW_TESTS[s.kind](s) for s in model.tests if s.kind in ROW_TESTS]
    cursor.execute("SELECT * FROM _m LIMIT 0")
    columns = {d[0] for d in cursor.description}
    q = _quarantine_columns(model, columns)
    # The run replaces what earlier runs refused in the same slice: the quarantine shows what is
    # refused now (history stays in the per-run test results).
    cursor.execute(
        """DELETE FROM wh_quarantine
            WHERE model = %(_model)s AND platform = ANY(%(platforms)s)
              AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))
              AND (date IS NULL OR date BETWEEN %(date_from)s AND %(date_to)s)""",
        {**params, "_model": model.name},
    )
    hard = [t for t in tests if t.spec.severity == "error"]
    soft = [t for t in tests if t.spec.severity != "error"]
    outcomes: list[TestOutcome] = []
    quarantined = 0

    checked = _count(cursor, hard, params)
    total_rows = checked.pop("_total")
    for i, test in enumerate(hard):
        failing = checked[f"t{i}"]
        outcome = TestOutcome(model.name, test.name, test.columns, "error", 0, total_rows)
        if failing:
            cursor.execute(
                f"""INSERT INTO wh_quarantine (run_id, model, test, reason, stream, record_key, platform, account_id, date, row, detected_at)
                    SELECT %(run_id)s, {_lit(model.name)}, {_lit(test.name)}, coalesce({test.reason}, {_lit(test.spec.label)}),
                           {q["stream"]}, {q["record_key"]}, {q["platform"]}, {q["account_id"]}, {q["date"]},
                           jsonb_build_object('row', to_jsonb(m), 'raw', r.payload), %(now)s
                      FROM _m m
                      LEFT JOIN raw_record r ON r.stream = {q["stream"]} AND r.record_key = {q["record_key"]}
                     WHERE {test.predicate}""",  # nosec B608 # identifiers from models in code, bound values
                params,
            )
            outcome.failing_rows = cursor.rowcount
            quarantined += cursor.rowcount
            cursor.execute(
                f"""SELECT reason, count(*) FROM wh_quarantine
                     WHERE run_id = %(run_id)s AND model = {_lit(model.name)} AND test = {_lit(test.name)}
                     GROUP BY reason ORDER BY count(*) DESC LIMIT 5""",  # nosec B608 # identifiers from models in code, bound values
                params,
            )
            outcome.details = {"reasons": [{"reason": r, "rows": n} for r, n in cursor.fetchall()]}
            outcome.message = f"{outcome.failing_rows} row(s) quarantined"
            cursor.execute(f"DELETE FROM _m m WHERE {test.predicate}", params)  # nosec B608 # identifiers from models in code, bound values
        outcomes.append(outcome)

    checked = _count(cursor, soft, params)
    remaining = checked.pop("_total")
    for i, test in enumerate(soft):
        failing = checked[f"t{i}"]
        outcome = TestOutcome(model.name, test.name, test.columns, "warn", failing, remaining)
        if failing:
            cursor.execute(
                f"SELECT {test.reason} FROM _m m WHERE {test.predicate} GROUP BY 1 ORDER BY count(*) DESC LIMIT 5",  # nosec B608 # identifiers from models in code, bound values
                params,
            )
            outcome.details = {"samples": [row[0] for row in cursor.fetchall()]}
            outcome.message = f"{failing} row(s) kept with a warning"
        outcomes.append(outcome)
    return outcomes, quarantined


def _count(cursor: Any, tests: list[RowTest], params: dict[str, Any]) -> dict[str, int]:
    """Every test's failing-row count in one scan of `_m`."""
    filters = "".join(f", count(*) FILTER (WHERE {t.predicate}) AS t{i}" for i, t in enumerate(tests))
    cursor.execute(f"SELECT count(*) AS _total{filters} FROM _m m", params)  # nosec B608 # identifiers from models in code, bound values
    row = cursor.fetchone()
    names = [d[0] for d in cursor.description]
    return {name: int(value or 0) for name, value in zip(names, row, strict=True)}


def apply_model_tests(cursor: Any, model: SqlModel, params: dict[str, Any]) -> list[TestOutcome]:
    """Tests on the model's batch as a whole; a failing hard one raises DataTestFailed."""
    outcomes: list[TestOutcome] = []
    for spec in model.tests:
        if spec.kind != "reconciles_with_facts":
            continue
        source = _ident(spec.args[0])
        cursor.execute(
            "SELECT count(*), coalesce(sum(impressions), 0), coalesce(sum(clicks), 0), coalesce(sum(spend_micros), 0),"
            " coalesce(sum(conversions_value_micros), 0) FROM _m"
        )
        rows, *ours = cursor.fetchone()
        cursor.execute(
            f"SELECT coalesce(sum(impressions), 0), coalesce(sum(clicks), 0), coalesce(sum(spend_reporting_micros), 0),"
            f" coalesce(sum(conversions_value_reporting_micros), 0) FROM {source}"
            " WHERE platform = ANY(%(platforms)s) AND (%(all_accounts)s OR account_id = ANY(%(account_ids)s))"
            " AND date_day BETWEEN %(date_from)s AND %(date_to)s",  # nosec B608 # identifiers from models in code, bound values
            params,
        )
        theirs = list(cursor.fetchone())
        differs = [
            name
            for name, a, b in zip(("impressions", "clicks", "spend", "conversions_value"), ours, theirs, strict=True)
            if a != b
        ]
        outcome = TestOutcome(model.name, spec.kind, source, spec.severity, len(differs), rows)
        if differs:
            outcome.message = f"totals differ from {source}: {', '.join(differs)}"
            outcome.details = {"ours": [str(v) for v in ours], "source": [str(v) for v in theirs]}
        outcomes.append(outcome)
        if differs and spec.severity == "error":
            raise DataTestFailed(f"{model.name}: {outcome.message} ({json.dumps(outcome.details)})")
    return outcomes


def outcomes_store(*, run: TransformRun, outcomes: list[TestOutcome]) -> None:
    now = timezone.now()
    DataTestResult.objects.bulk_create(
        DataTestResult(
            run=run,
            model=o.model,
            test=o.test,
            columns=o.columns[:300],
            severity=o.severity,
            status=o.status,
            failing_rows=o.failing_rows,
            checked_rows=o.checked_rows,
            message=o.message,
            details=o.details,
            checked_at=now,
        )
        for o in outcomes
    )


# --------------------------------------------------------------------------- run checks


def run_checks(*, run: TransformRun) -> list[TestOutcome]:
    """Checks on the workspace as a whole after a run (or nightly): freshness, lag, volume."""
    outcomes = [*_freshness_per_connection(run), *_data_lag_per_account(run)]
    if run.kind == TransformRun.Kind.WINDOW and run.connection_id is not None:
        outcomes.extend(_volume_change(run))
    outcomes_store(run=run, outcomes=outcomes)
    return outcomes


def _freshness_per_connection(run: TransformRun) -> list[TestOutcome]:
    limit_hours = float(setting("quality.freshness_warn_hours"))
    latest = (
        TransformRun.objects.filter(
            kind=TransformRun.Kind.WINDOW, status=TransformRun.Status.SUCCESS, connection_id__isnull=False
        )
        .values("connection_id")
        .annotate(last=Max("finished_at"))
    )
    last_by_connection = {row["connection_id"]: row["last"] for row in latest}
    if run.kind == TransformRun.Kind.WINDOW and run.connection_id is not None:
        last_by_connection[run.connection_id] = timezone.now()
    outcomes = []
    now = timezone.now()
    for connection_id, last in sorted(last_by_connection.items()):
        age_h = (now - last).total_seconds() / 3600 if last else float("inf")
        stale = age_h > limit_hours
        outcomes.append(
            TestOutcome(
                "connections",
                "freshness",
                f"connection {connection_id}",
                "warn",
                1 if stale else 0,
                1,
                message=f"last successful sync {age_h:.1f} h ago (warn after {limit_hours:g} h)" if stale else "",
                details={"connection_id": connection_id, "hours_since_sync": round(age_h, 2)},
            )
        )
    return outcomes


def _data_lag_per_account(run: TransformRun) -> list[TestOutcome]:
    limit_days = int(setting("quality.data_lag_warn_days"))
    zones = valid_time_zones()
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT a.platform, a.account_id, a.time_zone, (now() AT TIME ZONE a.time_zone)::date AS today,
                      (SELECT max(r.date_day) FROM rollup_day_account r
                        WHERE r.platform = a.platform AND r.account_id = a.account_id) AS newest
                 FROM dim_ad_account a
                WHERE a.platform = ANY(%s) AND a.time_zone = ANY(%s)""",
            [run.platforms, zones],
        )
        rows = cursor.fetchall()
    outcomes = []
    for platform, account_id, _tz, today, newest in rows:
        if newest is None:
            continue
        lag = (today - newest).days
        late = lag > limit_days
        outcomes.append(
            TestOutcome(
                "fct_ad_performance_daily",
                "data_lag",
                f"{platform}:{account_id}",
                "warn",
                1 if late else 0,
                1,
                message=f"newest day {newest} is {lag} days behind the account's today" if late else "",
                details={"platform": platform, "account_id": account_id, "newest_day": str(newest), "lag_days": lag},
            )
        )
    return outcomes


def _volume_change(run: TransformRun) -> list[TestOutcome]:
    """Rows per day this sync vs the previous successful sync of the same connection."""
    factor = float(setting("quality.volume_change_warn_factor"))

    def rows_per_day(model_run: ModelRun) -> float:
        days = (model_run.date_to - model_run.date_from).days + 1
        return model_run.rows_read / max(days, 1)

    current = ModelRun.objects.filter(run=run, model="fct_ad_performance_daily", status=ModelRun.Status.SUCCESS).first()
    if current is None:
        return []
    previous = (
        ModelRun.objects.filter(
            run__connection_id=run.connection_id,
            run__kind=TransformRun.Kind.WINDOW,
            model="fct_ad_performance_daily",
            status=ModelRun.Status.SUCCESS,
            started_at__lt=current.started_at,
        )
        .exclude(run=run)
        .order_by("-started_at")
        .first()
    )
    if previous is None:
        return []
    now_rate, before_rate = rows_per_day(current), rows_per_day(previous)
    if before_rate == 0 and now_rate == 0:
        changed = False
        ratio = 1.0
    else:
        ratio = now_rate / before_rate if before_rate else float("inf")
        changed = ratio > factor or ratio < 1 / factor
    return [
        TestOutcome(
            "fct_ad_performance_daily",
            "volume_change",
            f"connection {run.connection_id}",
            "warn",
            1 if changed else 0,
            1,
            message=(f"{now_rate:.0f} rows/day now vs {before_rate:.0f} in the previous sync" if changed else ""),
            details={
                "rows_per_day": round(now_rate, 2),
                "previous_rows_per_day": round(before_rate, 2),
                "previous_run_id": previous.run_id,
            },
        )
    ]
