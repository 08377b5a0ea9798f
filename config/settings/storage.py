"""Where coverage runs keep their array files (STORAGES["coverage"]), from the environment.

- ``RISKGOV_RUN_STORAGE=filesystem`` (default): files under MEDIA_ROOT (or ``RISKGOV_RUN_STORAGE_DIR``); every
  process that runs chunks must see the same directory.
- ``RISKGOV_RUN_STORAGE=s3``: an S3-compatible object store through django-storages, for workers on other
  hosts. ``RISKGOV_S3_BUCKET`` (required), ``RISKGOV_S3_ENDPOINT_URL`` (MinIO, Ceph, R2, …; empty for AWS),
  ``RISKGOV_S3_REGION``, ``RISKGOV_S3_PREFIX`` (a folder inside the bucket), ``RISKGOV_S3_ADDRESSING_STYLE``
  (``path`` for most self-hosted stores), credentials from ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` or
  the host's role, as boto3 finds them.
"""

from __future__ import annotations

from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

RUN_STORAGE_ALIAS = "coverage"
RUN_STORAGE_KINDS = ("filesystem", "s3")


def run_storage_backend(env: environ.Env) -> dict[str, Any]:
    kind = env.str("RISKGOV_RUN_STORAGE", default="filesystem").strip().lower()
    if kind not in RUN_STORAGE_KINDS:
        raise ImproperlyConfigured(
            f"RISKGOV_RUN_STORAGE is {kind!r}; it must be one of {', '.join(RUN_STORAGE_KINDS)}."
        )
    if kind == "filesystem":
        directory = env.str("RISKGOV_RUN_STORAGE_DIR", default="")
        options = {"location": directory} if directory else {}  # unset: MEDIA_ROOT, followed when it changes
        return {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": options}
    bucket = env.str("RISKGOV_S3_BUCKET", default="")
    if not bucket:
        raise ImproperlyConfigured("RISKGOV_RUN_STORAGE is s3 but RISKGOV_S3_BUCKET is not set.")
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": env.str("RISKGOV_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("RISKGOV_S3_REGION", default="") or None,
            "location": env.str("RISKGOV_S3_PREFIX", default="").strip("/"),
            "addressing_style": env.str("RISKGOV_S3_ADDRESSING_STYLE", default="") or None,
            "file_overwrite": True,  # a re-delivered chunk replaces its object; the sha256 on its row decides
            "default_acl": None,
            "querystring_auth": True,
            "max_memory_size": 64 * 1024 * 1024,
        },
    }
