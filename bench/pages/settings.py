"""The pages benchmark's server: the test settings (DEBUG off, Redis cache) with the database connections that
config/settings/production.py gives a web worker, kept open between requests (CONN_MAX_AGE, default 60 s, with
health checks), so a request does not pay for a new PostgreSQL backend as no production request does."""

from config.settings.test import *  # noqa: F403
from config.settings.test import DATABASES, env

DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
