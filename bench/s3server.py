"""A local S3-compatible object store (moto's server mode) in a process of its own, on a free port.

The run-storage benchmark and the tests keep coverage-run files in it, reached over real HTTP like any store.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class S3ServerError(RuntimeError):
    """The server exited or did not answer in time (its log says why)."""


@dataclass(frozen=True)
class S3Server:
    """A running moto server and the credentials its clients sign with (moto accepts any)."""

    endpoint: str
    process: subprocess.Popen[bytes]
    credentials: Mapping[str, str]  # AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.credentials["AWS_SECRET_ACCESS_KEY"],
            region_name="us-east-1",
        )

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


def s3_server_start(
    *, log: Path, credentials: Mapping[str, str], host: str = "127.0.0.1", timeout: float = 30.0
) -> S3Server:
    """Start moto's S3 server on a free port of `host` and wait until it answers; S3ServerError otherwise."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    endpoint = f"http://{host}:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise S3ServerError(f"the S3 server exited with {process.returncode}; see {log}")
        try:
            with urllib.request.urlopen(endpoint, timeout=0.5):
                return S3Server(endpoint=endpoint, process=process, credentials=dict(credentials))
        except OSError:
            time.sleep(0.1)
    process.kill()
    process.wait(timeout=10)
    raise S3ServerError(f"the S3 server did not answer within {timeout:.0f} s; see {log}")
