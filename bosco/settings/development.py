"""Local development: `make run`. DEBUG on, console e-mail, relaxed cookies over plain HTTP."""

from bosco.settings.base import *  # noqa: F403  (settings modules extend the base namespace)
from bosco.settings.base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
EXTRA_ALLOWED = ["127.0.0.1"]
ALLOWED_HOSTS = [*ALLOWED_HOSTS, *EXTRA_ALLOWED]  # noqa: F405
