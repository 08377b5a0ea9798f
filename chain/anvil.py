"""Start and stop a local Anvil node (npm ``@foundry-rs/anvil``) for ``make run`` and tests.

The node uses Anvil's deterministic dev mnemonic, so its accounts and keys are the same on
every start. Run in the foreground with ``python -m chain.anvil --port 8545``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from chain.errors import AnvilError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_CHAIN_ID = 31337
DEFAULT_ACCOUNTS = 40  # demo holders (>= 25) plus deployer, keeper and spares
RPC_SCHEMES = ("http", "https")


def _platform_package() -> str:
    system = {"Linux": "linux", "Darwin": "darwin", "Windows": "win32"}.get(platform.system(), "linux")
    arch = {"x86_64": "amd64", "AMD64": "amd64", "arm64": "arm64", "aarch64": "arm64"}.get(platform.machine(), "amd64")
    return f"anvil-{system}-{arch}"


def find_anvil(repo_root: Path = REPO_ROOT) -> list[str]:
    """Command that runs Anvil: the npm platform binary, else ``anvil`` on PATH, else ``npx anvil``.

    Raises :class:`AnvilError` when none is available (run ``npm install``).
    """
    binary = repo_root / "node_modules" / "@foundry-rs" / _platform_package() / "bin" / "anvil"
    if binary.is_file() and os.access(binary, os.X_OK):
        return [str(binary)]
    on_path = shutil.which("anvil")
    if on_path:
        return [on_path]
    npx = shutil.which("npx")
    if npx and (repo_root / "node_modules" / ".bin" / "anvil").exists():
        return [npx, "--no-install", "anvil"]
    raise AnvilError(f"anvil not found: run `npm install` in {repo_root} (package @foundry-rs/anvil)")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS may still hand it out again)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def rpc_chain_id(url: str, timeout: float = 1.0) -> int | None:
    """``eth_chainId`` of the node at ``url``, or ``None`` while it does not answer.

    Raises :class:`AnvilError` when ``url`` is not an http(s) URL.
    """
    if urllib.parse.urlsplit(url).scheme not in RPC_SCHEMES:
        raise AnvilError(f"JSON-RPC URL must be http(s), got {url!r}")
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url, data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only, see above
            return int(json.loads(response.read())["result"], 16)
    except (urllib.error.URLError, OSError, ValueError, KeyError):
        return None


@dataclass
class AnvilNode:
    """A running Anvil process; stop it with :meth:`stop` or use it as a context manager."""

    process: subprocess.Popen[bytes]
    host: str
    port: int
    chain_id: int
    log_path: Path | None = None
    command: list[str] = field(default_factory=list)
    remove_log_on_stop: bool = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the process (SIGTERM, then SIGKILL after ``timeout`` seconds)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        if self.remove_log_on_stop and self.log_path is not None:
            self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> AnvilNode:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def anvil_args(  # noqa: PLR0913 - keyword-only node options
    *,
    host: str,
    port: int,
    chain_id: int,
    accounts: int,
    mnemonic: str,
    balance_ether: int,
    block_time: float | None,
    state_path: Path | None = None,
    mixed_mining: bool = False,
) -> list[str]:
    """Command-line arguments for Anvil. ``mixed_mining`` with a ``block_time`` keeps mining each transaction at
    once and also mines an empty block every ``block_time`` seconds (so block numbers advance with the clock)."""
    args = [
        "--host", host,
        "--port", str(port),
        "--chain-id", str(chain_id),
        "--accounts", str(accounts),
        "--mnemonic", mnemonic,
        "--balance", str(balance_ether),
    ]  # fmt: skip
    if block_time is not None:
        args += ["--block-time", str(block_time)]
        if mixed_mining:
            args.append("--mixed-mining")
    if state_path is not None:
        args += ["--state", str(state_path)]  # loaded at start if present, written on exit
    return args


def start_anvil(  # noqa: PLR0913 - keyword-only node options, each with a default
    *,
    port: int | None = None,
    host: str = "127.0.0.1",
    chain_id: int = DEV_CHAIN_ID,
    accounts: int = DEFAULT_ACCOUNTS,
    mnemonic: str = DEV_MNEMONIC,
    balance_ether: int = 10_000,
    block_time: float | None = None,
    startup_timeout: float = 15.0,
    log_path: Path | None = None,
    state_path: Path | None = None,
    extra_args: Sequence[str] = (),
    mixed_mining: bool = False,
) -> AnvilNode:
    """Start Anvil and return once its JSON-RPC answers with ``chain_id``.

    ``port=None`` picks a free port. ``block_time`` (seconds) switches from automine to interval
    mining; with ``mixed_mining`` transactions still mine at once and a block is also mined every
    ``block_time`` seconds. ``state_path`` keeps the chain across restarts (loaded if present, dumped on a clean
    stop). Output goes to ``log_path`` (a temporary file by default) so failures can be reported.
    """
    command = find_anvil()
    port = port if port is not None else free_port(host)
    url = f"http://{host}:{port}"
    if rpc_chain_id(url, timeout=0.3) is not None:
        raise AnvilError(f"something already answers JSON-RPC at {url}; choose another port")
    temporary_log = log_path is None
    if log_path is None:
        handle, name = tempfile.mkstemp(prefix="anvil-", suffix=".log")
        os.close(handle)
        log_path = Path(name)
    args = anvil_args(
        host=host,
        port=port,
        chain_id=chain_id,
        accounts=accounts,
        mnemonic=mnemonic,
        balance_ether=balance_ether,
        block_time=block_time,
        state_path=state_path,
        mixed_mining=mixed_mining,
    )
    with open(log_path, "wb") as log:
        process = subprocess.Popen(  # noqa: S603 - argv of the anvil binary from find_anvil, no shell
            [*command, *args, *extra_args], stdout=log, stderr=subprocess.STDOUT
        )
    node = AnvilNode(
        process=process,
        host=host,
        port=port,
        chain_id=chain_id,
        log_path=log_path,
        command=[*command, *args],
        remove_log_on_stop=temporary_log,
    )
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AnvilError(f"anvil exited with code {process.returncode}: {_tail(log_path)}")
        reported = rpc_chain_id(url, timeout=0.5)
        if reported is not None:
            if reported != chain_id:
                node.stop()
                raise AnvilError(f"anvil at {url} reports chain id {reported}, expected {chain_id}")
            return node
        time.sleep(0.05)
    output = _tail(log_path)
    node.stop()
    raise AnvilError(f"anvil did not answer at {url} within {startup_timeout:.0f}s: {output}")


def _tail(path: Path, limit: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:].strip() or "(no output)"
    except OSError:
        return "(no log)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run Anvil in the foreground until interrupted (for Procfile / ``make run``)."""
    parser = argparse.ArgumentParser(description="Run a local Anvil node with the dev mnemonic.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8545)
    parser.add_argument("--chain-id", type=int, default=DEV_CHAIN_ID)
    parser.add_argument("--accounts", type=int, default=DEFAULT_ACCOUNTS)
    parser.add_argument("--block-time", type=float, default=None, help="seconds; default automine")
    parser.add_argument(
        "--mine-every",
        type=float,
        default=None,
        metavar="SECONDS",
        help="also mine a block every SECONDS while transactions still mine at once (the on-chain governance "
        "demo: block numbers, the Governor's clock, advance with time)",
    )
    parser.add_argument("--state", type=Path, default=None, help="JSON file keeping the chain across restarts")
    options = parser.parse_args(argv)
    if options.mine_every is not None and options.block_time is not None:
        parser.error("--mine-every and --block-time exclude each other")
    if options.mine_every is not None and options.mine_every <= 0:
        parser.error(f"--mine-every must be a positive number of seconds, not {options.mine_every}")
    node = start_anvil(
        host=options.host,
        port=options.port,
        chain_id=options.chain_id,
        accounts=options.accounts,
        block_time=options.block_time if options.mine_every is None else options.mine_every,
        mixed_mining=options.mine_every is not None,
        state_path=options.state,
    )
    print(
        f"anvil listening on {node.url} (chain id {node.chain_id}, pid {node.process.pid}, log {node.log_path})",
        flush=True,
    )

    def _stop(signum: int, frame: object) -> None:
        node.stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return node.process.wait()


if __name__ == "__main__":
    sys.exit(main())
