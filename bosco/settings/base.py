"""Settings shared by every environment, read from the process environment.

Secrets have development defaults here only; `production.py` refuses to start without them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import environ

from bosco.redis_urls import cache_url_for, celery_url_for

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-secret-key-change-me-0123456789abcdefghij")

# Workspaces live at <slug>.<BOSCO_DOMAIN>; the bare domain is the public site.
BOSCO_DOMAIN = env("BOSCO_DOMAIN", default="localhost").lower()
# Scheme and port used when Bosco builds an absolute link to a workspace host
# (handoff redirects, invitation e-mails). Empty port means the scheme's default.
BOSCO_SCHEME = env("BOSCO_SCHEME", default="http")
BOSCO_PORT = env("BOSCO_PORT", default="8000")
ALLOWED_HOSTS = [BOSCO_DOMAIN, f".{BOSCO_DOMAIN}", *env.list("EXTRA_ALLOWED_HOSTS", default=[])]

SHARED_APPS = [
    "django_tenants",
    "bosco",  # the project core as an app only for its deploy command (`manage.py bootstrap`)
    "accounts",
    "billing",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Django's admin on a site that requires staff to pass allauth's sign-in and second factor.
    "accounts.apps.StaffAdminConfig",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_celery_beat",
    "django_htmx",
    "template_partials",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Digests span a member's workspaces (one combined e-mail), so their settings and sends are shared.
    "digests",
    # The support console (docs/support.md): public-schema audit, health summaries, exports.
    "support",
    # First-party tracking: its settings and key directory are public, its events per workspace
    # (tracking.routers keeps each table on its side; docs/tracking.md).
    "tracking",
]
TENANT_APPS = [
    "connectors",
    "warehouse",
    "insights",
    "alerts",
    "uploads",
    "tracking",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "accounts.Workspace"
TENANT_DOMAIN_MODEL = "accounts.Domain"
PUBLIC_SCHEMA_NAME = "public"
# New workspaces are cloned from this schema instead of replaying every migration;
# `manage.py bootstrap` keeps it migrated on every deploy.
TENANT_BASE_SCHEMA = "tenant_template"
# `manage.py bootstrap` migrates workspace schemas that are behind in this many processes.
BOSCO_MIGRATION_PROCESSES = env.int("BOSCO_MIGRATION_PROCESSES", default=4)
TENANT_CREATION_FAKES_MIGRATIONS = True
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False
# Set search_path once after each tenant switch instead of before every cursor: one database round
# trip less per query. Safe because every switch goes through set_tenant/set_schema (which reset it),
# and the only manual change (accounts/schema_clone.py) is transaction-local and restored.
TENANT_LIMIT_SET_CALLS = True
# The replica router first (reads of workspace data in page and API views, bosco/replica.py); it
# answers nothing about migrations for the primary, so django-tenants' router decides those.
DATABASE_ROUTERS = [
    "bosco.replica.ReplicaRouter",
    "tracking.routers.TrackingSchemaRouter",
    "django_tenants.routers.TenantSyncRouter",
]

ROOT_URLCONF = "bosco.urls_tenants"
PUBLIC_SCHEMA_URLCONF = "bosco.urls_public"

MIDDLEWARE = [
    # Outermost: every answer, even a probe's, gets a request id, a latency figure and log context.
    "bosco.middleware.RequestContextMiddleware",
    # First, so every answer carries HSTS, nosniff, Referrer-Policy and the CSP, including those
    # made before tenant routing (health probes, refused NUL bytes, an unknown host's 404).
    "django.middleware.security.SecurityMiddleware",
    "bosco.middleware.ContentSecurityPolicyMiddleware",
    "bosco.middleware.HealthCheckMiddleware",
    # Before tenant routing: a NUL in the path, query, headers or cookies never reaches PostgreSQL.
    "bosco.middleware.RejectNulBytesMiddleware",
    "django_tenants.middleware.main.TenantMainMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.WorkspaceAccessMiddleware",
    "billing.middleware.ReadOnlyWorkspaceMiddleware",
    # After both: support's impersonation is read-only and must still be live (support.middleware).
    "support.middleware.ImpersonationMiddleware",
    "bosco.middleware.NumberFormatMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: only the view's own reads of workspace data may use a replica (bosco/replica.py).
    "bosco.replica.ReplicaReadsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.workspace",
                "billing.context_processors.billing_banner",
                "support.context_processors.impersonation_banner",
            ],
            # `num`: numbers for people in the workspace's number format, in every template
            "builtins": ["insights.templatetags.numbers"],
        },
    }
]

WSGI_APPLICATION = "bosco.wsgi.application"

_database = env.db_url("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/bosco")
_database["ENGINE"] = "bosco.db_backend"  # django-tenants' backend, faster table listing
_database["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
_database["CONN_HEALTH_CHECKS"] = True
DATABASES = {"default": _database}
# A hot standby of the primary (streaming replication). Set, page and API reads of workspace data
# go there, with read-your-writes for each person's own changes (bosco/replica.py, docs/deploy.md).
if env("DATABASE_REPLICA_URL", default=""):
    _replica = env.db_url("DATABASE_REPLICA_URL")
    _replica["ENGINE"] = "bosco.db_backend"
    _replica["CONN_MAX_AGE"] = _database["CONN_MAX_AGE"]
    _replica["CONN_HEALTH_CHECKS"] = True
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _replica
# How long a person's own change pins their reads to the primary while the replica has not replayed it.
DATABASE_REPLICA_PIN_SECONDS = env.int("DATABASE_REPLICA_PIN_SECONDS", default=300)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "bosco.cache.RedisCache",
        # The cache lives in the next Redis database so clearing it never drops queued tasks.
        "LOCATION": cache_url_for(REDIS_URL),
        # Every key carries the schema of the workspace it was written for, except the rate-limit
        # counters, which are global (bosco.cache.GLOBAL_KEY_PREFIXES).
        "KEY_FUNCTION": "bosco.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="bosco"),
    }
}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# allauth: e-mail is the login; the address must be verified before the first workspace.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Bosco] "
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "workspace_home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

# Second factor (allauth.mfa): TOTP with recovery codes. Staff need it for the support admin
# (accounts.admin_site); members may turn it on for themselves. Secrets are encrypted at rest.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Bosco"
MFA_ADAPTER = "accounts.adapters.MFAAdapter"

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# No SESSION_COOKIE_DOMAIN: each host keeps its own session (see accounts.middleware).

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
# A hung SMTP server must not hold a worker until the task's hard limit: a send that gets no answer
# for this long fails and is retried (digests treat a `sending` row older than 15 minutes as dead).
EMAIL_TIMEOUT = EMAIL_CONFIG.get("EMAIL_TIMEOUT") or env.int("EMAIL_TIMEOUT", default=30)
# Mail goes through a wrapper that counts delivery failures (bosco.mail) around the real backend.
BOSCO_EMAIL_BACKEND = EMAIL_CONFIG["EMAIL_BACKEND"]
EMAIL_BACKEND = "bosco.mail.MeteredEmailBackend"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Bosco <hello@bosco.invalid>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = BASE_DIR / "var" / "media"

# An ECB-format rates file loaded into the workspace template when it has no rates yet (so new
# workspaces start with a rate history). Empty in production, which loads the ECB's own files.
BOSCO_FX_SEED = env("BOSCO_FX_SEED", default="")

# Field encryption (OAuth tokens, secrets): comma-separated Fernet keys, newest first.
# MultiFernet decrypts with any and encrypts with the first, so keys rotate without downtime.
BOSCO_ENCRYPTION_KEYS = env.list("BOSCO_ENCRYPTION_KEYS", default=[])

# Stripe (billing/stripe_client.py is the only caller). Without a secret key billing shows "not
# configured" and workspaces keep their plan. STRIPE_API_BASE is empty in production (the library
# talks to Stripe itself); `make run` and the tests point it at devtools/stripe_emulator.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env("STRIPE_API_BASE", default="")
# Retries of failed connections and 5xx answers (POSTs carry an idempotency key, so they are safe).
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=10.0)
# Stripe Tax: Checkout computes and collects tax when enabled (needs Stripe Tax set up on the account).
BILLING_AUTOMATIC_TAX = env.bool("BILLING_AUTOMATIC_TAX", default=False)

SENTRY_DSN = env("SENTRY_DSN", default="")
# Bearer token a Prometheus scraper sends to /metrics on the public host; empty: /metrics is 404.
BOSCO_METRICS_TOKEN = env("BOSCO_METRICS_TOKEN", default="")

# Celery: Redis broker, late acks so a killed worker's task is delivered again.
CELERY_BROKER_URL = celery_url_for(REDIS_URL)
CELERY_RESULT_BACKEND = celery_url_for(REDIS_URL)
CELERY_TASK_DEFAULT_QUEUE = env("BOSCO_CELERY_QUEUE", default="bosco")
# One queue per kind of work ("bosco.syncs", "bosco.warehouse", "bosco.scoring",
# "bosco.notifications", "bosco.billing", and "bosco" for the rest), see bosco/queues.py.
CELERY_TASK_ROUTES = ("bosco.queues.route_task",)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
# A dead worker's unacked task is put back on its queue by a sweep that every live worker runs
# (whatever queues it consumes) once the message is older than the visibility timeout: longer
# than the hard time limit, so a running task is never redelivered while still alive.
# kombu's own defaults sweep only every 10 s x 10 (its throttle) = 100 s after a worker's first
# sweep at start-up, and a worker killed while holding the sweep's lock blocks every sweep for
# 300 s; Bosco sweeps every CELERY_RESTORE_INTERVAL seconds and the lock expires after 60 s. So
# a killed worker's task runs again at most visibility timeout + restore interval (+ 60 s) after
# it was taken, on any worker of its queue (docs/deploy.md, "Celery queues").
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=45 * 60),
    "unacked_restore_interval": env.int("CELERY_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": 1,
    "unacked_mutex_expire": 60,
}
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_TRACK_STARTED = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# Proxies in front of Bosco that append the client's address to X-Forwarded-For (a load
# balancer: 1). 0 means REMOTE_ADDR is the client and X-Forwarded-For is ignored, so a client cannot
# choose the address its sign-in and API-key failures are counted under. Both allauth's rate limits
# and the API's throttles read it.
BOSCO_TRUSTED_PROXY_COUNT = env.int("BOSCO_TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_PROXY_COUNT = BOSCO_TRUSTED_PROXY_COUNT
# Failed API-key checks one client address may make per minute before it gets 429 (bosco.api.failed_auth).
API_AUTH_FAILURES_PER_MINUTE = env.int("API_AUTH_FAILURES_PER_MINUTE", default=20)

REST_FRAMEWORK = {
    "NUM_PROXIES": BOSCO_TRUSTED_PROXY_COUNT,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Endpoints inherit bosco.api.viewsets, which fixes authentication, permissions and throttles.
    "DEFAULT_AUTHENTICATION_CLASSES": ["bosco.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "bosco.api.exceptions.problem_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Bosco API",
    "DESCRIPTION": "Unified marketing metrics of one workspace. Authenticate with a workspace API key "
    "(`Authorization: Bearer bsk_…`) on the workspace's own host. Errors are RFC 9457 problem documents.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Several resources have a `status`; name each choice set after its resource.
    "ENUM_NAME_OVERRIDES": {
        "ConnectionStatusEnum": "connectors.models.Connection.Status",
        "SyncRunStatusEnum": "connectors.models.SyncRun.Status",
        "CampaignStatusEnum": "warehouse.api.serializers.CAMPAIGN_STATUSES",
        "AlertRuleKindEnum": "alerts.models.RuleKind",
        "AlertSeverityEnum": "alerts.models.Severity",
        "InsightScopeEnum": "insights.api.serializers.SCOPES",
        "PlanScopeEnum": "insights.api.serializers.PLAN_SCOPES",
        "PlanPeriodEnum": "insights.api.serializers.PLAN_PERIODS",
    },
    "EXTENSIONS_INFO": {},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Content-Security-Policy (Django 5.2 has no built-in CSP). Forms may post to workspace hosts,
# because the public site hands a signed-in user over to their workspace by redirect.
CSP_FORM_ACTION_EXTRA = env.list("CSP_FORM_ACTION_EXTRA", default=[])

LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_secrets": {"()": "bosco.logging.RedactSecretsFilter"},
        "tenant": {"()": "bosco.logging.TenantContextFilter"},
        "context": {"()": "bosco.logging.ContextFilter"},
    },
    "formatters": {
        "json": {"()": "bosco.logging.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(schema_name)s %(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env("LOG_FORMAT", default="plain"),
            "filters": ["redact_secrets", "tenant", "context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery": {"level": "INFO"},
    },
}

# --- Connectors (issue 3: connections and the sync engine) ---------------------------------------
# Every platform URL is a setting. Left empty, each one points at the local platform emulators
# under BOSCO_EMULATOR_URL (the demo and the tests); production sets the real ones, e.g.
# GOOGLE_OAUTH_AUTHORIZE_URL=https://accounts.google.com/o/oauth2/v2/auth,
# GOOGLE_OAUTH_TOKEN_URL=https://oauth2.googleapis.com/token, GOOGLE_OAUTH_REVOKE_URL=https://oauth2.googleapis.com/revoke,
# GOOGLE_ADS_API_URL=https://googleads.googleapis.com, META_OAUTH_DIALOG_URL=https://www.facebook.com/v24.0/dialog/oauth,
# META_GRAPH_URL=https://graph.facebook.com (see docs/connectors.md).
BOSCO_EMULATOR_URL = env("BOSCO_EMULATOR_URL", default="http://127.0.0.1:8765")
GOOGLE_OAUTH_AUTHORIZE_URL = env("GOOGLE_OAUTH_AUTHORIZE_URL", default="")
GOOGLE_OAUTH_TOKEN_URL = env("GOOGLE_OAUTH_TOKEN_URL", default="")
GOOGLE_OAUTH_REVOKE_URL = env("GOOGLE_OAUTH_REVOKE_URL", default="")
GOOGLE_ADS_API_URL = env("GOOGLE_ADS_API_URL", default="")
GOOGLE_ADS_API_VERSION = env("GOOGLE_ADS_API_VERSION", default="v21")
# The emulator's client and developer token are the development defaults; production sets real ones.
GOOGLE_ADS_CLIENT_ID = env("GOOGLE_ADS_CLIENT_ID", default="bosco-emulator.apps.googleusercontent.com")
GOOGLE_ADS_CLIENT_SECRET = env("GOOGLE_ADS_CLIENT_SECRET", default="emulator-google-secret")
GOOGLE_ADS_DEVELOPER_TOKEN = env("GOOGLE_ADS_DEVELOPER_TOKEN", default="bosco-emulator-developer-token")
GOOGLE_ADS_LOGIN_CUSTOMER_ID = env("GOOGLE_ADS_LOGIN_CUSTOMER_ID", default="")
META_OAUTH_DIALOG_URL = env("META_OAUTH_DIALOG_URL", default="")
META_GRAPH_URL = env("META_GRAPH_URL", default="")
META_GRAPH_VERSION = env("META_GRAPH_VERSION", default="v24.0")
META_APP_ID = env("META_APP_ID", default="100000000000001")
META_APP_SECRET = env("META_APP_SECRET", default="emulator-meta-secret")
# TikTok: TIKTOK_OAUTH_AUTHORIZE_URL=https://business-api.tiktok.com/portal/auth,
# TIKTOK_API_URL=https://business-api.tiktok.com/open_api (the version is appended).
TIKTOK_OAUTH_AUTHORIZE_URL = env("TIKTOK_OAUTH_AUTHORIZE_URL", default="")
TIKTOK_API_URL = env("TIKTOK_API_URL", default="")
TIKTOK_API_VERSION = env("TIKTOK_API_VERSION", default="v1.3")
TIKTOK_APP_ID = env("TIKTOK_APP_ID", default="7300000000000000001")
TIKTOK_APP_SECRET = env("TIKTOK_APP_SECRET", default="emulator-tiktok-secret")
# Shopify (GraphQL Admin API). SHOPIFY_API_URL is the shop's base URL with `{shop}` standing for
# the shop's domain: production https://{shop}; empty → the emulator's {BOSCO_EMULATOR_URL}/shopify/{shop}.
SHOPIFY_API_URL = env("SHOPIFY_API_URL", default="")
SHOPIFY_API_VERSION = env("SHOPIFY_API_VERSION", default="2025-07")
SHOPIFY_API_KEY = env("SHOPIFY_API_KEY", default="emulator-shopify-key")
SHOPIFY_API_SECRET = env("SHOPIFY_API_SECRET", default="emulator-shopify-secret")
# Orders per GraphQL page (Shopify allows 1 to 250) and per landed page of a bulk file; chunks of at
# least SHOPIFY_BULK_MIN_DAYS days (the backfill) are read through a bulk operation.
SHOPIFY_PAGE_SIZE = env.int("SHOPIFY_PAGE_SIZE", default=100)
SHOPIFY_BULK_PAGE_ORDERS = env.int("SHOPIFY_BULK_PAGE_ORDERS", default=2000)
SHOPIFY_BULK_MIN_DAYS = env.int("SHOPIFY_BULK_MIN_DAYS", default=7)
SHOPIFY_BULK_POLL_INTERVAL = env.float("SHOPIFY_BULK_POLL_INTERVAL", default=2.0)
SHOPIFY_BULK_POLL_TIMEOUT = env.float("SHOPIFY_BULK_POLL_TIMEOUT", default=900.0)
# Rows per report page (TikTok allows 1 to 1000).
CONNECTORS_TIKTOK_PAGE_SIZE = env.int("TIKTOK_PAGE_SIZE", default=1000)
# A daily report chunk estimated above this many rows (days x ad groups) is read through an
# asynchronous report task (create, check, download) instead of the paged synchronous report;
# a synchronous report answering 40067 ("too much data") falls back to a task as well.
CONNECTORS_TIKTOK_ASYNC_MIN_ROWS = env.int("TIKTOK_ASYNC_MIN_ROWS", default=20_000)
CONNECTORS_TIKTOK_POLL_INTERVAL = env.float("CONNECTORS_TIKTOK_POLL_INTERVAL", default=2.0)
CONNECTORS_TIKTOK_POLL_TIMEOUT = env.float("CONNECTORS_TIKTOK_POLL_TIMEOUT", default=10 * 60)
# GA4 reuses the Google OAuth client above. GA4_ADMIN_API_URL=https://analyticsadmin.googleapis.com,
# GA4_DATA_API_URL=https://analyticsdata.googleapis.com (the version is appended).
GA4_ADMIN_API_URL = env("GA4_ADMIN_API_URL", default="")
GA4_DATA_API_URL = env("GA4_DATA_API_URL", default="")
GA4_API_VERSION = env("GA4_API_VERSION", default="v1beta")
# Rows per runReport page (the Data API allows up to 250,000).
CONNECTORS_GA4_PAGE_SIZE = env.int("GA4_PAGE_SIZE", default=10000)
# Pause a run (until the quota resets) when the property's hourly or daily tokens left would pay
# for fewer than this many more requests like the last one.
CONNECTORS_GA4_QUOTA_RESERVE_REQUESTS = env.int("GA4_QUOTA_RESERVE_REQUESTS", default=5)
# Days re-read on every scheduled sync (restatement windows) and history fetched on connect.
CONNECTORS_LOOKBACK_DAYS = {
    "google_ads": env.int("GOOGLE_ADS_LOOKBACK_DAYS", default=30),
    "meta": env.int("META_LOOKBACK_DAYS", default=28),
    # TikTok's longest click attribution window is 28 days; the default 7-day window restates a week.
    "tiktok": env.int("TIKTOK_LOOKBACK_DAYS", default=7),
    # GA4 keeps processing a day for about 48 hours; three days re-read covers it with a margin.
    "ga4": env.int("GA4_LOOKBACK_DAYS", default=3),
    # Shopify is read by `updated_at`: edits and refunds move an order into the days being read, so
    # the lookback only covers clock skew and orders still being processed.
    "shopify": env.int("SHOPIFY_LOOKBACK_DAYS", default=3),
}
CONNECTORS_BACKFILL_DAYS = env.int("CONNECTORS_BACKFILL_DAYS", default=730)
# Each platform's reporting history limit: about 37 months for the ad platforms and GA4; a store's orders are kept longer.
CONNECTORS_MAX_HISTORY_DAYS = {"google_ads": 1125, "meta": 1125, "tiktok": 1125, "ga4": 1125, "shopify": 3650}
CONNECTORS_CHUNK_DAYS = {
    "google_ads": env.int("GOOGLE_ADS_CHUNK_DAYS", default=30),
    "meta": env.int("META_CHUNK_DAYS", default=30),
    # A daily synchronous TikTok report spans at most 30 days.
    "tiktok": min(30, env.int("TIKTOK_CHUNK_DAYS", default=30)),
    "ga4": env.int("GA4_CHUNK_DAYS", default=30),
    "shopify": env.int("SHOPIFY_CHUNK_DAYS", default=30),
}
CONNECTORS_SYNC_INTERVAL_HOURS = env.int("CONNECTORS_SYNC_INTERVAL_HOURS", default=6)
CONNECTORS_HTTP_TIMEOUT = env.float("CONNECTORS_HTTP_TIMEOUT", default=60.0)
CONNECTORS_MAX_ATTEMPTS = env.int("CONNECTORS_MAX_ATTEMPTS", default=5)
CONNECTORS_BACKOFF_BASE = env.float("CONNECTORS_BACKOFF_BASE", default=1.0)
CONNECTORS_BACKOFF_MAX = env.float("CONNECTORS_BACKOFF_MAX", default=60.0)
# A wait longer than this (a long Retry-After, an exhausted hourly quota) frees the worker:
# the run is re-queued to resume from its cursors when the platform lets Bosco back in.
CONNECTORS_MAX_INLINE_WAIT = env.float("CONNECTORS_MAX_INLINE_WAIT", default=120.0)
CONNECTORS_MAX_DEFERRALS = env.int("CONNECTORS_MAX_DEFERRALS", default=12)
# A throttle that does not say when access returns pauses the run for minutes, doubling per deferral.
CONNECTORS_THROTTLE_PAUSE_BASE = env.float("CONNECTORS_THROTTLE_PAUSE_BASE", default=120.0)
CONNECTORS_THROTTLE_PAUSE_MAX = env.float("CONNECTORS_THROTTLE_PAUSE_MAX", default=30 * 60.0)
# A task hands the run to a fresh task after this long, well inside the Celery soft time limit.
CONNECTORS_TASK_BUDGET_SECONDS = env.float("CONNECTORS_TASK_BUDGET_SECONDS", default=15 * 60)
CONNECTORS_MAX_TASK_ATTEMPTS = env.int("CONNECTORS_MAX_TASK_ATTEMPTS", default=8)
CONNECTORS_STALE_RUN_SECONDS = env.int("CONNECTORS_STALE_RUN_SECONDS", default=10 * 60)
# Fair scheduling of the beat's syncs (connectors.tasks.schedule_syncs): the fan-out starts at a
# different workspace every tick, and a workspace's second, third ... due connection waits behind
# every workspace's first (broker priorities). Off only to measure the difference (bench/scale.py).
CONNECTORS_SCHEDULE_FAIR = env.bool("CONNECTORS_SCHEDULE_FAIR", default=True)
CONNECTORS_META_PAGE_LIMIT = env.int("CONNECTORS_META_PAGE_LIMIT", default=500)
CONNECTORS_META_POLL_INTERVAL = env.float("CONNECTORS_META_POLL_INTERVAL", default=2.0)
CONNECTORS_META_POLL_TIMEOUT = env.float("CONNECTORS_META_POLL_TIMEOUT", default=10 * 60)
# Above this share of Meta's business-use-case budget Bosco slows down before Meta throttles it.
CONNECTORS_META_USAGE_SLOWDOWN_PCT = env.float("CONNECTORS_META_USAGE_SLOWDOWN_PCT", default=85.0)
# Meta has no refresh token: a long-lived token is exchanged for a new one this close to expiry.
CONNECTORS_META_TOKEN_RENEW_DAYS = env.int("CONNECTORS_META_TOKEN_RENEW_DAYS", default=14)
CONNECTORS_OAUTH_STATE_TTL_SECONDS = 600
# The one OAuth redirect URI every workspace sends to Google and Meta, registered in both app
# consoles: the public site's /oauth/callback/, which hands the answer to the workspace's host.
# Empty: built from BOSCO_SCHEME, BOSCO_DOMAIN and BOSCO_PORT (development:
# http://localhost:8000/oauth/callback/; production: https://<BOSCO_DOMAIN>/oauth/callback/).
CONNECTORS_OAUTH_REDIRECT_URI = env("CONNECTORS_OAUTH_REDIRECT_URI", default="")
# Pins "today" (YYYY-MM-DD) for every account: for tests and demos against an emulator whose
# clock is pinned too. Empty in production: each account's today comes from its time zone.
CONNECTORS_FIXED_TODAY = env("CONNECTORS_FIXED_TODAY", default="")
# httpx logs every request URL at INFO; URLs never carry tokens here, but keep the logs quiet.
LOGGING["loggers"]["httpx"] = {"level": "WARNING"}
LOGGING["loggers"]["httpcore"] = {"level": "WARNING"}
# Airbyte sources (connectors/airbyte/): one virtualenv per source and version under this
# directory (built on first use; keep it on a persistent disk), the interpreter that builds them,
# pip retries, and per-run limits of the source subprocess.
AIRBYTE_VENV_DIR = env("AIRBYTE_VENV_DIR", default=str(BASE_DIR / "var" / "airbyte"))
AIRBYTE_PYTHON = env("AIRBYTE_PYTHON", default="python3")
AIRBYTE_PIP_ATTEMPTS = env.int("AIRBYTE_PIP_ATTEMPTS", default=3)
AIRBYTE_PIP_TIMEOUT = env.float("AIRBYTE_PIP_TIMEOUT", default=900.0)
AIRBYTE_RUN_TIMEOUT = env.float("AIRBYTE_RUN_TIMEOUT", default=3 * 3600.0)
AIRBYTE_COMMAND_TIMEOUT = env.float("AIRBYTE_COMMAND_TIMEOUT", default=300.0)
AIRBYTE_MEMORY_LIMIT_MB = env.int("AIRBYTE_MEMORY_LIMIT_MB", default=2048)
AIRBYTE_CPU_LIMIT_SECONDS = env.int("AIRBYTE_CPU_LIMIT_SECONDS", default=3 * 3600)
# Records held between two STATE messages before the run fails (a source that never checkpoints).
AIRBYTE_MAX_BUFFERED_RECORDS = env.int("AIRBYTE_MAX_BUFFERED_RECORDS", default=200_000)
# --- end Connectors ------------------------------------------------------------------------------

# --- Tracking (issue 19, docs/tracking.md): the collect endpoint's flood limits (beacons a minute
# per client address, IPv4 /24 or IPv6 /48, and per workspace key) and how long a buffered beacon a
# worker took but never acknowledged waits before another worker lands it.
TRACKING_RATE_PER_IP_MINUTE = env.int("TRACKING_RATE_PER_IP_MINUTE", default=600)
TRACKING_RATE_PER_KEY_MINUTE = env.int("TRACKING_RATE_PER_KEY_MINUTE", default=60_000)
TRACKING_RECLAIM_IDLE_SECONDS = env.float("TRACKING_RECLAIM_IDLE_SECONDS", default=120.0)
# --- end Tracking

# --- Insights (issue 7): plotly.js is served from the installed `plotly` package as
# vendor/plotly/plotly.min.js (bosco/staticfiles.py), so the browser draws every figure with the
# plotly version that built it, and no chart asset comes from a CDN.
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "bosco.staticfiles.PlotlyJsFinder",
]
# --- end Insights --------------------------------------------------------------------------------

# --- Billing (issue 14): plans and limits in billing/plans.py, Stripe settings above.
# After a failed payment a workspace keeps working this many days, then turns read-only.
BILLING_GRACE_DAYS = env.int("BILLING_GRACE_DAYS", default=7)
# --- end Billing ---------------------------------------------------------------------------------

# --- Alerts channels (issue 15): Slack and generic webhooks (alerts/outbound.py).
# Plain-http webhook URLs: refused unless this is on (development and tests turn it on; production off).
ALERTS_WEBHOOK_ALLOW_HTTP = env.bool("ALERTS_WEBHOOK_ALLOW_HTTP", default=False)
# Test-only: lets the tests' local HTTP receivers on 127.0.0.1 in. Never read from the environment.
ALERTS_WEBHOOK_ALLOW_LOOPBACK = False
# Seconds per connect / read / write of one webhook attempt (a hanging receiver costs at most ~3×).
ALERTS_WEBHOOK_TIMEOUT = env.float("ALERTS_WEBHOOK_TIMEOUT", default=5.0)
# --- end Alerts channels -------------------------------------------------------------------------
# --- Insights forecasts (issue 18): whose public holidays the daily forecasts know ("US", "DE",
# "FR", "US-CA"; empty: none). Workspaces have no country field yet, so this applies to all.
INSIGHTS_HOLIDAY_COUNTRY = env("INSIGHTS_HOLIDAY_COUNTRY", default="")
# --- Support console (issue 20): workspace exports (zip files) live here, kept this many days.
SUPPORT_EXPORT_DIR = env("SUPPORT_EXPORT_DIR", default=str(BASE_DIR / "var" / "exports"))
SUPPORT_EXPORT_RETENTION_DAYS = env.int("SUPPORT_EXPORT_RETENTION_DAYS", default=30)
# A workspace with active connections and no successful sync for this long is "wrong".
SUPPORT_STALE_DATA_HOURS = env.int("SUPPORT_STALE_DATA_HOURS", default=26)
# --- end Support ---------------------------------------------------------------------------------
# File uploads (uploads app): where uploaded files and their checked rows are kept (per workspace
# schema), and the largest file accepted.
UPLOADS_DIR = Path(env("UPLOADS_DIR", default=str(MEDIA_ROOT / "uploads")))
UPLOADS_MAX_BYTES = env.int("UPLOADS_MAX_BYTES", default=512 * 1024 * 1024)
