"""Local development and the `make run` demo: SQLite, file e-mail, debug on."""

from config.settings.base import *  # noqa: F403
from config.settings.base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
RISKGOV_DEMO_MODE = env.bool("RISKGOV_DEMO_MODE", default=True)

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # Web, worker and beat share the file: wait for locks instead of failing, and let readers run alongside.
    DATABASES["default"]["OPTIONS"] = {  # noqa: F405
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
