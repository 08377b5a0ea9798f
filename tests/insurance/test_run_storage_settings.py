"""The run storage is chosen from the environment, and a wrong choice is refused naming the variable."""

from __future__ import annotations

import environ
import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings.storage import run_storage_backend


def backend(monkeypatch: pytest.MonkeyPatch, **variables: str) -> dict[str, object]:
    for name in ("RISKGOV_RUN_STORAGE", "RISKGOV_RUN_STORAGE_DIR", "RISKGOV_S3_BUCKET", "RISKGOV_S3_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return run_storage_backend(environ.Env())


def test_the_default_is_the_local_disk_under_media_root(monkeypatch: pytest.MonkeyPatch) -> None:
    assert backend(monkeypatch) == {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {}}
    assert backend(monkeypatch, RISKGOV_RUN_STORAGE_DIR="/srv/runs")["OPTIONS"] == {"location": "/srv/runs"}


def test_s3_takes_the_bucket_endpoint_and_overwrites_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = backend(
        monkeypatch, RISKGOV_RUN_STORAGE="S3", RISKGOV_S3_BUCKET="runs", RISKGOV_S3_ENDPOINT_URL="http://minio:9000"
    )
    assert chosen["BACKEND"] == "storages.backends.s3.S3Storage"
    options = chosen["OPTIONS"]
    assert isinstance(options, dict)
    assert options["bucket_name"] == "runs" and options["endpoint_url"] == "http://minio:9000"
    assert options["file_overwrite"] is True


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"RISKGOV_RUN_STORAGE": "ftp"}, "RISKGOV_RUN_STORAGE is 'ftp'; it must be one of filesystem, s3."),
        ({"RISKGOV_RUN_STORAGE": "s3"}, "RISKGOV_RUN_STORAGE is s3 but RISKGOV_S3_BUCKET is not set."),
    ],
)
def test_a_wrong_choice_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], message: str
) -> None:
    with pytest.raises(ImproperlyConfigured) as refused:
        backend(monkeypatch, **variables)
    assert str(refused.value) == message
