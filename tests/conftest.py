"""Shared fixtures: real ``pgvecdb serve`` processes on free loopback ports.

* ``server`` — one server for the whole test session (data in a temporary directory).
  Tests that share it must create uniquely named tables (``unique_name()``).
* ``fresh_server`` — a server of the test's own, for tests that stop, restart or break it.
* ``start_server(data_dir, *args)`` — start another server, e.g. again on the same
  directory; every server started through it is stopped when the test ends. A server that
  exits instead of listening raises ``ServerStartError`` carrying its log.
* ``conn`` — an autocommit psycopg connection to ``server``.

A server is started as ``python -m pgvecdb serve --port 0`` and found by the log line in
which it says where it listens; it is stopped with SIGTERM.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pytest

STARTUP_WAIT_SECONDS = 60
STOP_WAIT_SECONDS = 30
_LISTENING = re.compile(r"listening on ([0-9.]+):(\d+)")


@dataclass
class ServerProcess:
    """A running ``pgvecdb serve`` and the ways tests reach it."""

    data_dir: Path
    process: subprocess.Popen
    host: str = "127.0.0.1"
    port: int = 0
    log_lines: list[str] = field(default_factory=list)

    @property
    def dsn(self) -> str:
        return f"host={self.host} port={self.port} user=pgvecdb dbname=pgvecdb"

    @property
    def url(self) -> str:
        return f"postgresql://pgvecdb@{self.host}:{self.port}/pgvecdb"

    @property
    def log(self) -> str:
        return "".join(self.log_lines)

    def connect(self, **kwargs):
        """A psycopg connection (autocommit unless told otherwise)."""
        import psycopg

        kwargs.setdefault("autocommit", True)
        return psycopg.connect(self.dsn, **kwargs)

    def psql(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
        """Run psql against this server (no psqlrc); returns the finished process."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["PGCONNECT_TIMEOUT"] = "10"
        command = ["psql", "-X", "-h", self.host, "-p", str(self.port), "-U", "pgvecdb",
                   "-d", "pgvecdb", *args]
        return subprocess.run(command, input=input, capture_output=True, text=True, env=env,
                              timeout=120)

    def stop(self, signum: int = signal.SIGTERM) -> int:
        """Send ``signum`` and wait for the process to exit; returns its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(STOP_WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


class ServerStartError(RuntimeError):
    """The server exited (or never said it listens); ``log`` is what it printed."""

    def __init__(self, log: str, returncode: int | None) -> None:
        super().__init__(f"pgvecdb serve did not start (exit status {returncode}):\n{log}")
        self.log = log
        self.returncode = returncode


def launch_server(data_dir: Path, *extra_args: str) -> ServerProcess:
    """Start ``python -m pgvecdb serve`` on a free loopback port and wait until it listens."""
    command = [sys.executable, "-m", "pgvecdb", "serve", "--host", "127.0.0.1", "--port", "0",
               "--data-dir", str(data_dir), *extra_args]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    server = ServerProcess(data_dir=data_dir, process=process)
    listening = threading.Event()

    def read_log() -> None:
        for line in process.stderr:
            server.log_lines.append(line)
            match = _LISTENING.search(line)
            if match and not listening.is_set():
                server.port = int(match.group(2))
                listening.set()
        listening.set()  # the process exited

    threading.Thread(target=read_log, daemon=True).start()
    listening.wait(STARTUP_WAIT_SECONDS)
    if not server.port:
        returncode = server.stop(signal.SIGKILL)
        raise ServerStartError(server.log, returncode)
    return server


def new_name(prefix: str = "t") -> str:
    """A table name no other test uses."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def unique_name() -> Callable[..., str]:
    """``unique_name("items")`` gives a fresh table name, e.g. ``items_3f2a9c01d4``."""
    return new_name


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = launch_server(tmp_path_factory.mktemp("shared-server") / "data")
    yield process
    process.stop()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    started: list[ServerProcess] = []

    def start(data_dir: Path | None = None, *extra_args: str) -> ServerProcess:
        process = launch_server(data_dir or tmp_path / f"data{len(started)}", *extra_args)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def fresh_server(start_server: Callable[..., ServerProcess]) -> ServerProcess:
    return start_server()


@pytest.fixture
def conn(server: ServerProcess):
    with server.connect() as connection:
        yield connection
