"""Production: every secret must come from the environment, HTTPS everywhere.

`manage.py check --deploy --fail-level WARNING` passes with these settings (tests/test_deploy_check.py).
"""

from bosco.settings.base import *  # noqa: F403  (settings modules extend the base namespace)
from bosco.settings.base import env

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
BOSCO_ENCRYPTION_KEYS = env.list("BOSCO_ENCRYPTION_KEYS")
BOSCO_SCHEME = "https"
# Alert webhooks and Slack URLs: https only, never loopback, whatever the environment says.
ALERTS_WEBHOOK_ALLOW_HTTP = False
ALERTS_WEBHOOK_ALLOW_LOOPBACK = False

# Platform credentials: no emulator defaults in production. The platform URLs must point at the
# real APIs too (an empty one would fall back to the local emulator).
GOOGLE_ADS_CLIENT_ID = env("GOOGLE_ADS_CLIENT_ID")
GOOGLE_ADS_CLIENT_SECRET = env("GOOGLE_ADS_CLIENT_SECRET")
GOOGLE_ADS_DEVELOPER_TOKEN = env("GOOGLE_ADS_DEVELOPER_TOKEN")
META_APP_ID = env("META_APP_ID")
META_APP_SECRET = env("META_APP_SECRET")
TIKTOK_APP_ID = env("TIKTOK_APP_ID")
TIKTOK_APP_SECRET = env("TIKTOK_APP_SECRET")
SHOPIFY_API_KEY = env("SHOPIFY_API_KEY")
SHOPIFY_API_SECRET = env("SHOPIFY_API_SECRET")
GOOGLE_OAUTH_AUTHORIZE_URL = env("GOOGLE_OAUTH_AUTHORIZE_URL")
GOOGLE_OAUTH_TOKEN_URL = env("GOOGLE_OAUTH_TOKEN_URL")
GOOGLE_OAUTH_REVOKE_URL = env("GOOGLE_OAUTH_REVOKE_URL")
GOOGLE_ADS_API_URL = env("GOOGLE_ADS_API_URL")
META_OAUTH_DIALOG_URL = env("META_OAUTH_DIALOG_URL")
META_GRAPH_URL = env("META_GRAPH_URL")
TIKTOK_OAUTH_AUTHORIZE_URL = env("TIKTOK_OAUTH_AUTHORIZE_URL")
TIKTOK_API_URL = env("TIKTOK_API_URL")
GA4_ADMIN_API_URL = env("GA4_ADMIN_API_URL")
GA4_DATA_API_URL = env("GA4_DATA_API_URL")
SHOPIFY_API_URL = env("SHOPIFY_API_URL")
BOSCO_PORT = env("BOSCO_PORT", default="")
# The one OAuth redirect URI registered in the Google and Meta app consoles. Unset, it is derived:
# https://<BOSCO_DOMAIN>[:BOSCO_PORT]/oauth/callback/ (connectors.conf.oauth_redirect_uri).
if CONNECTORS_OAUTH_REDIRECT_URI and not CONNECTORS_OAUTH_REDIRECT_URI.startswith("https://"):  # noqa: F405
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("CONNECTORS_OAUTH_REDIRECT_URI must be an https:// URL in production.")

# One JSON object per log line unless the operator asks otherwise (LOG_FORMAT=plain).
LOGGING["handlers"]["console"]["formatter"] = env("LOG_FORMAT", default="json")  # noqa: F405

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Load balancers probe the pod by IP over plain HTTP; a redirect would fail the probe.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# __Host- cookies are bound to the exact host, HTTPS only, path "/": a workspace's session
# can never be presented to another workspace's host.
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_NAME = "__Host-csrftoken"
CSRF_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS = [f"https://{BOSCO_DOMAIN}", f"https://*.{BOSCO_DOMAIN}"]  # noqa: F405

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = False

if SENTRY_DSN:  # noqa: F405
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=SENTRY_DSN,  # noqa: F405
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )
