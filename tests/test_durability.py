"""Durability over the wire (issue 3): kill -9 at random moments, clean shutdowns, the lock.

The crash test drives a real ``pgvecdb serve`` with psycopg: a writer commits transactions
of three kinds (one multi-row INSERT in autocommit; BEGIN, several INSERTs, COMMIT; COPY
FROM STDIN), each with its own number stored in every row it writes, while a second client
runs CHECKPOINT and VACUUM FULL back to back so that kills also land in seals and in
compactions. A timer thread SIGKILLs the server after a random delay. The writer records
which transactions were acknowledged and which one was in flight; after the restart on the
same data directory every acknowledged transaction must be present exactly once, with its
vectors intact, and the one in flight either whole or absent (absent if its COMMIT was
never sent).
"""

from __future__ import annotations

import random
import signal
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from conftest import ServerProcess, ServerStartError

import pgvecdb
from pgvecdb.errors import PgError

DIMENSIONS = 8
ROWS_PER_TRANSACTION = 3
SYNC_ROUNDS = 5
ASYNC_ROUNDS = 2
# The kill comes after a random delay in this range (seconds) from the writer's start.
KILL_DELAY = (0.05, 1.2)
RANDOM_SEED = 20240611


def vector_of(row_id: int) -> list[float]:
    """The vector stored with a row: exact in float32, different for every row."""
    return [float(row_id), -float(row_id), row_id / 2, float(row_id % 7), 0.25, float(row_id * 3), 1.5, -0.5]


def vector_text(row_id: int) -> str:
    return "[" + ",".join(repr(x) for x in vector_of(row_id)) + "]"


def parse_vector(text: str) -> list[float]:
    return [float(x) for x in text.strip("[]").split(",")]


@dataclass
class Attempt:
    number: int
    ids: list[int]
    commit_sent: bool = False


@dataclass
class History:
    """What the client knows: transactions acknowledged, and the one it was running."""

    table: str
    next_id: int = 1
    next_number: int = 1
    acknowledged: dict[int, list[int]] = field(default_factory=dict)
    in_flight: Attempt | None = None

    def start(self) -> Attempt:
        ids = list(range(self.next_id, self.next_id + ROWS_PER_TRANSACTION))
        self.next_id += ROWS_PER_TRANSACTION
        self.in_flight = Attempt(self.next_number, ids)
        self.next_number += 1
        return self.in_flight

    def acknowledge(self, attempt: Attempt) -> None:
        self.acknowledged[attempt.number] = attempt.ids
        self.in_flight = None


def create_table(server: ServerProcess, table: str) -> None:
    with server.connect() as conn:
        conn.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, txn int NOT NULL, "
                     f"embedding vector({DIMENSIONS}))")


def write_one(conn: psycopg.Connection, history: History, attempt: Attempt) -> None:
    """Commit ``attempt`` by one of three routes, chosen by its number."""
    table, kind = history.table, attempt.number % 3
    if kind == 0:
        values = ", ".join(f"({i}, {attempt.number}, '{vector_text(i)}')" for i in attempt.ids)
        attempt.commit_sent = True
        conn.execute(f"INSERT INTO {table} VALUES {values}")
    elif kind == 1:
        conn.execute("BEGIN")
        for i in attempt.ids:
            conn.execute(f"INSERT INTO {table} VALUES (%s, %s, %s::vector)", (i, attempt.number, vector_text(i)))
        attempt.commit_sent = True
        conn.execute("COMMIT")
    else:
        attempt.commit_sent = True  # COPY commits when its data ends; it may be sent in part
        with conn.cursor().copy(f"COPY {table} (id, txn, embedding) FROM STDIN") as copy:
            for i in attempt.ids:
                copy.write_row((i, attempt.number, vector_text(i)))


def write_until_killed(server: ServerProcess, history: History, synchronous_commit: str,
                       killed: threading.Event) -> None:
    """Commit transaction after transaction until the server dies under the writer."""
    try:
        conn = server.connect()
    except psycopg.OperationalError:
        assert killed.is_set()
        return  # killed before the writer got in
    with conn:
        try:
            conn.execute(f"SET synchronous_commit = {synchronous_commit}")
            while True:
                attempt = history.start()
                write_one(conn, history, attempt)
                history.acknowledge(attempt)
        except psycopg.OperationalError as err:
            assert killed.is_set(), f"the connection failed before the kill: {err}"


def maintain_until_killed(server: ServerProcess, table: str, killed: threading.Event) -> None:
    """Seal and compact the table over and over (VACUUM FULL merges the small segments
    that each CHECKPOINT leaves) until the server dies."""
    try:
        with server.connect() as conn:
            while True:
                conn.execute("CHECKPOINT")
                conn.execute(f"VACUUM FULL {table}")
    except psycopg.OperationalError as err:
        assert killed.is_set(), f"the connection failed before the kill: {err}"


def kill_at_random(server: ServerProcess, rng: random.Random, killed: threading.Event) -> threading.Timer:
    """SIGKILL the server after a random delay, having set ``killed`` first."""
    def kill() -> None:
        killed.set()
        server.stop(signal.SIGKILL)

    killer = threading.Timer(rng.uniform(*KILL_DELAY), kill)
    killer.start()
    return killer


def recovered_transactions(server: ServerProcess, table: str) -> dict[int, list[int]]:
    """Transaction number -> its row ids, after checking every row once and intact."""
    with server.connect() as conn:
        rows = conn.execute(f"SELECT id, txn, embedding::text FROM {table} ORDER BY id").fetchall()
    ids = [row[0] for row in rows]
    assert len(ids) == len(set(ids)), "a row is present more than once"
    found: dict[int, list[int]] = defaultdict(list)
    for row_id, number, embedding in rows:
        assert parse_vector(embedding) == vector_of(row_id), f"row {row_id} came back damaged"
        found[number].append(row_id)
    return dict(found)


def check_every_acknowledged_transaction(found: dict[int, list[int]], history: History) -> None:
    for number, ids in history.acknowledged.items():
        assert found.get(number) == ids, f"acknowledged transaction {number} lost or incomplete"
    check_in_flight(found, history)


def check_in_flight(found: dict[int, list[int]], history: History) -> None:
    """Nothing but the transaction in flight may be there besides what was acknowledged,
    and it only whole, and only if its COMMIT went out; if it is there, it now counts."""
    extra = set(found) - set(history.acknowledged)
    attempt = history.in_flight
    if not extra:
        return
    assert attempt is not None and extra == {attempt.number}, f"transactions never sent: {extra}"
    assert attempt.commit_sent, f"transaction {attempt.number} is there without a COMMIT"
    assert found[attempt.number] == attempt.ids, f"transaction {attempt.number} is half-present"
    history.acknowledge(attempt)


def check_a_prefix_survived(found: dict[int, list[int]], history: History) -> None:
    """synchronous_commit = off may lose the last transactions, never one before a survivor;
    whatever survived is whole. What survived counts as acknowledged from now on."""
    check_in_flight(found, history)
    survivors = set(found)
    last = max(survivors, default=0)
    for number, ids in list(history.acknowledged.items()):
        if number <= last:
            assert found.get(number) == ids, f"transaction {number} lost although {last} survived"
        else:
            del history.acknowledged[number]


def crash_rounds(start_server, unique_name, tmp_path: Path, rounds: int, synchronous_commit: str) -> History:
    rng = random.Random(f"{RANDOM_SEED}-{synchronous_commit}")
    data_dir = tmp_path / "data"
    server = start_server(data_dir)
    history = History(unique_name("crash"))
    create_table(server, history.table)
    for _ in range(rounds):
        killed = threading.Event()
        killer = kill_at_random(server, rng, killed)
        with ThreadPoolExecutor(1) as pool:
            maintainer = pool.submit(maintain_until_killed, server, history.table, killed)
            write_until_killed(server, history, synchronous_commit, killed)
            killer.join()
            maintainer.result()
        assert server.process.returncode == -signal.SIGKILL
        server = start_server(data_dir)
        found = recovered_transactions(server, history.table)
        if synchronous_commit == "on":
            check_every_acknowledged_transaction(found, history)
        else:
            check_a_prefix_survived(found, history)
    return history


def test_acknowledged_transactions_survive_kill_9(start_server, unique_name, tmp_path: Path) -> None:
    history = crash_rounds(start_server, unique_name, tmp_path, SYNC_ROUNDS, "on")
    assert len(history.acknowledged) > SYNC_ROUNDS  # the rounds did write


def test_synchronous_commit_off_loses_at_most_a_tail(start_server, unique_name, tmp_path: Path) -> None:
    crash_rounds(start_server, unique_name, tmp_path, ASYNC_ROUNDS, "off")


def test_synchronous_commit_off_is_accepted(server: ServerProcess, unique_name) -> None:
    table = unique_name("async")
    with server.connect() as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, embedding vector(2))")
        conn.execute("SET synchronous_commit = off")
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("off",)
        conn.execute(f"INSERT INTO {table} VALUES (1, '[1,2]')")
        conn.execute("RESET synchronous_commit")
        conn.execute("BEGIN")
        conn.execute("SET LOCAL synchronous_commit = off")
        conn.execute(f"INSERT INTO {table} VALUES (2, '[3,4]')")
        conn.execute("COMMIT")
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("on",)
    with psycopg.connect(server.dsn, autocommit=True, options="-c synchronous_commit=off") as conn:
        assert conn.execute("SHOW synchronous_commit").fetchone() == ("off",)
        conn.execute(f"INSERT INTO {table} VALUES (3, '[5,6]')")
        assert conn.execute(f"SELECT id, embedding::text FROM {table} ORDER BY id").fetchall() == [
            (1, "[1,2]"), (2, "[3,4]"), (3, "[5,6]")]


def test_a_clean_shutdown_loses_nothing(start_server, unique_name, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = start_server(data_dir)
    history = History(unique_name("clean"))
    create_table(server, history.table)
    conn = server.connect()
    for _ in range(9):  # three of each kind, no checkpoint
        attempt = history.start()
        write_one(conn, history, attempt)
        history.acknowledge(attempt)
    conn.execute("BEGIN")
    conn.execute(f"INSERT INTO {history.table} VALUES (0, 0, '{vector_text(0)}')")  # open at shutdown
    assert server.stop(signal.SIGTERM) == 0
    conn.close()
    assert "Traceback" not in server.log
    server = start_server(data_dir)
    found = recovered_transactions(server, history.table)
    assert found == history.acknowledged


def test_a_second_server_and_an_embedded_open_are_locked_out(start_server, unique_name, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = start_server(data_dir)
    with server.connect() as conn:
        conn.execute("CREATE TABLE kept (id int, embedding vector(2))")
        conn.execute("INSERT INTO kept VALUES (1, '[1,1]')")
    with pytest.raises(ServerStartError) as info:
        start_server(data_dir)
    assert info.value.returncode == 1
    assert f'data directory "{data_dir}" is in use by another process' in info.value.log
    with pytest.raises(PgError) as embedded:
        pgvecdb.connect(data_dir)
    assert embedded.value.sqlstate == "55006"
    assert "in use by another process" in embedded.value.message
    with server.connect() as conn:  # the holder is unharmed
        assert conn.execute("SELECT count(*) FROM kept").fetchone() == (1,)
    assert server.stop() == 0
    with pgvecdb.connect(data_dir) as con:
        assert con.execute("SELECT id, embedding::text FROM kept").fetchall() == [(1, "[1,1]")]
        with pytest.raises(ServerStartError) as info:
            start_server(data_dir)  # and now the embedded user holds it
        assert "in use by another process" in info.value.log


def last_wal_file(data_dir: Path) -> Path:
    """The newest WAL file that holds records."""
    return max((path for path in (data_dir / "wal").glob("*.wal") if path.stat().st_size), key=lambda p: p.name)


def damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "torn":
        del data[-10:]  # the last record lost its end
    elif how == "corrupt":
        data[-1] ^= 0xFF  # the last record's payload fails its checksum
    else:
        data += bytes(random.Random(how).randrange(256) for _ in range(100))  # garbage after the last
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how, survivors", [("torn", 19), ("corrupt", 19), ("garbage", 20)])
def test_a_damaged_wal_tail_recovers_to_the_last_valid_record(start_server, unique_name, tmp_path: Path,
                                                              how: str, survivors: int) -> None:
    """Twenty one-row transactions, then kill -9 and damage the end of the WAL: the server
    starts with the rows of the records before the damage, and what it writes next survives
    the next crash too (new records never land behind the damaged ones)."""
    data_dir = tmp_path / "data"
    server = start_server(data_dir)
    table = unique_name("wal")
    with server.connect() as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, embedding vector({DIMENSIONS}))")
        for i in range(1, 21):
            conn.execute(f"INSERT INTO {table} VALUES (%s, %s::vector)", (i, vector_text(i)))
    server.stop(signal.SIGKILL)
    damage(last_wal_file(data_dir), how)

    server = start_server(data_dir)
    with server.connect() as conn:
        assert [row[0] for row in conn.execute(f"SELECT id FROM {table} ORDER BY id")] == \
            list(range(1, survivors + 1))
        conn.execute(f"INSERT INTO {table} VALUES (21, %s::vector)", (vector_text(21),))
    server.stop(signal.SIGKILL)

    server = start_server(data_dir)
    with server.connect() as conn:
        rows = conn.execute(f"SELECT id, embedding::text FROM {table} ORDER BY id").fetchall()
    assert [row[0] for row in rows] == list(range(1, survivors + 1)) + [21]
    assert all(parse_vector(embedding) == vector_of(row_id) for row_id, embedding in rows)


def test_serial_values_never_repeat_after_kill_9(start_server, unique_name, tmp_path: Path) -> None:
    """A sequence may skip values after a crash (PostgreSQL logs them ahead too), never
    hand one out twice."""
    data_dir = tmp_path / "data"
    server = start_server(data_dir)
    table = unique_name("serial")
    with server.connect() as conn:
        conn.execute(f"CREATE TABLE {table} (id bigserial PRIMARY KEY, round int)")
        for _ in range(5):
            conn.execute(f"INSERT INTO {table} (round) VALUES (1)")
        assert conn.execute(f"SELECT nextval('{table}_id_seq')").fetchone() == (6,)
    server.stop(signal.SIGKILL)
    server = start_server(data_dir)
    with server.connect() as conn:
        conn.execute(f"INSERT INTO {table} (round) VALUES (2)")
        ids = [row[0] for row in conn.execute(f"SELECT id FROM {table} ORDER BY id")]
    assert ids[:5] == [1, 2, 3, 4, 5] and len(ids) == 6 and ids[5] > 6
