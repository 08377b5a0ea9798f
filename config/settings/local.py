"""Local development and the `make run` demo: SQLite, file e-mail, debug on."""

from config.settings.base import *  # noqa: F403
from config.settings.base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
RISKGOV_DEMO_MODE = env.bool("RISKGOV_DEMO_MODE", default=True)
