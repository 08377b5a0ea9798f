"""Local development and the `make run` demo: SQLite, file e-mail, the project's own error pages."""

from config.settings.base import *  # noqa: F403
from config.settings.base import env

# Debug off by default, so a visitor of the demo sees templates/404.html and 500.html, not Django's debug pages
# listing every URL pattern; DJANGO_DEBUG=1 turns them back on for development.
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Without debug, runserver serves no static files: WhiteNoise serves them from the apps' and static/ folders
# (no collectstatic needed) and picks up edited files at once.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
RISKGOV_DEMO_MODE = env.bool("RISKGOV_DEMO_MODE", default=True)

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # Web, worker and beat share the file: wait for locks instead of failing, and let readers run alongside.
    DATABASES["default"]["OPTIONS"] = {  # noqa: F405
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
