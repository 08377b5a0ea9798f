"""A coverage run spread over workers on two hosts that share no directory, only PostgreSQL, Redis and S3.

The hosts are network namespaces of this machine (`tests/insurance/hosts.py`): each runs a worker whose only
way to the database, the broker and the object store is the virtual network, and whose own disk (its
RISKGOV_VAR_DIR) is its own. The first host is killed in the middle of a chunk; the second finishes the run
within the recovery bound, and the result equals the same run computed in this process, bit for bit.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery
from django.db import connection

from insurance.models import ChunkStatus, CoverageRun
from insurance.services.coverage_runs import coverage_run_create
from tests.insurance.conftest import NOW, S3Bucket, build_book, kill_worker, start_worker, wait_for_run
from tests.insurance.hosts import Forwarder, VirtualHost, virtual_hosts
from tests.insurance.test_drills import (  # noqa: F401 (private_redis: the fixture)
    DRILL_WORKER,
    RECOVERY_BOUND,
    RUN,
    PrivateRedis,
    _first_marker,
    assert_equals_in_process,
    private_redis,
    publishing_to,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_hosts() -> Iterator[list[VirtualHost]]:
    with virtual_hosts(2) as hosts:
        yield hosts


def _host_worker(
    host: VirtualHost, *, name: str, ports: dict[str, int], bucket: S3Bucket, var_dir: Path, fault: dict[str, str]
) -> subprocess.Popen[bytes]:
    """A worker inside `host`, reaching the services only at the host's gateway address."""
    db = connection.settings_dict
    gateway = host.gateway
    broker = f"redis://{gateway}:{ports['redis']}/0"
    var_dir.mkdir(parents=True)
    return start_worker(
        hostname=f"{name}@%h",
        log_name=f"test-worker-{name}.log",
        bootstrap=DRILL_WORKER,
        prefix=host.command(),
        env={
            **bucket.environment(endpoint=f"http://{gateway}:{ports['s3']}"),
            "DATABASE_URL": f"postgres://{db['USER']}@{gateway}:{ports['postgres']}/{db['NAME']}",
            "CELERY_BROKER_URL": broker,
            "CELERY_RESULT_BACKEND": broker,
            "TEST_REDIS_URL": broker,
            "RISKGOV_VAR_DIR": str(var_dir),
            **fault,
        },
    )


def test_a_run_spread_over_two_hosts_survives_one_host_and_equals_the_in_process_run(
    two_hosts: list[VirtualHost],
    s3_bucket: S3Bucket,
    private_redis: PrivateRedis,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
) -> None:
    build_book()
    first, second = two_hosts
    isolated = subprocess.run(
        first.command(sys.executable, "-c", "import socket; socket.create_connection(('127.0.0.1', 5432), 1)"),
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert isolated.returncode != 0, "a host must not reach the machine's PostgreSQL through 127.0.0.1"

    forwarder = Forwarder()
    db_port = int(connection.settings_dict["PORT"] or 5432)
    s3_port = int(s3_bucket.server.endpoint.rsplit(":", 1)[1])
    ports = {
        host.namespace: {
            "postgres": forwarder.forward(host.gateway, db_port),
            "redis": forwarder.forward(host.gateway, private_redis.port),
            "s3": forwarder.forward(host.gateway, s3_port),
        }
        for host in two_hosts
    }
    markers = tmp_path / "markers"
    markers.mkdir()
    faults = {"first": {"DRILL_MARKERS": str(markers), "DRILL_HOLD_CHUNKS": "2"}, "second": {}}

    def host_worker(name: str, host: VirtualHost) -> subprocess.Popen[bytes]:
        return _host_worker(
            host,
            name=name,
            ports=ports[host.namespace],
            bucket=s3_bucket,
            var_dir=tmp_path / name,
            fault={"DRILL_MARKERS": str(markers), **faults[name]},
        )

    def wait_answering(app: Celery, workers: dict[str, subprocess.Popen[bytes]]) -> None:
        names = [f"{name}@{socket.gethostname()}" for name in workers]
        deadline = time.monotonic() + 90
        while len(app.control.ping(timeout=0.5, destination=names)) < len(names):
            assert all(w.poll() is None for w in workers.values()), "a host's worker exited; see var/"
            assert time.monotonic() < deadline, "the hosts' workers did not answer within 90 s"

    workers = {"first": host_worker("first", first)}
    try:
        with publishing_to(private_redis.url) as app:
            wait_answering(app, workers)
            # the first host alone takes the run: it finishes a chunk and holds its second, then the second host joins
            run = coverage_run_create(label="two hosts", requested_by="test", at=NOW, **RUN)
            held = _first_marker(markers, "held-chunk-", timeout=60)
            workers["second"] = host_worker("second", second)
            wait_answering(app, workers)
        held_chunk = run.chunks.get(path_start=int(held.name.rsplit("-", 1)[1]))
        kill_worker(workers["first"])
        fault_at = time.monotonic()
        run = wait_for_run(run, timeout=RECOVERY_BOUND)
        recovered_in = time.monotonic() - fault_at
    finally:
        for worker in workers.values():
            kill_worker(worker)
        forwarder.close()

    by_worker = {chunk.chunk_index: chunk.worker.split("@")[0] for chunk in run.chunks.all()}
    assert "first" in by_worker.values() and "second" in by_worker.values(), by_worker
    held_chunk.refresh_from_db()
    assert (
        held_chunk.status == ChunkStatus.DONE
        and held_chunk.attempts == 2
        and by_worker[held_chunk.chunk_index] == "second"
    )
    assert recovered_in < RECOVERY_BOUND
    for name in workers:
        assert not (tmp_path / name / "media" / "coverage").exists(), f"{name} wrote run files to its own disk"
    directory = run.inputs_file.rsplit("/", 1)[0]
    assert {f"{directory}/inputs.npz", f"{directory}/results.npz"} <= set(s3_bucket.object_keys())
    assert isinstance(run, CoverageRun)
    assert_equals_in_process(run)
