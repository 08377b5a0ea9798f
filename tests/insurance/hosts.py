"""Hosts for tests, built on this machine: network namespaces joined to it by veth pairs.

A host sees only its own loopback and its link to the machine. Services that listen on the machine's loopback
(PostgreSQL, Redis, the S3 server) are reached through a TCP forwarder that listens on the machine's end of
each link, so a worker inside a host talks to them exactly as a worker on another machine would: over an
address of the network, never through 127.0.0.1 or a shared socket.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from tests.conftest import require_service


@dataclass(frozen=True)
class VirtualHost:
    namespace: str
    address: str  # the host's address on its link
    gateway: str  # the machine's address on the same link: where the forwarded services are
    link: str  # the machine's end of the veth pair

    def command(self, *argv: str) -> list[str]:
        """`argv` run inside the host."""
        return ["ip", "netns", "exec", self.namespace, *argv]


def _ip(*argv: str) -> None:
    subprocess.run(["ip", *argv], check=True, capture_output=True, timeout=10)


def namespaces_available() -> bool:
    if shutil.which("ip") is None or os.geteuid() != 0:
        return False
    probe = f"rgprobe{os.getpid()}"
    try:
        _ip("netns", "add", probe)
    except (subprocess.CalledProcessError, OSError):
        return False
    with suppress(subprocess.CalledProcessError):
        _ip("netns", "del", probe)
    return True


def _host_create(index: int) -> VirtualHost:
    tag = f"{os.getpid() % 100000}{index}"
    subnet = f"10.231.{(os.getpid() % 60) * 4 + index}"
    host = VirtualHost(namespace=f"rghost{tag}", address=f"{subnet}.2", gateway=f"{subnet}.1", link=f"rgv{tag}")
    peer = f"rgp{tag}"
    _ip("netns", "add", host.namespace)
    _ip("link", "add", host.link, "type", "veth", "peer", "name", peer)
    _ip("link", "set", peer, "netns", host.namespace)
    _ip("addr", "add", f"{host.gateway}/30", "dev", host.link)
    _ip("link", "set", host.link, "up")
    _ip("-n", host.namespace, "addr", "add", f"{host.address}/30", "dev", peer)
    _ip("-n", host.namespace, "link", "set", peer, "up")
    _ip("-n", host.namespace, "link", "set", "lo", "up")
    return host


def _host_delete(host: VirtualHost) -> None:
    with suppress(subprocess.CalledProcessError):
        _ip("netns", "del", host.namespace)  # takes the host's end of the pair, and with it the machine's
    with suppress(subprocess.CalledProcessError):
        _ip("link", "del", host.link)


@contextmanager
def virtual_hosts(count: int) -> Iterator[list[VirtualHost]]:
    require_service(namespaces_available(), "network namespaces (ip netns as root)")
    hosts: list[VirtualHost] = []
    try:
        for index in range(count):
            hosts.append(_host_create(index))
        yield hosts
    finally:
        for host in hosts:
            _host_delete(host)


@dataclass
class Forwarder:
    """TCP forwarding from (listen address, port) to 127.0.0.1 ports, on an event loop in a daemon thread."""

    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    servers: list[asyncio.AbstractServer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-forwarder", daemon=True)
        self.thread.start()

    def forward(self, listen: str, target_port: int) -> int:
        """Listen on `listen` (a free port) and forward to 127.0.0.1:`target_port`; returns the port."""

        async def start() -> asyncio.AbstractServer:
            return await asyncio.start_server(
                lambda reader, writer: self._connect(reader, writer, target_port), listen, 0
            )

        server = asyncio.run_coroutine_threadsafe(start(), self.loop).result(timeout=10)
        self.servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(1 << 16):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with suppress(ConnectionError, OSError):
                writer.close()

    def close(self) -> None:
        async def stop() -> None:
            for server in self.servers:
                server.close()
            pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        with suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
