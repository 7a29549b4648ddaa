"""Local development: `make run`. DEBUG on, console e-mail, relaxed cookies over plain HTTP."""

from bosco.settings.base import *  # noqa: F403  (settings modules extend the base namespace)
from bosco.settings.base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
EXTRA_ALLOWED = ["127.0.0.1"]
ALLOWED_HOSTS = [*ALLOWED_HOSTS, *EXTRA_ALLOWED]  # noqa: F405
# The emulators and the demo commands (`make run`); never installed in production.
SHARED_APPS = [*SHARED_APPS, "devtools"]  # noqa: F405
INSTALLED_APPS = [*INSTALLED_APPS, "devtools"]  # noqa: F405

# Development and the demo convert currencies with the synthetic ECB-format sample (made-up rates;
# see warehouse/data/README.md) unless BOSCO_FX_SEED points elsewhere.
BOSCO_FX_SEED = env("BOSCO_FX_SEED", default=str(BASE_DIR / "warehouse" / "data" / "synthetic-eurofxref-hist.csv"))  # noqa: F405
# Local webhook receivers may be plain http in development (never in production).
ALERTS_WEBHOOK_ALLOW_HTTP = True
