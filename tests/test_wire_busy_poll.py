"""A lone client's socket is polled after each answer (wire/busy_poll): the event loop
must still take its turn, for new connections and for signals, while that client asks
as fast as it is answered."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import numpy as np
import psycopg
import pytest
from pgvector.psycopg import register_vector

DIM = 8
# A window longer than any pause of the client's, so that every next query is caught by
# the poll: the loop then gets its turn only because polling yields it.
LONG_WINDOW = ("--busy-poll-us", "1000000")


def _indexed_table(server) -> str:
    with server.connect() as conn:
        conn.execute("CREATE TABLE items (id int8, embedding vector(8))")
        rows = np.random.default_rng(3).standard_normal((500, DIM)).astype(np.float32)
        with conn.cursor().copy("COPY items (id, embedding) FROM STDIN") as copy:
            for i, row in enumerate(rows):
                copy.write_row((i, "[" + ",".join(map(str, row)) + "]"))
        conn.execute("CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)")
    return "SELECT id FROM items ORDER BY embedding <-> %s LIMIT 5"


def _within(seconds: float, condition) -> bool:
    """Whether ``condition()`` holds within ``seconds`` (checked every 10 ms)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class Hammer(threading.Thread):
    """One connection running a prepared search back to back until told to stop."""

    def __init__(self, server, sql: str) -> None:
        super().__init__(daemon=True)
        self.conn = server.connect(prepare_threshold=0)
        register_vector(self.conn)
        self.sql = sql
        self.done = threading.Event()
        self.started = threading.Event()
        self.answered = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        query = np.ones(DIM, dtype=np.float32)
        try:
            with self.conn.cursor() as cursor:
                while not self.done.is_set():
                    cursor.execute(self.sql, (query,))
                    assert len(cursor.fetchall()) == 5
                    self.answered += 1
                    if self.answered == 200:
                        self.started.set()
        except BaseException as exc:  # the server may end the connection
            self.error = exc
        finally:
            self.started.set()
            self.conn.close()


def test_a_second_client_is_served_while_the_first_asks_back_to_back(start_server):
    server = start_server(None, *LONG_WINDOW)
    hammer = Hammer(server, _indexed_table(server))
    hammer.start()
    try:
        assert hammer.started.wait(60) and hammer.error is None
        with psycopg.connect(server.dsn, autocommit=True, connect_timeout=10) as other:
            assert other.execute("SELECT 41 + 1").fetchone() == (42,)
        answered = hammer.answered
        assert _within(30, lambda: hammer.answered > answered or hammer.error is not None)
        assert hammer.error is None  # and the first client went on being answered
    finally:
        hammer.done.set()
        hammer.join(60)


def test_the_server_stops_on_sigterm_while_a_client_asks_back_to_back(start_server):
    server = start_server(None, *LONG_WINDOW)
    hammer = Hammer(server, _indexed_table(server))
    hammer.start()
    assert hammer.started.wait(60) and hammer.error is None
    assert server.stop() == 0  # SIGTERM; killed with SIGKILL (status -9) after 30 s
    hammer.join(60)
    assert isinstance(hammer.error, psycopg.Error)


def test_a_silent_client_does_not_hold_the_loop_however_long_the_window(start_server):
    server = start_server(None, "--busy-poll-us", "60000000")  # a minute
    sql = _indexed_table(server)
    with server.connect(prepare_threshold=0) as first:
        register_vector(first)
        for _ in range(3):  # prepared after the first: the last two are polled for after
            assert len(first.execute(sql, (np.ones(DIM, dtype=np.float32),)).fetchall()) == 5
        with psycopg.connect(server.dsn, autocommit=True, connect_timeout=10) as other:
            assert other.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.parametrize("value", ["-1", "soon"])
def test_a_bad_busy_poll_window_is_refused(tmp_path, value):
    finished = subprocess.run([sys.executable, "-m", "pgvecdb", "serve", "--data-dir", str(tmp_path / "d"),
                               "--busy-poll-us", value], capture_output=True, text=True, timeout=60)
    assert finished.returncode == 2 and "--busy-poll-us" in finished.stderr
