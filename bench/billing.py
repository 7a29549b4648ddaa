"""Billing benchmark: Stripe webhook events handled per second end to end, and the entitlement check's cost.

Webhooks — real events of the Stripe emulator (devtools/stripe_emulator, over HTTP) about one
workspace: its Checkout's events, then N switches of its subscription's `cancel_at_period_end`,
each delivered before the next switch, so each `customer.subscription.updated` changes Bosco's
state (the run checks that it did). Each event is signed as
Stripe signs it and POSTed through Bosco's webhook view on the public host, in-process with
Django's test client (middleware included, no HTTP server): the signature check, the event
stored once, and the state change. Celery runs eagerly, so the task applies the event at the
request's commit — re-reading the subscription from the emulator over HTTP, as a worker does in
production — and the time per event covers all of it. Then every event is delivered again:
redeliveries must change nothing. The run checks the final state (all events processed once,
the workspace's flag equal to Stripe's).

Entitlements — `billing.entitlements.for_workspace`, which every dashboard request asks: warm
(cached: one Redis GET) and cold (computed from PostgreSQL, then cached), in microseconds. The
goal is < 1 ms warm.

It runs in a database of its own (`<DATABASE_URL's name>_bench_billing`), dropped at the end
unless --keep. The last line is one JSON object.

    python bench/billing.py --quick   # under a minute
    python bench/billing.py
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from typing import Any

from _common import drop_database, emit, machine, setup_django, summarize_ms

WARM_GOAL_MS = 1.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def configure_stripe(emulator: Any) -> None:
    from django.conf import settings

    from billing import stripe_client
    from bosco.celery import app

    settings.STRIPE_SECRET_KEY = "sk_test_bench"  # noqa: S105 - the local emulator's fake key
    settings.STRIPE_WEBHOOK_SECRET = emulator.webhook_secret
    settings.STRIPE_API_BASE = emulator.base_url
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    stripe_client.forget_prices()
    # The event's task runs in the request's on_commit instead of on a worker: one process
    # measures the whole handling.
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True


def subscribed_workspace(emulator: Any) -> tuple[Any, str]:
    """A workspace whose owner went through Checkout: (workspace, subscription id)."""
    from accounts.models import User, Workspace
    from accounts.services import workspace_create, workspace_drop
    from billing import services, stripe_client
    from billing.models import BillingAccount

    stale = Workspace.objects.filter(slug="bench-billing").first()
    if stale is not None:
        workspace_drop(workspace=stale)
    owner = User.objects.filter(email="bench-billing@bosco.local").first() or User.objects.create_user(
        "bench-billing@bosco.local", "x"
    )
    workspace = workspace_create(owner=owner, name="billing bench", slug="bench-billing")
    account = services.trial_start(workspace=workspace)
    customer_id = stripe_client.ensure_customer(
        workspace_schema=workspace.schema_name, workspace_name=workspace.name, email=owner.email
    )
    BillingAccount.objects.filter(pk=account.pk).update(stripe_customer_id=customer_id)
    url = stripe_client.create_checkout_session(
        customer_id=customer_id,
        price_id=stripe_client.price_id_for(plan="growth", interval="monthly"),
        workspace_schema=workspace.schema_name,
        success_url="https://bench.invalid/ok",
        cancel_url="https://bench.invalid/",
    )
    session_id = url.rsplit("/", 1)[1]
    emulator.state.complete_checkout(session_id)
    return workspace, emulator.state.objects[session_id]["subscription"]


def deliver(client: Any, emulator: Any, events: list[dict[str, Any]]) -> tuple[list[float], list[dict[str, Any]]]:
    """POST each event, freshly signed, to the webhook view; (seconds per event, JSON answers)."""
    samples: list[float] = []
    answers: list[dict[str, Any]] = []
    for event in events:
        body = json.dumps(event).encode()
        started = time.perf_counter()
        response = client.post(
            "/billing/stripe/webhook/",
            data=body,
            content_type="application/json",
            headers={"Stripe-Signature": emulator.state.sign(body)},
        )
        samples.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{event['type']} {event['id']}: {response.status_code} {response.content[:300]!r}")
        answers.append(response.json())
    return samples, answers


def bench_webhooks(emulator: Any, *, updates: int) -> dict[str, Any]:
    import stripe
    from django.conf import settings
    from django.test import Client

    from billing.models import BillingAccount, StripeEvent

    workspace, subscription_id = subscribed_workspace(emulator)
    api = stripe.StripeClient("sk_test_bench", base_addresses={"api": emulator.base_url}, max_network_retries=0)
    client = Client(HTTP_HOST=settings.BOSCO_DOMAIN)
    log(f"delivering the checkout's events and {updates} subscription updates …")
    first, answers = deliver(client, emulator, emulator.state.events())
    changes = 0
    for i in range(updates):
        # Each update is delivered before the next one happens, so each event changes Bosco's state.
        api.v1.subscriptions.update(subscription_id, params={"cancel_at_period_end": i % 2 == 0})
        seen = len(first)
        samples, more = deliver(client, emulator, emulator.state.events()[seen:])
        first += samples
        answers += more
        account = BillingAccount.objects.get(workspace=workspace)
        changes += account.cancel_at_period_end == (i % 2 == 0)
    events = emulator.state.events()
    stripe_flag = emulator.state.objects[subscription_id]["cancel_at_period_end"]
    processed = StripeEvent.objects.filter(id__in=[e["id"] for e in events], processed_at__isnull=False).count()
    account = BillingAccount.objects.get(workspace=workspace)
    before = account.snapshot()
    log("redelivering every event …")
    again, repeat_answers = deliver(client, emulator, events)
    account.refresh_from_db()
    return {
        "events": len(events),
        "subscription_updates": updates,
        "first_delivery": {"events_per_s": round(len(first) / sum(first), 1), **summarize_ms(first)},
        "redelivery": {"events_per_s": round(len(again) / sum(again), 1), **summarize_ms(again)},
        "checks": {
            "all_processed_once": processed == len(events),
            "each_update_applied": changes == updates,
            "first_deliveries_new": all(not a.get("duplicate") for a in answers),
            "redeliveries_duplicate": all(a.get("duplicate") for a in repeat_answers),
            "state_matches_stripe": account.cancel_at_period_end == stripe_flag and account.status == "active",
            "redelivery_changed_nothing": account.snapshot() == before,
        },
        "workspace": workspace,
    }


def bench_entitlements(schema: str, *, calls: int) -> dict[str, Any]:
    from billing import entitlements

    entitlements.for_workspace(schema)
    warm: list[float] = []
    for _ in range(calls):
        started = time.perf_counter()
        entitlements.for_workspace(schema)
        warm.append(time.perf_counter() - started)
    cold: list[float] = []
    redis = entitlements._redis()
    for _ in range(max(20, calls // 10)):
        redis.delete(entitlements._cache_key(schema))  # type: ignore[attr-defined]
        started = time.perf_counter()
        entitlements.for_workspace(schema)
        cold.append(time.perf_counter() - started)
    warm_ms = summarize_ms(warm)
    return {
        "warm": warm_ms,
        "cold": summarize_ms(cold),
        "goal_warm_ms": WARM_GOAL_MS,
        "warm_within_goal": warm_ms["median_ms"] < WARM_GOAL_MS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer events and calls (under a minute)")
    parser.add_argument("--updates", type=int, help="subscription updates (events) to deliver (default 400, quick 30)")
    parser.add_argument("--calls", type=int, help="entitlement checks timed (default 5000, quick 1000)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    updates = args.updates or (30 if args.quick else 400)
    calls = args.calls or (1000 if args.quick else 5000)

    os.environ.setdefault("LOG_LEVEL", "WARNING")  # one line per event and task would swamp the output
    dbname = setup_django("billing")
    for noisy in ("celery", "stripe", "bosco.tasks"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from accounts.services import workspace_drop
    from devtools.stripe_emulator import start_stripe_emulator

    result: dict[str, Any] = {"suite": "billing", "quick": args.quick, "machine": machine()}
    started = time.perf_counter()
    emulator = start_stripe_emulator(port=0)
    try:
        configure_stripe(emulator)
        webhooks = bench_webhooks(emulator, updates=updates)
        workspace = webhooks.pop("workspace")
        result["webhooks"] = webhooks
        result["entitlements"] = bench_entitlements(workspace.schema_name, calls=calls)
        workspace_drop(workspace=workspace)
    finally:
        emulator.shutdown()
        if not args.keep:
            drop_database(dbname)
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["method"] = (
        "webhook view in-process (Django test client, public host), Celery eager, emulator over HTTP; "
        "entitlements.for_workspace timed directly"
    )
    emit(result)


if __name__ == "__main__":
    main()
