"""Writes of the connectors app: connect (OAuth), choose accounts, pause, re-authorise, disconnect, sync.

Views parse the request and call one function here; each changes state atomically and enqueues
work only on commit. Errors a person should read are `ConnectorError`s with a `user_message`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Min, Q
from django.utils import timezone

from accounts.selectors import workspace_for_schema
from accounts.services import oauth_route_create, oauth_routes_delete
from billing.entitlements import EntitlementError, check, for_workspace
from bosco.db import connection as db
from connectors import conf, oauth, shopify_oauth
from connectors.errors import ConnectionFlowError, ConnectorError, OperatorError
from connectors.models import (
    AirbyteSource,
    Connection,
    ConnectionAccount,
    OAuthState,
    Platform,
    StreamCursor,
    SyncRun,
)
from connectors.oauth import PLATFORM_LABELS
from connectors.platforms import AccountInfo, client_for
from connectors.platforms.shopify import valid_shop
from connectors.sync.runs import enqueue_run, lock_is_free
from warehouse.models import RawRecord
from warehouse.services import pipeline

logger = logging.getLogger("connectors.services")

SESSION_STATES_KEY = "connectors.oauth_states"
MAX_PENDING_STATES = 5


# ---------------------------------------------------------------------------------------------
# OAuth
def _entitlement_check(limit: str, *, current: int = 0) -> Any:
    """Ask billing (the layer below) whether this workspace may; its refusal becomes a ConnectorError."""
    try:
        return check(db.schema_name, limit, current=current)
    except EntitlementError as exc:
        raise ConnectorError(f"entitlement: {exc.limit}", user_message=exc.message) from exc


def data_sources_in_use() -> int:
    """Connections that count against the plan: everything not paused or disconnected."""
    return Connection.objects.exclude(status__in=[Connection.Status.PAUSED, Connection.Status.DISCONNECTED]).count()


def oauth_begin(
    *,
    platform: str,
    user_id: int,
    session: Mapping[str, object] | dict[str, object],
    connection: Connection | None = None,
    shop: str = "",
) -> str:
    """Start connecting (or re-authorising `connection`): returns the platform's consent URL.

    The `state` is random, stored only as a hash, single-use, short-lived and bound to this
    browser session; Google also gets a PKCE verifier, which never leaves the server. The
    redirect URI is the one shared callback on the public site (`conf.oauth_redirect_uri`); a
    route in the public schema (same hash, same expiry, same transaction) lets it hand the
    platform's answer to this workspace's own callback, which checks the state.
    """
    if platform not in Platform.values:
        raise ConnectorError(f"unknown platform {platform!r}", user_message="Bosco cannot connect that platform.")
    if connection is not None and connection.platform != platform:
        raise ConnectorError("platform mismatch", user_message="That connection belongs to another platform.")
    workspace = workspace_for_schema(schema_name=db.schema_name)
    if workspace is None:
        raise ConnectorError("OAuth outside a workspace", user_message="Connect data sources from a workspace.")
    if platform == Platform.SHOPIFY:
        if connection is not None and not shop:
            shop = connection.label
        checked = valid_shop(shop)
        if checked is None:
            raise ConnectorError(
                f"bad shop {shop[:80]!r}",
                user_message=(
                    "Enter your store's Shopify address, like your-store.myshopify.com (lower-case letters, "
                    "digits and dashes, then .myshopify.com)."
                ),
            )
        shop = checked
    if connection is None:
        _entitlement_check("data_sources", current=data_sources_in_use())
    state = oauth.new_state()
    digest = oauth.state_hash(state)
    verifier = oauth.new_code_verifier() if platform in oauth.GOOGLE_PLATFORMS else ""
    redirect_uri = conf.oauth_redirect_uri()
    now = timezone.now()
    expires_at = now + timedelta(seconds=settings.CONNECTORS_OAUTH_STATE_TTL_SECONDS)
    with transaction.atomic():
        OAuthState.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()
        OAuthState.objects.create(
            state_hash=digest,
            platform=platform,
            connection=connection,
            code_verifier=verifier,
            redirect_uri=redirect_uri,
            shop=shop if platform == Platform.SHOPIFY else "",
            user_id=user_id,
            expires_at=expires_at,
        )
        oauth_route_create(workspace=workspace, state_hash=digest, expires_at=expires_at)
    pending = [h for h in _session_states(session) if isinstance(h, str)][-(MAX_PENDING_STATES - 1) :]
    session[SESSION_STATES_KEY] = [*pending, digest]  # type: ignore[index]
    if platform == Platform.SHOPIFY:
        return shopify_oauth.authorization_url(shop=shop, redirect_uri=redirect_uri, state=state)
    return oauth.authorization_url(platform=platform, redirect_uri=redirect_uri, state=state, code_verifier=verifier)


def _session_states(session: Mapping[str, object]) -> list[object]:
    value = session.get(SESSION_STATES_KEY)
    return list(value) if isinstance(value, list) else []


@dataclass(frozen=True)
class OAuthOutcome:
    connection: Connection
    created: bool
    sync_started: bool


def oauth_complete(
    *,
    params: Mapping[str, str],
    user_id: int,
    session: Mapping[str, object] | dict[str, object],
) -> OAuthOutcome:
    """Finish the callback: check `state`, exchange the code, list the ad accounts, save encrypted."""
    state = params.get("state") or ""
    if not state:
        raise ConnectionFlowError(
            "callback without state",
            user_message="The answer from the ad platform was incomplete (it had no state), so Bosco ignored it. Please start connecting again.",
        )
    digest = oauth.state_hash(state)
    with transaction.atomic():
        attempt = OAuthState.objects.select_for_update().filter(state_hash=digest).first()
        if attempt is not None and attempt.used_at is not None:
            raise ConnectionFlowError(
                "replayed state",
                user_message="This sign-in answer was already used, so Bosco ignored it. Please start connecting again if you need to.",
            )
        bound = digest in _session_states(session)
        if attempt is None or not bound or attempt.user_id != user_id:
            raise ConnectionFlowError(
                "unknown state",
                user_message=(
                    "This sign-in answer does not match a connection you started in this browser, so Bosco ignored it "
                    "for your safety. Please start connecting again from Data sources."
                ),
            )
        if attempt.expires_at <= timezone.now():
            raise ConnectionFlowError(
                "expired state",
                user_message="This sign-in took too long and expired. Please start connecting again.",
            )
        # Spent now, whatever happens next: a replay of this URL can never be accepted (and the
        # shared callback on the public site no longer knows where to send it).
        attempt.used_at = timezone.now()
        attempt.save(update_fields=["used_at"])
        oauth_routes_delete(state_hashes=[digest])
    session[SESSION_STATES_KEY] = [h for h in _session_states(session) if h != digest]  # type: ignore[index]

    label = PLATFORM_LABELS[attempt.platform]
    error = params.get("error")
    if error:
        if error == "access_denied":
            raise ConnectionFlowError(
                "consent denied",
                user_message=f"You declined access on {label}, so nothing was connected or changed.",
            )
        detail = params.get("error_description") or error
        raise ConnectionFlowError(
            f"platform error: {error}", user_message=f"{label} did not grant access: {detail}. Please try again."
        )
    code = params.get("code") or ""
    if not code:
        raise ConnectionFlowError(
            "no code", user_message=f"{label} sent no authorization code. Please start connecting again."
        )

    shop = ""
    if attempt.platform == Platform.SHOPIFY:
        shop = _shopify_callback_shop(params, attempt)
    try:
        if shop:
            tokens = shopify_oauth.exchange_code(shop=shop, code=code)
        else:
            tokens = oauth.exchange_code(
                platform=attempt.platform,
                code=code,
                redirect_uri=attempt.redirect_uri,
                code_verifier=attempt.code_verifier or "",
            )
    except ConnectionFlowError:
        raise
    except ConnectorError as exc:
        _log_if_operator_error(exc, "exchanging the authorization code")
        raise ConnectionFlowError(
            str(exc), user_message=f"{label} could not complete the sign-in: {exc.user_message}"
        ) from exc
    accounts = _accounts_with(attempt.platform, tokens.access_token, shop=shop)
    with transaction.atomic():
        if attempt.connection_id:
            connection = Connection.objects.select_for_update().get(pk=attempt.connection_id)
            created = False
        else:
            # Checked again here: another tab may have taken the last data source meanwhile.
            _entitlement_check("data_sources", current=data_sources_in_use())
            connection = Connection(
                platform=attempt.platform,
                label=shop,
                lookback_days=conf.lookback_days(attempt.platform),
                backfill_days=conf.default_backfill_days(attempt.platform),
                sync_interval_hours=settings.CONNECTORS_SYNC_INTERVAL_HOURS,
                created_by_id=user_id,
            )
            created = True
        connection.access_token = tokens.access_token
        connection.refresh_token = tokens.refresh_token
        connection.token_expires_at = tokens.expires_at
        connection.scopes = tokens.scopes
        connection.token_version += 1
        if connection.status != Connection.Status.PAUSED:
            connection.status = Connection.Status.ACTIVE
        connection.status_message = ""
        connection.disconnected_at = None
        connection.save()
        _accounts_upsert(connection, accounts)
        sync_started = False
        if created and attempt.platform == Platform.SHOPIFY:
            # A Shopify grant is for exactly one store: nothing to choose, its history starts now.
            connection.accounts.update(selected=True)
            _, sync_started = sync_request(connection=connection, kind=SyncRun.Kind.BACKFILL, requested_by_id=user_id)
        elif (
            not created
            and connection.status == Connection.Status.ACTIVE
            and connection.accounts.filter(selected=True).exists()
        ):
            _, sync_started = sync_request(connection=connection, kind=SyncRun.Kind.MANUAL, requested_by_id=user_id)
    return OAuthOutcome(connection=connection, created=created, sync_started=sync_started)


def _shopify_callback_shop(params: Mapping[str, str], attempt: OAuthState) -> str:
    """The shop of a Shopify install callback, once its signature and shop are proven."""
    query = {key: str(params.get(key, "")) for key in params}
    if not shopify_oauth.query_is_signed(query):
        logger.warning("Shopify callback with a missing or wrong hmac refused")
        raise ConnectionFlowError(
            "forged Shopify callback",
            user_message=(
                "This answer did not carry Shopify's signature, so Bosco ignored it for your safety and connected "
                "nothing. Please start connecting the store again from Data sources."
            ),
        )
    shop = valid_shop(query.get("shop"))
    if shop is None or shop != attempt.shop:
        raise ConnectionFlowError(
            "Shopify callback for another shop",
            user_message=(
                f"Shopify answered for a different store than the one you started with ({attempt.shop}), so "
                "nothing was connected. Please start again."
            ),
        )
    return shop


def _accounts_with(platform: str, access_token: str, *, shop: str = "") -> list[AccountInfo]:
    label = PLATFORM_LABELS[platform]
    client = client_for(platform, tokens=oauth.StaticTokens(access_token, platform, shop=shop))
    try:
        accounts = client.list_accounts()
    except ConnectorError as exc:
        _log_if_operator_error(exc, "listing the ad accounts")
        raise ConnectionFlowError(
            f"listing accounts failed: {exc.message}",
            user_message=f"Bosco signed in to {label} but could not list your ad accounts: {exc.user_message}",
        ) from exc
    finally:
        client.close()
    if not accounts:
        raise ConnectionFlowError(
            "no ad accounts",
            user_message=f"The {label} user you signed in with has no ad accounts Bosco can read. Sign in with a user who has access to an ad account.",
        )
    return accounts


def _log_if_operator_error(exc: ConnectorError, during: str) -> None:
    """Bosco's own misconfiguration must reach the operator, not only the person connecting."""
    if isinstance(exc, OperatorError):
        logger.error("connecting failed while %s because Bosco is misconfigured: %s", during, exc.message)


def _accounts_upsert(connection: Connection, accounts: Iterable[AccountInfo]) -> None:
    existing = {a.external_id: a for a in connection.accounts.all()}
    seen: set[str] = set()
    for info in accounts:
        seen.add(info.external_id)
        account = existing.get(info.external_id)
        if account is None:
            ConnectionAccount.objects.create(
                connection=connection,
                external_id=info.external_id,
                name=info.name[:300],
                currency=info.currency[:3],
                time_zone=info.time_zone[:64],
            )
        else:
            account.name, account.currency, account.time_zone = info.name[:300], info.currency[:3], info.time_zone[:64]
            account.accessible = True
            account.save(update_fields=["name", "currency", "time_zone", "accessible"])
    connection.accounts.exclude(external_id__in=seen).update(accessible=False)


def connection_connect_granted(
    *,
    platform: str,
    tokens: oauth.TokenSet,
    user_id: int | None,
    label: str = "",
    backfill_days: int | None = None,
) -> Connection:
    """Connect `platform` with a grant obtained outside the consent page (the demo mints its grants
    through the emulators' control API), or give the platform's live connection this new grant.

    A new connection syncs every account the grant reaches; an existing one keeps its selection,
    and one that needed re-authorising is active again. Nothing is queued: the caller decides.
    """
    with transaction.atomic():
        connection = (
            Connection.objects.select_for_update()
            .filter(platform=platform)
            .exclude(status=Connection.Status.DISCONNECTED)
            .order_by("pk")
            .first()
        )
        if connection is None:
            connection = Connection(
                platform=platform,
                label=label,
                lookback_days=conf.lookback_days(platform),
                backfill_days=backfill_days or conf.default_backfill_days(platform),
                sync_interval_hours=settings.CONNECTORS_SYNC_INTERVAL_HOURS,
                created_by_id=user_id,
            )
        connection.access_token = tokens.access_token
        connection.refresh_token = tokens.refresh_token
        connection.token_expires_at = tokens.expires_at
        connection.scopes = tokens.scopes
        connection.token_version += 1
        if connection.status == Connection.Status.NEEDS_REAUTH:
            connection.status, connection.status_message = Connection.Status.ACTIVE, ""
        connection.save()
        if not connection.accounts.exists():
            # A Shopify connection's label is its shop (`<name>.myshopify.com`).
            _accounts_upsert(connection, _accounts_with(platform, tokens.access_token, shop=connection.label))
            connection.accounts.update(selected=True)
    return connection


# ---------------------------------------------------------------------------------------------
# Accounts and settings
def connection_accounts_select(
    *, connection: Connection, external_ids: Iterable[str], user_id: int | None
) -> SyncRun | None:
    """Choose which ad accounts to sync; newly chosen ones get their history backfilled."""
    wanted = {str(x) for x in external_ids}
    with transaction.atomic():
        connection = Connection.objects.select_for_update().get(pk=connection.pk)
        if connection.status == Connection.Status.DISCONNECTED:
            raise ConnectorError(
                "disconnected", user_message="This connection is disconnected. Connect the platform again first."
            )
        accounts = {a.external_id: a for a in connection.accounts.all()}
        unknown = wanted - set(accounts)
        if unknown:
            raise ConnectorError(
                f"unknown accounts {sorted(unknown)}",
                user_message="Some of the chosen accounts are not available on this connection.",
            )
        if not wanted:
            raise ConnectorError(
                "no accounts", user_message="Choose at least one ad account to sync (or disconnect instead)."
            )
        taken = (
            ConnectionAccount.objects.filter(
                external_id__in=wanted, selected=True, connection__platform=connection.platform
            )
            .exclude(connection=connection)
            .exclude(connection__status=Connection.Status.DISCONNECTED)
            .first()
        )
        if taken is not None:
            raise ConnectorError(
                "account synced elsewhere",
                user_message=f"{taken.name} ({taken.display_id}) is already synced by another connection in this workspace; syncing it twice would count it twice.",
            )
        newly = [a for x, a in accounts.items() if x in wanted and not a.selected]
        for external_id, account in accounts.items():
            selected = external_id in wanted
            if account.selected != selected:
                account.selected = selected
                account.save(update_fields=["selected"])
        if not newly or connection.status not in (Connection.Status.ACTIVE, Connection.Status.ERROR):
            return None
        run, _ = sync_request(connection=connection, kind=SyncRun.Kind.BACKFILL, requested_by_id=user_id)
        return run


def connection_settings_update(
    *, connection: Connection, lookback_days: int, backfill_days: int, sync_interval_hours: int
) -> Connection:
    limit = conf.max_history_days(connection.platform)
    if not 1 <= lookback_days <= 90:
        raise ConnectorError("lookback out of range", user_message="The lookback window must be between 1 and 90 days.")
    if not 1 <= backfill_days <= limit:
        raise ConnectorError(
            "backfill out of range",
            user_message=f"History can go back between 1 and {limit} days ({PLATFORM_LABELS[connection.platform]}'s limit).",
        )
    if not 1 <= sync_interval_hours <= 24:
        raise ConnectorError("interval out of range", user_message="Syncs run every 1 to 24 hours.")
    plan = _entitlement_check("write")
    if sync_interval_hours < plan.min_sync_interval_hours:
        raise ConnectorError(
            "interval below plan",
            user_message=f"Your {plan.plan_label} plan syncs at most every {plan.min_sync_interval_hours} hours."
            " Upgrade under Settings → Plan and billing for more frequent syncs.",
        )
    if backfill_days > plan.history_days:
        raise ConnectorError(
            "history beyond plan",
            user_message=f"Your {plan.plan_label} plan keeps {plan.history_months} months of history"
            f" ({plan.history_days} days). Upgrade under Settings → Plan and billing for more.",
        )
    with transaction.atomic():
        connection = Connection.objects.select_for_update().get(pk=connection.pk)
        connection.lookback_days = lookback_days
        connection.backfill_days = backfill_days
        if (
            connection.sync_interval_hours != sync_interval_hours
            and connection.next_sync_at
            and connection.last_sync_at
        ):
            connection.next_sync_at = connection.last_sync_at + timedelta(hours=sync_interval_hours)
        connection.sync_interval_hours = sync_interval_hours
        connection.save()
    return connection


# ---------------------------------------------------------------------------------------------
# Runs
def sync_request(
    *, connection: Connection, kind: str, requested_by_id: int | None = None, turn: int = 0
) -> tuple[SyncRun, bool]:
    """Queue a sync unless one is already queued or running (then that one is returned).

    `turn`: the sync's place in its workspace's scheduling round (`runs.TURN_PRIORITIES`).
    """
    _entitlement_check("sync")
    with transaction.atomic():
        connection = Connection.objects.select_for_update().get(pk=connection.pk)
        if connection.status == Connection.Status.PAUSED:
            raise ConnectorError("paused", user_message="This connection is paused. Resume it to sync.")
        if connection.status == Connection.Status.NEEDS_REAUTH:
            raise ConnectorError(
                "needs reauth",
                user_message="Re-authorise this connection first; the platform no longer accepts Bosco's access.",
            )
        if connection.status == Connection.Status.DISCONNECTED:
            raise ConnectorError("disconnected", user_message="This connection is disconnected.")
        if not connection.accounts.filter(selected=True).exists():
            raise ConnectorError("no accounts", user_message="Choose which ad accounts to sync first.")
        active = connection.runs.filter(status__in=SyncRun.ACTIVE_STATUSES).first()
        if active is not None:
            return active, False
        run = SyncRun.objects.create(connection=connection, kind=kind, requested_by_id=requested_by_id)
        enqueue_run(run, turn=turn)
        return run, True


def connection_resync(
    *, connection: Connection, date_from: date | None = None, requested_by_id: int | None = None
) -> SyncRun:
    """Sync now; with `date_from`, every day from it to today is read again (support's resync).

    The engine reads newest first from each stream's covered span, so forgetting that the span
    reaches past `date_from` makes the run re-read those days; rows land idempotently by key, and
    the warehouse rebuilds the window the run lands.
    """
    with transaction.atomic():
        connection = Connection.objects.select_for_update().get(pk=connection.pk)
        if date_from is not None:
            if connection.runs.filter(status__in=SyncRun.ACTIVE_STATUSES).exists():
                raise ConnectorError(
                    "busy", user_message="A sync of this connection is running; resync the days once it has finished."
                )
            for cursor in StreamCursor.objects.select_for_update().filter(
                connection=connection, covered_from__isnull=False, covered_to__isnull=False
            ):
                assert cursor.covered_from is not None and cursor.covered_to is not None
                if date_from <= cursor.covered_from:
                    cursor.covered_from = cursor.covered_to = None
                elif date_from <= cursor.covered_to:
                    cursor.covered_to = date_from - timedelta(days=1)
                else:
                    continue
                cursor.save(update_fields=["covered_from", "covered_to"])
        run, _ = sync_request(connection=connection, kind=SyncRun.Kind.MANUAL, requested_by_id=requested_by_id)
    return run


def connection_pause(*, connection: Connection) -> Connection:
    with transaction.atomic():
        connection = Connection.objects.select_for_update().get(pk=connection.pk)
        if connection.status not in (Connection.Status.ACTIVE, Connection.Status.ERROR):
            raise ConnectorError(
                "not pausable",
                user_message=f"A connection that is {connection.get_status_display().lower()} cannot be paused.",
            )
        connection.status = Connection.Status.PAUSED
        connection.next_sync_at = None
        connection.save(update_fields=["status", "next_sync_at", "updated_at"])
        # A queued run never starts; a running one stops after its current page.
        connection.runs.filter(status=SyncRun.Status.QUEUED).update(
            status=SyncRun.Status.CANCELLED, finished_at=timezone.now(), note="Paused before it started."
        )
    return connection


def connection_resume(*, connection: Connection, user_id: int | None) -> Connection:
    with transaction.atomic():
        connection = Connection.objects.select_for_update().get(pk=connection.pk)
        if connection.status != Connection.Status.PAUSED:
            raise ConnectorError("not paused", user_message="Only a paused connection can be resumed.")
        _entitlement_check("data_sources", current=data_sources_in_use())
        connection.status = Connection.Status.ACTIVE
        connection.save(update_fields=["status", "updated_at"])
        if connection.accounts.filter(selected=True).exists():
            sync_request(connection=connection, kind=SyncRun.Kind.MANUAL, requested_by_id=user_id)
    return connection


def connection_disconnect(*, connection: Connection, delete_data: bool = False) -> Connection:
    """Delete the credentials (and revoke them at the platform); keep synced data unless asked."""
    with transaction.atomic():
        connection = Connection.objects.select_for_update().get(pk=connection.pk)
        grant = connection.refresh_token or connection.access_token or ""
        now = timezone.now()
        connection.runs.filter(status__in=SyncRun.ACTIVE_STATUSES).update(
            status=SyncRun.Status.CANCELLED, finished_at=now, note="Stopped: the connection was disconnected."
        )
        connection.access_token = ""
        connection.refresh_token = ""
        connection.token_expires_at = None
        connection.token_version += 1
        connection.status = Connection.Status.DISCONNECTED
        connection.status_message = ""
        connection.next_sync_at = None
        connection.disconnected_at = now
        connection.save()
        pending = OAuthState.objects.filter(connection=connection, used_at__isnull=True)
        oauth_routes_delete(state_hashes=pending.values_list("state_hash", flat=True))
        pending.delete()
        AirbyteSource.objects.filter(connection=connection).update(secrets="")  # forgotten like tokens
        if delete_data:
            _delete_synced_data(connection)
    platform = connection.platform
    if grant:
        transaction.on_commit(lambda: oauth.revoke(platform=platform, token=grant))
    return connection


def _delete_synced_data(connection: Connection) -> None:
    """Remove the connection's raw records and tell the warehouse to rebuild what derived from them."""
    cursors = StreamCursor.objects.filter(connection=connection, covered_from__isnull=False)
    spans = [(c.covered_from, c.covered_to) for c in cursors if c.covered_from and c.covered_to]
    if connection.platform == Platform.AIRBYTE:  # its mapped rows' days, not cursor spans
        days = RawRecord.objects.filter(connection_id=connection.pk, date__isnull=False).aggregate(
            first=Min("date"), last=Max("date")
        )
        if days["first"]:
            spans.append((days["first"], days["last"]))
    account_ids = sorted(set(connection.accounts.values_list("external_id", flat=True)))
    RawRecord.objects.filter(connection_id=connection.pk).delete()
    StreamCursor.objects.filter(connection=connection).delete()
    if spans:
        last_run = connection.runs.order_by("-pk").values_list("pk", flat=True).first() or 0
        pipeline.enqueue_window_transform(
            connection_id=connection.pk,
            platform=connection.platform,
            account_ids=account_ids,
            date_from=min(s[0] for s in spans),
            date_to=max(s[1] for s in spans),
            sync_run_id=last_run,
        )


def syncs_schedule_due(*, now: datetime | None = None) -> dict[str, int]:
    """Start the scheduled syncs that are due, and re-queue active runs nobody is working on."""
    moment = now or timezone.now()
    plan = for_workspace(db.schema_name)
    if plan.read_only:
        logger.info("syncs not scheduled in %s: %s", db.schema_name, plan.read_only_reason)
        return {"started": 0, "rescued": 0}
    _pause_over_plan(plan.max_connections)
    started = 0
    due = (
        Connection.objects.filter(status__in=[Connection.Status.ACTIVE, Connection.Status.ERROR])
        .filter(Q(next_sync_at__lte=moment) | Q(next_sync_at__isnull=True))
        .filter(accounts__selected=True)
        # the plan's minimum interval holds whatever the connection was set to before a downgrade
        .exclude(last_sync_at__gt=moment - timedelta(hours=plan.min_sync_interval_hours))
        .distinct()
    )
    # Each due connection gets its turn in the round (the least recently synced first), so the
    # broker serves every workspace's first due sync before any workspace's second.
    fair = settings.CONNECTORS_SCHEDULE_FAIR
    for connection in due.order_by(F("last_sync_at").asc(nulls_first=True), "pk"):
        try:
            _, created = sync_request(connection=connection, kind=SyncRun.Kind.SCHEDULED, turn=started if fair else 0)
        except ConnectorError as exc:
            logger.info("connection %s not scheduled: %s", connection.pk, exc.message)
            continue
        started += int(created)
    stale_before = moment - timedelta(seconds=settings.CONNECTORS_STALE_RUN_SECONDS)
    rescued = 0
    candidates = SyncRun.objects.filter(status__in=SyncRun.ACTIVE_STATUSES).filter(
        Q(heartbeat_at__lt=stale_before) | Q(heartbeat_at__isnull=True, created_at__lt=stale_before)
    )
    for run in candidates:
        if run.resume_after and run.resume_after > moment:
            continue
        if not lock_is_free(run.connection_id):
            continue  # a live worker holds it
        with transaction.atomic():
            enqueue_run(run)
        rescued += 1
    return {"started": started, "rescued": rescued}


def _pause_over_plan(limit: int) -> int:
    """After a downgrade, connections beyond the plan's limit pause (the newest first); nothing is deleted.

    The owner chooses which stay: pausing one frees a place for another to be resumed.
    """
    counted = Connection.objects.exclude(status__in=[Connection.Status.PAUSED, Connection.Status.DISCONNECTED])
    over = list(counted.order_by("-created_at", "-id").values_list("pk", flat=True)[: max(0, counted.count() - limit)])
    for pk in over:
        connection = connection_pause(connection=Connection(pk=pk))
        Connection.objects.filter(pk=connection.pk).update(
            status_message=f"Paused: your plan includes {limit} data sources. Pause another one to resume this,"
            " or upgrade under Settings → Plan and billing."
        )
    if over:
        logger.info("paused %d connections over the plan's %d in %s", len(over), limit, db.schema_name)
    return len(over)


def credentials_rotate() -> int:
    """Re-encrypt every stored token and PKCE verifier with the newest key (after adding a key).

    `EncryptedTextField` decrypts with any configured key and encrypts with the first, so a read
    and a write is a rotation; once every workspace has run this, the old key can be retired.
    """
    rotated = 0
    with transaction.atomic():
        for connection in Connection.objects.select_for_update().exclude(
            access_token__isnull=True, refresh_token__isnull=True
        ):
            connection.save(update_fields=["access_token", "refresh_token"])
            rotated += 1
        for attempt in OAuthState.objects.select_for_update().filter(used_at__isnull=True):
            attempt.save(update_fields=["code_verifier"])
            rotated += 1
        for source in AirbyteSource.objects.select_for_update().exclude(secrets=""):  # Airbyte sources' secrets
            source.save(update_fields=["secrets"])
            rotated += 1
    return rotated
