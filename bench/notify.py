"""Notifications: alert rules evaluated per second, and digests rendered and handed to SMTP per minute.

    python bench/notify.py            # 12 real workspaces, 1,000 evaluations, 300 digests
    python bench/notify.py --quick    # 2 real workspaces, 40 evaluations, 20 digests (< 1 min)

Alerts. Real workspaces are created by the product's service (the fast template copy), each with
five weeks of synthetic platform data landed and transformed by the warehouse, and 20 rules (the
4 built-in data-health rules + 8 threshold, 4 change and 4 anomaly rules over several metrics,
scopes and windows). "1,000 workspaces × 20 rules after a warehouse run" is simulated by calling
`alerts.services.workspace_evaluate` round-robin over the real workspaces until 1,000
workspace evaluations were done (quick: 40) — what the post-run receivers' tasks do, one after another on one
process. The metrics layer is not cached for alerts (they call `metrics_query`), so each
evaluation queries PostgreSQL; its buffers are warm after the first round, as they are in
production for recently transformed workspaces. Deliveries are queued to Redis on a queue of the
benchmark's own (purged at the end).

Digests. One member per real workspace; each digest is built (numbers of the period and the one
before, three PNG charts, movers, anomalies, alerts, forecast) and sent over SMTP to a local
aiosmtpd server by `digests.services.send_deliver`, the path of the Celery task, with its
exactly-once record. Extrapolated: a weekly send to 10,000 members on one worker process.

Wall-clock figures depend on what else the machine runs: the load average before and after is
printed and stored, and so is the benchmark process's own CPU time per digest (PostgreSQL's work
not included), a floor that does not move with the load.

The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, datetime, timedelta

from _common import drop_database, emit, free_port, machine, setup_django

QUEUE = f"bench-notify-{os.getpid()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    n_workspaces = 2 if args.quick else 12
    n_evaluations = 40 if args.quick else 1000
    n_digests = 20 if args.quick else 300
    history_days = 35
    os.environ["BOSCO_CELERY_QUEUE"] = QUEUE  # deliveries queued by the evaluations go nowhere real
    dbname = setup_django("notify")

    from aiosmtpd.controller import Controller
    from django.conf import settings
    from django_tenants.utils import schema_context

    from accounts.models import User, Workspace
    from accounts.services import workspace_create
    from alerts import services as alert_services
    from alerts.models import AlertRule
    from devtools.synthetic import SyntheticSpec, synthetic_raw_land
    from digests import services as digest_services
    from digests.models import DigestSend, DigestSubscription
    from warehouse.services import fx
    from warehouse.services.transform import run_window

    spec = SyntheticSpec(platforms=("google_ads", "meta"), accounts_per_platform=1, campaigns_per_account=5,
                         ad_groups_per_campaign=4, currencies=("EUR", "USD"), seed=7)  # fmt: skip
    yesterday = datetime.now(tz=UTC).date() - timedelta(days=1)
    date_from = yesterday - timedelta(days=history_days - 1)

    load_before = os.getloadavg()[0]
    # --- workspaces with data and 20 rules each
    started = time.perf_counter()
    workspaces: list[Workspace] = []
    for i in range(n_workspaces):
        slug = f"notify-{i:03d}"
        workspace = Workspace.objects.filter(slug=slug).first()
        if workspace is None:
            owner = User.objects.create_user(f"owner{i}@notify.bench", "x")
            workspace = workspace_create(owner=owner, name=f"Notify {i}", slug=slug, reporting_currency="EUR")
            with schema_context(workspace.schema_name):
                rates = [r for r in fx.fx_rates_read(source=str(fx.SAMPLE_FILE)) if r.currency == "USD"]
                fx.fx_rates_load(rates=rates)
                synthetic_raw_land(spec=spec, date_from=date_from, date_to=yesterday)
                for platform in spec.platforms:
                    run_window(
                        connection_id=1,
                        platform=platform,
                        account_ids=[a["account_id"] for a in spec.accounts() if a["platform"] == platform],
                        date_from=date_from,
                        date_to=yesterday,
                        sync_run_id=1,
                    )
                _rules(AlertRule)
        workspaces.append(workspace)
    setup_s = time.perf_counter() - started
    with schema_context(workspaces[0].schema_name):
        rules_per_workspace = AlertRule.objects.filter(enabled=True).count()
    print(
        f"{n_workspaces} workspaces with {history_days} days of data and {rules_per_workspace} rules: {setup_s:.1f} s"
    )

    # --- alerts: workspace evaluations, round-robin
    durations = []
    rules_evaluated = 0
    started = time.perf_counter()
    for i in range(n_evaluations):
        workspace = workspaces[i % n_workspaces]
        t0 = time.perf_counter()
        with schema_context(workspace.schema_name):
            report = alert_services.workspace_evaluate(workspace=workspace)
        durations.append(time.perf_counter() - t0)
        rules_evaluated += report.rules
    evaluate_s = time.perf_counter() - started
    rules_per_s = rules_evaluated / evaluate_s
    thousand_x_20_s = 1000 * 20 / rules_per_s
    print(f"alerts: {n_evaluations} workspace evaluations, {rules_evaluated} rules in {evaluate_s:.1f} s")
    print(f"  {rules_per_s:.0f} rules/s; a workspace evaluation: median {statistics.median(durations) * 1000:.0f} ms")
    print(f"  1,000 workspaces × 20 rules after a warehouse run: {thousand_x_20_s:.0f} s on one process")

    # --- digests: build and hand to SMTP
    received: list[int] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            received.append(len(envelope.original_content))
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        today = yesterday + timedelta(days=1)
        for workspace in workspaces:
            owner = User.objects.get(email=f"owner{workspaces.index(workspace)}@notify.bench")
            DigestSubscription.objects.update_or_create(
                user=owner, workspace=workspace, defaults={"frequency": "weekly", "weekday": today.weekday(), "hour": 0}
            )
        send_durations = []
        cpu_started = time.process_time()
        started = time.perf_counter()
        for i in range(n_digests):
            workspace = workspaces[i % n_workspaces]
            owner = User.objects.get(email=f"owner{i % n_workspaces}@notify.bench")
            send = DigestSend.objects.create(
                user=owner, scope=workspace.schema_name, schemas=[workspace.schema_name], frequency="weekly",
                kind="manual", period_start=today - timedelta(days=7), period_end=yesterday, to_email=owner.email,
            )  # fmt: skip
            t0 = time.perf_counter()
            state = digest_services.send_deliver(send_id=send.pk)
            send_durations.append(time.perf_counter() - t0)
            assert state == "sent", state
        digest_s = time.perf_counter() - started
        digest_cpu_ms = (time.process_time() - cpu_started) / n_digests * 1000
    finally:
        controller.stop()
    per_minute = n_digests / digest_s * 60
    weekly_10k_min = 10_000 / per_minute
    print(f"digests: {n_digests} built and handed to SMTP in {digest_s:.1f} s = {per_minute:.0f} per minute")
    print(f"  one digest: median {statistics.median(send_durations) * 1000:.0f} ms, "
          f"message median {statistics.median(received) / 1024:.1f} KB (max {max(received) / 1024:.1f} KB)")  # fmt: skip
    print(f"  this process's CPU per digest: {digest_cpu_ms:.0f} ms (without PostgreSQL's share)")
    load_after = os.getloadavg()[0]
    print(f"  load average (1 min) before / after: {load_before:.1f} / {load_after:.1f} on {os.cpu_count()} CPUs")
    print(f"  a weekly send to 10,000 members on one worker: {weekly_10k_min:.1f} min "
          f"({60 / weekly_10k_min:.1f}× inside an hour)")  # fmt: skip

    _purge_queue()
    result = {
        "bench": "notify",
        "machine": machine(),
        "quick": args.quick,
        "real_workspaces": n_workspaces,
        "rules_per_workspace": rules_per_workspace,
        "workspace_evaluations": n_evaluations,
        "rules_evaluated": rules_evaluated,
        "rules_per_s": round(rules_per_s, 1),
        "workspace_evaluation_median_ms": round(statistics.median(durations) * 1000, 1),
        "alerts_1000_workspaces_x_20_rules_s": round(thousand_x_20_s, 1),
        "digests_sent": n_digests,
        "digests_per_minute": round(per_minute, 1),
        "digest_median_ms": round(statistics.median(send_durations) * 1000, 1),
        "digest_message_median_kb": round(statistics.median(received) / 1024, 1),
        "digest_message_max_kb": round(max(received) / 1024, 1),
        "digest_process_cpu_ms": round(digest_cpu_ms, 1),
        "load_average_before": round(load_before, 1),
        "load_average_after": round(load_after, 1),
        "weekly_10000_members_min": round(weekly_10k_min, 1),
        "weekly_10000_members_hour_ratio": round(60 / weekly_10k_min, 2),
    }
    if not args.keep:
        drop_database(dbname)
    emit(result)


def _rules(rule_model) -> None:  # type: ignore[no-untyped-def]
    """16 custom rules beside the 4 built-in data-health ones (20 in all)."""
    metrics = ("spend", "cpa", "roas", "conversions")
    for i, metric in enumerate(metrics):
        for window in (1, 7):
            rule_model.objects.create(name=f"{metric} high {window}d", kind="threshold", metric=metric,
                                      threshold=1, window_days=window, recipients=["ops@notify.bench"])  # fmt: skip
        rule_model.objects.create(name=f"{metric} change", kind="change", metric=metric, comparison="below",
                                  threshold=20, window_days=3 if i % 2 else 7, scope_kind="platform" if i % 2 else "workspace",
                                  scope_value="meta" if i % 2 else "", recipients=["ops@notify.bench"])  # fmt: skip
        rule_model.objects.create(name=f"{metric} anomaly", kind="anomaly", metric=metric, min_severity="medium",
                                  window_days=7, recipients=["ops@notify.bench"])  # fmt: skip


def _purge_queue() -> None:
    """Drop what the evaluations queued (deliveries) on the benchmark's own queues."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{QUEUE}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


if __name__ == "__main__":
    main()
