"""Upload limits and large imports: a body over the limit is refused by Content-Length (413 naming the limit)
before anything reads it; a file over the inline size becomes a job the workers import row by row, with
progress on a polled page and the same all-or-nothing outcome and row/column errors as inline."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from riskgov.core.roles import Role, role_assign
from riskgov.markets.models import ImportJob, ImportJobStatus, Position
from riskgov.markets.services.import_jobs import IMPORT_JOB_TASK
from riskgov.markets.tasks import import_job_run_task
from tests.factories import MarketFactory

ADDRESS = "0x52908400098527886e0f7030069857d2e4169ee7"
HEADER = "external_id,account,market,size,entry_price,collateral,status,opened_at"


def positions_csv(rows: int, *, bad_row: int | None = None) -> bytes:
    lines = [HEADER]
    for n in range(1, rows + 1):
        price = "-1" if n == bad_row else "3000"
        lines.append(f"job-{n},{ADDRESS},ETH,2.5,{price},1500,open,2025-01-01T00:00:00Z")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def steward(db: None) -> Client:
    user = get_user_model().objects.create_user("steward", password="pw-steward-1")
    role_assign(user=user, roles=[Role.RISK_STEWARD])
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_a_body_over_the_limit_is_refused_by_content_length(steward: Client, settings) -> None:
    settings.RISKGOV_IMPORT_MAX_BYTES = 1024 * 1024
    # the body is never read: a request claiming 1 GB but sending nothing is answered at once
    response = steward.generic(
        "POST",
        reverse("riskgov:import"),
        b"",
        CONTENT_TYPE="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH=str(1024**3),
    )
    assert response.status_code == 413
    assert "The upload is 1,024.0 MB; the limit is 1.0 MB." in response.content.decode()
    json_client = steward.generic(
        "POST", reverse("riskgov:import"), b"", CONTENT_TYPE="application/json", CONTENT_LENGTH=str(1024**3)
    )
    assert json_client.status_code == 413
    assert json_client.json()["error"] == {
        "code": "too_large",
        "message": "The upload is 1,024.0 MB; the limit is 1.0 MB.",
        "field": "file",
    }
    # a file under the limit goes through as before
    MarketFactory(symbol="ETH")
    upload = SimpleUploadedFile("p.csv", positions_csv(3), content_type="text/csv")
    ok = steward.post(reverse("riskgov:import"), {"kind": "positions", "file": upload})
    assert ok.status_code == 200 and Position.objects.count() == 3


@pytest.mark.django_db
def test_a_large_file_becomes_a_queued_job(
    steward: Client, settings, _tasks_stay_off_the_broker, django_capture_on_commit_callbacks
) -> None:
    settings.RISKGOV_IMPORT_INLINE_MAX_BYTES = 100
    MarketFactory(symbol="ETH")
    upload = SimpleUploadedFile("big.csv", positions_csv(50), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = steward.post(reverse("riskgov:import"), {"kind": "positions", "file": upload})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("riskgov:import-job", args=[job.pk])
    assert (job.status, job.kind, job.format, job.filename) == (ImportJobStatus.QUEUED, "positions", "csv", "big.csv")
    assert job.file.read() == positions_csv(50)
    job.file.close()
    assert [(name, kwargs) for name, _, kwargs, _ in _tasks_stay_off_the_broker] == [
        (IMPORT_JOB_TASK, {"job_id": job.pk})
    ]
    assert Position.objects.count() == 0  # nothing is imported inside the request
    page = steward.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 1s"' in page and "<progress" in page and "Queued" in page
    job.file.delete()


def _wait_for(job_id: int, client: Client) -> Iterator[ImportJob]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = ImportJob.objects.get(pk=job_id)
        if not job.is_active:
            yield job
            return
        time.sleep(0.3)
    pytest.fail(f"import job {job_id} did not finish")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_large_imports_run_on_the_worker_with_progress(celery_worker_process: object, settings) -> None:
    settings.RISKGOV_IMPORT_INLINE_MAX_BYTES = 1000
    user = get_user_model().objects.create_user("steward2", password="pw-steward-2")
    role_assign(user=user, roles=[Role.RISK_STEWARD])
    client = Client()
    client.force_login(user)
    MarketFactory(symbol="ETH")
    rows = 12_000  # over one write batch, so a rejected file must roll back a batch already written

    bad = SimpleUploadedFile("bad.csv", positions_csv(rows, bad_row=11_500), content_type="text/csv")
    response = client.post(reverse("riskgov:import"), {"kind": "positions", "file": bad})
    assert response.status_code == 302
    rejected = next(_wait_for(ImportJob.objects.get().pk, client))
    assert rejected.status == ImportJobStatus.REJECTED and rejected.error_total == 1
    assert rejected.errors == [{"row": 11_500, "field": "entry_price", "reason": "must be greater than 0"}]
    assert Position.objects.count() == 0
    page = client.get(reverse("riskgov:import-job", args=[rejected.pk])).content.decode()
    assert "Rejected: 1 error, nothing was imported" in page and "entry_price" in page
    assert 'hx-trigger="every 1s"' not in page and not rejected.file
    assert f"{rows} of {rows} rows checked" in page

    good = SimpleUploadedFile("good.csv", positions_csv(rows), content_type="text/csv")
    response = client.post(reverse("riskgov:import"), {"kind": "positions", "file": good})
    job_id = ImportJob.objects.exclude(pk=rejected.pk).get().pk
    done = next(_wait_for(job_id, client))
    assert done.status == ImportJobStatus.SUCCEEDED
    assert (done.created, done.updated, done.unchanged, done.rows_done, done.rows_total) == (rows, 0, 0, rows, rows)
    assert Position.objects.count() == rows
    fragment = client.get(reverse("riskgov:import-job", args=[job_id]), HTTP_HX_REQUEST="true")
    assert fragment["HX-Refresh"] == "true" and f'max="{rows}" value="{rows}"' in fragment.content.decode()


@pytest.mark.django_db
def test_a_job_that_fails_on_the_server_says_so_and_runs_once(
    steward: Client, settings, django_capture_on_commit_callbacks
) -> None:
    settings.RISKGOV_IMPORT_INLINE_MAX_BYTES = 100
    MarketFactory(symbol="ETH")
    upload = SimpleUploadedFile("lost.csv", positions_csv(20), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        steward.post(reverse("riskgov:import"), {"kind": "positions", "file": upload})
    job = ImportJob.objects.get()
    job.file.storage.delete(job.file.name)  # the stored upload is gone before the worker reads it
    with pytest.raises(FileNotFoundError):
        import_job_run_task(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportJobStatus.REJECTED and job.finished_at is not None
    assert job.errors == [
        {"row": None, "field": None, "reason": "the import failed on the server; nothing was imported"}
    ]
    assert import_job_run_task(job_id=job.pk) == "skipped"  # a second delivery does not run it again
    page = steward.get(reverse("riskgov:import-job", args=[job.pk])).content.decode()
    assert "the import failed on the server; nothing was imported" in page and Position.objects.count() == 0
