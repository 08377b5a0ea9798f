"""Tests: PostgreSQL and Redis by default (DATABASE_URL / REDIS_URL), fast hashing, in-memory mail."""

from config.settings.base import *  # noqa: F403
from config.settings.base import env

DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/test")}
# A Redis database of its own so a running demo and the suite never share queues.
TEST_REDIS_URL = env.str("TEST_REDIS_URL", default="redis://127.0.0.1:6379/15")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=TEST_REDIS_URL)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": BROKER_VISIBILITY_TIMEOUT}  # noqa: F405
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=TEST_REDIS_URL)
# Rate-limit counters and render locks in the suite's Redis; the limits are far above what the suite sends, so
# only the tests of the limits (which set their own low rates) are refused.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": TEST_REDIS_URL,
        "KEY_PREFIX": "riskgov-test",
    }
}
RISKGOV_RATE_LIMITS = {
    scope: {kind: "100000/m" for kind in ("ip", "subject")}
    for scope in RISKGOV_RATE_LIMITS  # noqa: F405
}
RISKGOV_LOGIN_LOCKOUT = "100000/15m"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
RISKGOV_DEMO_MODE = False
DEBUG = False
# Late-quorum extension off unless a test turns it on, so short test windows end when they say.
RISKGOV_GOVERNANCE_VOTE_EXTENSION_SECONDS = 0
# Test webhook receivers listen on loopback; the tests of the URL check turn this off.
RISKGOV_NOTIFICATION_WEBHOOK_ALLOW_PRIVATE = True
