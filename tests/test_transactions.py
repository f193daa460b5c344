"""Transactions over the wire (issue 3): PostgreSQL's READ COMMITTED, seen from two clients.

Every test uses the shared server and tables of its own, through psycopg connections in
autocommit mode that open their transactions with an explicit BEGIN, as psql users do.
The last test runs one scenario through two psycopg connections and through two embedded
connections (``pgvecdb.connect``) and expects the same outcome, step by step.
"""

from __future__ import annotations

import os
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TypeVar

import psycopg
import pytest
from conftest import ServerProcess
from psycopg import errors as pg_errors
from psycopg.pq import TransactionStatus

import pgvecdb
from pgvecdb.dbapi import Connection as EmbeddedConnection
from pgvecdb.errors import PgError

# How long to wait, at most, for the server to notice a client that went away.
DISCONNECT_WAIT_SECONDS = 30
T = TypeVar("T")


@pytest.fixture
def pair(server: ServerProcess) -> Iterator[tuple[psycopg.Connection, psycopg.Connection]]:
    with server.connect() as a, server.connect() as b:
        yield a, b


@pytest.fixture
def items(server: ServerProcess, unique_name: Callable[..., str]) -> str:
    """A fresh table with three committed rows (ids 1, 2, 3)."""
    table = unique_name("items")
    with server.connect() as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, tag text UNIQUE, embedding vector(3))")
        conn.execute(f"INSERT INTO {table} VALUES (1, 'a', '[1,0,0]'), (2, 'b', '[0,1,0]'), (3, 'c', '[0,0,1]')")
    return table


def rows_of(conn: psycopg.Connection, table: str) -> list[tuple]:
    return conn.execute(f"SELECT id, tag, embedding::text FROM {table} ORDER BY id").fetchall()


def ids_of(conn: psycopg.Connection, table: str) -> list[int]:
    return [row[0] for row in conn.execute(f"SELECT id FROM {table} ORDER BY id")]


ORIGINAL = [(1, "a", "[1,0,0]"), (2, "b", "[0,1,0]"), (3, "c", "[0,0,1]")]


def test_writes_are_invisible_until_commit_then_visible_together(pair, items: str) -> None:
    a, b = pair
    a.execute("BEGIN")
    a.execute(f"INSERT INTO {items} VALUES (4, 'd', '[1,1,0]')")
    a.execute(f"INSERT INTO {items} VALUES (5, 'e', '[0,1,1]'), (6, 'f', '[1,0,1]')")
    a.execute(f"UPDATE {items} SET embedding = '[9,9,9]' WHERE id = 1")
    a.execute(f"DELETE FROM {items} WHERE id = 2")
    assert rows_of(b, items) == ORIGINAL
    assert b.execute(f"SELECT count(*) FROM {items} WHERE embedding <-> '[1,1,0]' < 0.5").fetchone() == (0,)
    a.execute("COMMIT")
    assert rows_of(b, items) == [(1, "a", "[9,9,9]"), (3, "c", "[0,0,1]"), (4, "d", "[1,1,0]"),
                                 (5, "e", "[0,1,1]"), (6, "f", "[1,0,1]")]


def test_a_transaction_reads_its_own_writes(pair, items: str) -> None:
    a, b = pair
    a.execute("BEGIN")
    a.execute(f"INSERT INTO {items} VALUES (4, 'd', '[1,1,1]')")
    nearest = f"SELECT id FROM {items} ORDER BY embedding <-> '[1,1,1]', id LIMIT 1"
    assert a.execute(nearest).fetchone() == (4,)
    a.execute(f"UPDATE {items} SET tag = 'dd' WHERE id = 4")
    a.execute(f"UPDATE {items} SET tag = 'aa' WHERE id = 1")
    assert a.execute(f"SELECT tag FROM {items} WHERE id IN (1, 4) ORDER BY id").fetchall() == [("aa",), ("dd",)]
    a.execute(f"DELETE FROM {items} WHERE id IN (3, 4)")
    assert ids_of(a, items) == [1, 2]
    assert a.execute(f"SELECT count(*) FROM {items} a JOIN {items} b ON a.id < b.id").fetchone() == (1,)
    assert b.execute(nearest).fetchone() == (1,)
    assert rows_of(b, items) == ORIGINAL
    a.execute("COMMIT")
    assert rows_of(b, items) == [(1, "aa", "[1,0,0]"), (2, "b", "[0,1,0]")]


def test_rollback_discards_everything(pair, items: str) -> None:
    a, b = pair
    a.execute("BEGIN")
    a.execute(f"INSERT INTO {items} VALUES (4, 'd', '[1,1,1]')")
    a.execute(f"UPDATE {items} SET embedding = embedding + '[1,1,1]'")
    a.execute(f"DELETE FROM {items} WHERE id = 1")
    a.execute("ROLLBACK")
    assert rows_of(a, items) == rows_of(b, items) == ORIGINAL
    b.execute(f"INSERT INTO {items} VALUES (4, 'd', '[2,2,2]')")  # the key is free again
    assert ids_of(a, items) == [1, 2, 3, 4]


def wait_until_key_is_free(conn: psycopg.Connection, insert: str) -> None:
    """Run ``insert`` once the transaction of a client that went away no longer holds its
    key (the server finds out asynchronously, as PostgreSQL does)."""
    deadline = threading.Event()
    timer = threading.Timer(DISCONNECT_WAIT_SECONDS, deadline.set)
    timer.start()
    try:
        while True:
            try:
                conn.execute(insert)
                return
            except pg_errors.UniqueViolation:
                if deadline.wait(0.05):
                    raise
    finally:
        timer.cancel()


@pytest.mark.parametrize("goodbye", ["terminate", "drop"])
def test_a_client_gone_mid_transaction_leaves_nothing(server: ServerProcess, pair, items: str, goodbye: str) -> None:
    _, b = pair
    leaving = server.connect()
    leaving.execute("BEGIN")
    leaving.execute(f"INSERT INTO {items} VALUES (4, 'd', '[1,1,1]'), (5, 'e', '[2,2,2]')")
    leaving.execute(f"DELETE FROM {items} WHERE id = 1")
    if goodbye == "drop":
        _drop_socket(leaving)
    leaving.close()
    assert rows_of(b, items) == ORIGINAL
    wait_until_key_is_free(b, f"INSERT INTO {items} VALUES (4, 'd', '[3,3,3]')")
    b.execute(f"DELETE FROM {items} WHERE id = 1")  # no one holds the row any more
    assert rows_of(b, items) == [(2, "b", "[0,1,0]"), (3, "c", "[0,0,1]"), (4, "d", "[3,3,3]")]


def test_a_client_gone_in_the_middle_of_copy_leaves_nothing(server: ServerProcess, pair, items: str) -> None:
    _, b = pair
    leaving = server.connect()
    with pytest.raises(psycopg.OperationalError), leaving.cursor().copy(f"COPY {items} FROM STDIN") as copy:
        for i in range(4, 5_000):  # more than the client buffers: part of it reaches the server
            copy.write_row((i, f"c{i}", "[1,2,3]"))
        _drop_socket(leaving)
    leaving.close()
    assert rows_of(b, items) == ORIGINAL
    wait_until_key_is_free(b, f"INSERT INTO {items} VALUES (4, 'd', '[3,3,3]')")
    assert ids_of(b, items) == [1, 2, 3, 4]


def _drop_socket(conn: psycopg.Connection) -> None:
    """Cut the connection under the client, without a Terminate message."""
    with socket.socket(fileno=os.dup(conn.fileno())) as sock:
        sock.shutdown(socket.SHUT_RDWR)


def test_a_unique_violation_aborts_the_transaction(pair, items: str) -> None:
    a, b = pair
    a.execute("BEGIN")
    a.execute(f"INSERT INTO {items} VALUES (4, 'd', '[1,1,1]')")
    with pytest.raises(pg_errors.UniqueViolation) as info:
        a.execute(f"INSERT INTO {items} VALUES (1, 'z', '[0,0,0]')")
    assert info.value.diag.message_primary == f'duplicate key value violates unique constraint "{items}_pkey"'
    assert info.value.diag.message_detail == "Key (id)=(1) already exists."
    assert a.info.transaction_status == TransactionStatus.INERROR
    with pytest.raises(pg_errors.InFailedSqlTransaction) as info:
        a.execute("SELECT 1")
    assert info.value.sqlstate == "25P02"
    with pytest.raises(pg_errors.InFailedSqlTransaction):
        a.execute(f"INSERT INTO {items} VALUES (5, 'e', '[2,2,2]')")
    assert a.execute("COMMIT").statusmessage == "ROLLBACK"
    assert a.info.transaction_status == TransactionStatus.IDLE
    assert rows_of(b, items) == ORIGINAL


def test_a_unique_violation_in_autocommit_inserts_nothing(pair, items: str) -> None:
    a, b = pair
    with pytest.raises(pg_errors.UniqueViolation) as info:
        a.execute(f"INSERT INTO {items} VALUES (4, 'd', '[1,1,1]'), (5, 'b', '[2,2,2]')")
    assert info.value.diag.message_detail == "Key (tag)=(b) already exists."
    with pytest.raises(pg_errors.UniqueViolation):
        a.execute(f"UPDATE {items} SET tag = 'a' WHERE id = 3")
    assert rows_of(b, items) == ORIGINAL


def test_a_key_held_by_an_open_transaction_conflicts_until_it_ends(pair, items: str) -> None:
    """PostgreSQL would make ``b`` wait for ``a``; pgvecdb reports the conflict at once."""
    a, b = pair
    a.execute("BEGIN")
    a.execute(f"INSERT INTO {items} VALUES (4, 'd', '[1,1,1]')")
    with pytest.raises(pg_errors.UniqueViolation):
        b.execute(f"INSERT INTO {items} VALUES (4, 'x', '[0,0,0]')")
    a.execute("ROLLBACK")
    b.execute(f"INSERT INTO {items} VALUES (4, 'x', '[0,0,0]')")
    assert ids_of(a, items) == [1, 2, 3, 4]


def test_on_conflict_do_nothing_skips_a_key_held_by_an_open_transaction(pair, items: str) -> None:
    """PostgreSQL would wait for ``a`` and then do nothing; without waiting, doing nothing
    at once is the answer that never fails."""
    a, b = pair
    a.execute("BEGIN")
    a.execute(f"INSERT INTO {items} VALUES (4, 'd', '[1,1,1]')")
    assert b.execute(f"INSERT INTO {items} VALUES (4, 'x', '[0,0,0]') ON CONFLICT DO NOTHING").rowcount == 0
    a.execute("COMMIT")
    assert rows_of(b, items)[-1] == (4, "d", "[1,1,1]")


def test_truncate_in_a_transaction_is_undone_by_rollback(pair, items: str) -> None:
    a, b = pair
    a.execute("BEGIN")
    a.execute(f"TRUNCATE {items}")
    assert ids_of(a, items) == []
    assert rows_of(b, items) == ORIGINAL
    a.execute("ROLLBACK")
    assert rows_of(b, items) == ORIGINAL


def test_savepoints(pair, items: str) -> None:
    a, b = pair
    a.execute("BEGIN")
    a.execute(f"INSERT INTO {items} VALUES (4, 'd', '[1,1,1]')")
    a.execute("SAVEPOINT one")
    a.execute(f"INSERT INTO {items} VALUES (5, 'e', '[2,2,2]')")
    a.execute(f"DELETE FROM {items} WHERE id = 1")
    a.execute("SAVEPOINT two")
    a.execute(f"UPDATE {items} SET tag = 'bb' WHERE id = 2")
    a.execute("ROLLBACK TO SAVEPOINT one")
    assert ids_of(a, items) == [1, 2, 3, 4]
    with pytest.raises(pg_errors.InvalidSavepointSpecification):
        a.execute("RELEASE SAVEPOINT two")  # went with the rollback to one
    a.execute("ROLLBACK TO SAVEPOINT one")  # the savepoint stays after a rollback to it
    a.execute(f"INSERT INTO {items} VALUES (5, 'e', '[5,5,5]')")  # its key was freed
    a.execute("SAVEPOINT three")
    with pytest.raises(pg_errors.UniqueViolation):
        a.execute(f"INSERT INTO {items} VALUES (3, 'z', '[0,0,0]')")
    with pytest.raises(pg_errors.InFailedSqlTransaction):
        a.execute("SELECT 1")
    a.execute("ROLLBACK TO SAVEPOINT three")  # recovers from the error, as ORMs rely on
    a.execute("RELEASE SAVEPOINT one")
    assert rows_of(b, items) == ORIGINAL
    a.execute("COMMIT")
    assert rows_of(b, items) == ORIGINAL + [(4, "d", "[1,1,1]"), (5, "e", "[5,5,5]")]


def test_nested_psycopg_transactions(server: ServerProcess, items: str) -> None:
    """psycopg's ``with conn.transaction()`` blocks, nested, become savepoints."""
    with server.connect() as conn:
        with conn.transaction():
            conn.execute(f"INSERT INTO {items} VALUES (4, 'd', '[1,1,1]')")
            with pytest.raises(pg_errors.UniqueViolation), conn.transaction():
                conn.execute(f"INSERT INTO {items} VALUES (5, 'e', '[2,2,2]')")
                conn.execute(f"INSERT INTO {items} VALUES (6, 'a', '[3,3,3]')")
            with conn.transaction():
                conn.execute(f"INSERT INTO {items} VALUES (6, 'f', '[3,3,3]')")
        assert ids_of(conn, items) == [1, 2, 3, 4, 6]


def test_read_committed_each_statement_sees_what_was_committed_before_it(pair, items: str) -> None:
    a, b = pair
    a.execute("BEGIN")
    assert ids_of(a, items) == [1, 2, 3]
    b.execute(f"INSERT INTO {items} VALUES (4, 'd', '[1,1,1]')")
    b.execute(f"DELETE FROM {items} WHERE id = 1")
    assert ids_of(a, items) == [2, 3, 4]
    b.execute("BEGIN")
    b.execute(f"INSERT INTO {items} VALUES (5, 'e', '[2,2,2]')")
    assert ids_of(a, items) == [2, 3, 4]
    b.execute("COMMIT")
    assert ids_of(a, items) == [2, 3, 4, 5]
    a.execute("COMMIT")


def run_together(*work: Callable[[], T]) -> list[T]:
    """Run each callable in a thread of its own; their results, or the first one's error."""
    with ThreadPoolExecutor(len(work)) as pool:
        futures = [pool.submit(job) for job in work]
        return [future.result() for future in futures]


def test_a_reader_sees_whole_transactions_and_one_snapshot_per_statement(server: ServerProcess, items: str) -> None:
    """A writer commits transactions of four single-row INSERTs while a reader counts: every
    count is a multiple of four, counts never go down, and two scans of the table in one
    statement agree."""
    per_transaction, transactions = 4, 40

    def write() -> None:
        with server.connect() as conn:
            for t in range(transactions):
                conn.execute("BEGIN")
                for r in range(per_transaction):
                    row_id = 100 + t * per_transaction + r
                    conn.execute(f"INSERT INTO {items} VALUES (%s, %s, '[1,2,3]')", (row_id, f"w{row_id}"))
                conn.execute("COMMIT")

    observed = []
    with server.connect() as reader, ThreadPoolExecutor(1) as pool:
        writer = pool.submit(write)
        while not writer.done():
            first, second = reader.execute(
                f"SELECT (SELECT count(*) FROM {items}), (SELECT count(*) FROM {items} WHERE id >= 0)").fetchone()
            assert first == second
            observed.append(first - len(ORIGINAL))
        writer.result()
        assert ids_of(reader, items) == [1, 2, 3] + list(range(100, 100 + per_transaction * transactions))
    assert all(count % per_transaction == 0 for count in observed), observed
    assert observed == sorted(observed)


def test_concurrent_writers_never_corrupt_a_table(server: ServerProcess, items: str) -> None:
    """Four clients write at once: transactions of their own rows (inserts, updates,
    deletes) and races for the same keys, which exactly one of them wins."""
    clients, rounds, shared_keys = 4, 12, list(range(1000, 1012))

    def client(number: int) -> tuple[list[int], Counter[str]]:
        """The shared keys this client won, and the errors of those it lost."""
        base = 10_000 * (number + 1)
        won, errors = [], Counter()
        with server.connect() as conn:
            for r in range(rounds):
                first = base + 10 * r
                conn.execute("BEGIN")
                conn.execute(f"INSERT INTO {items} SELECT g, 'k' || g, ARRAY[g, 0, 1]::vector "
                             f"FROM generate_series({first}, {first + 5}) g")
                conn.execute(f"UPDATE {items} SET embedding = ARRAY[id, 1, 1]::vector "
                             f"WHERE id BETWEEN {first} AND {first + 2}")
                conn.execute(f"DELETE FROM {items} WHERE id = {first + 5}")
                conn.execute("COMMIT")
                key = shared_keys[r]
                try:
                    conn.execute(f"INSERT INTO {items} VALUES ({key}, 'shared{key}', '[0,0,0]')")
                    won.append(key)
                except (pg_errors.UniqueViolation, pg_errors.SerializationFailure) as exc:
                    errors[exc.sqlstate] += 1
        return won, errors

    outcomes = run_together(*(partial(client, n) for n in range(clients)))
    wins = Counter(key for won, _ in outcomes for key in won)
    errors = sum((errors for _, errors in outcomes), Counter())
    assert wins == {key: 1 for key in shared_keys}
    assert errors == {"23505": (clients - 1) * len(shared_keys)}
    expected = {}
    for number in range(clients):
        for r in range(rounds):
            first = 10_000 * (number + 1) + 10 * r
            expected.update({i: f"[{i},1,1]" for i in range(first, first + 3)})
            expected.update({i: f"[{i},0,1]" for i in range(first + 3, first + 5)})
    with server.connect() as conn:
        rows = conn.execute(f"SELECT id, embedding::text FROM {items} WHERE id >= 10000").fetchall()
        assert len(rows) == len({row[0] for row in rows})
        assert dict(rows) == expected
        assert conn.execute(f"SELECT count(*), count(DISTINCT tag) FROM {items}").fetchone() == \
            (len(ORIGINAL) + len(shared_keys) + len(expected),) * 2
        for key in shared_keys:  # the primary key still finds each row
            assert conn.execute(f"SELECT tag FROM {items} WHERE id = %s", (key,)).fetchone() == (f"shared{key}",)


def increment_concurrently(server: ServerProcess, table: str, clients: int, updates: int) -> tuple[int, Counter]:
    """Clients run ``UPDATE ... SET n = n + 1`` on one row; (updates reported, errors by SQLSTATE)."""

    def client() -> tuple[int, Counter[str]]:
        reported, errors = 0, Counter()
        with server.connect() as conn:
            for _ in range(updates):
                try:
                    reported += conn.execute(f"UPDATE {table} SET n = n + 1 WHERE id = 1").rowcount
                except psycopg.Error as exc:
                    errors[exc.sqlstate] += 1
        return reported, errors

    outcomes = run_together(*[client] * clients)
    return sum(reported for reported, _ in outcomes), sum((errors for _, errors in outcomes), Counter())


@pytest.fixture
def counter(server: ServerProcess, unique_name: Callable[..., str]) -> str:
    table = unique_name("counter")
    with server.connect() as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, n int)")
        conn.execute(f"INSERT INTO {table} VALUES (1, 0)")
    return table


def test_concurrent_updates_of_one_row_keep_it_one_row(server: ServerProcess, counter: str) -> None:
    """Where PostgreSQL would make a second updater wait, pgvecdb fails it with 40001
    (serialization_failure, which clients retry); never with anything else."""
    _, errors = increment_concurrently(server, counter, clients=3, updates=60)
    assert set(errors) <= {"40001"}, errors
    with server.connect() as conn:
        rows = conn.execute(f"SELECT id, n FROM {counter}").fetchall()
    assert len(rows) == 1 and rows[0][0] == 1 and 1 <= rows[0][1] <= 180


def test_concurrent_updates_report_what_they_changed(server: ServerProcess, counter: str) -> None:
    reported, _ = increment_concurrently(server, counter, clients=3, updates=60)
    with server.connect() as conn:
        assert conn.execute(f"SELECT n FROM {counter}").fetchone() == (reported,)


# --------------------------------------------------------------------------- server and embedded alike
SCENARIO = [
    # (who, statement, expected: rows, a SQLSTATE, or None for a command's tag)
    ("a", "CREATE TABLE {t} (id int PRIMARY KEY, tag text UNIQUE, embedding vector(3))", None),
    ("a", "INSERT INTO {t} VALUES (1, 'one', '[1,0,0]'), (2, 'two', '[0,1,0]')", None),
    ("a", "BEGIN", None),
    ("a", "INSERT INTO {t} VALUES (3, 'three', '[0,0,1]')", None),
    ("a", "UPDATE {t} SET embedding = '[2,0,0]' WHERE id = 1", None),
    ("a", "SELECT id, embedding::text FROM {t} ORDER BY id", [(1, "[2,0,0]"), (2, "[0,1,0]"), (3, "[0,0,1]")]),
    ("b", "SELECT id, embedding::text FROM {t} ORDER BY id", [(1, "[1,0,0]"), (2, "[0,1,0]")]),
    ("b", "INSERT INTO {t} VALUES (4, 'three', '[1,1,1]')", "23505"),
    ("a", "SAVEPOINT s", None),
    ("a", "DELETE FROM {t} WHERE id = 2", None),
    ("a", "INSERT INTO {t} VALUES (1, 'dup', '[0,0,0]')", "23505"),
    ("a", "SELECT 1", "25P02"),
    ("a", "ROLLBACK TO SAVEPOINT s", None),
    ("a", "SELECT id FROM {t} ORDER BY id", [(1,), (2,), (3,)]),
    ("a", "COMMIT", None),
    ("b", "SELECT id, tag, embedding <-> '[1,1,1]' FROM {t} ORDER BY embedding <-> '[1,1,1]', id",
     [(2, "two", pytest.approx(2 ** 0.5)), (3, "three", pytest.approx(2 ** 0.5)), (1, "one", pytest.approx(3 ** 0.5))]),
    ("b", "BEGIN", None),
    ("b", "DELETE FROM {t}", None),
    ("a", "SELECT count(*) FROM {t}", [(3,)]),
    ("b", "INSERT INTO {t} VALUES (4, 'four', '[4,4,4]')", None),
    ("b", "ROLLBACK", None),
    ("a", "SELECT id, tag FROM {t} ORDER BY id", [(1, "one"), (2, "two"), (3, "three")]),
    ("a", "INSERT INTO {t} VALUES (4, 'four', '[4,4,4]')", None),
    ("a", "SELECT count(*) FROM {t}", [(4,)]),
]


def play(connections: dict[str, object], table: str, error_type: type[Exception]) -> list[object]:
    """Run SCENARIO; per step its rows, its SQLSTATE, or its command tag."""
    outcomes = []
    for who, statement, _ in SCENARIO:
        cursor = connections[who].cursor()
        try:
            cursor.execute(statement.format(t=table))
        except error_type as exc:
            outcomes.append(exc.sqlstate)
            continue
        outcomes.append(cursor.fetchall() if cursor.description else cursor.statusmessage)
    return outcomes


def check_expectations(outcomes: list[object]) -> None:
    for (who, statement, expected), outcome in zip(SCENARIO, outcomes):
        if expected is not None:
            assert outcome == expected, f"{who}: {statement}"


def test_the_embedded_api_gives_the_same_results_as_the_server(server: ServerProcess, unique_name,
                                                               tmp_path: Path) -> None:
    table = unique_name("both")
    with server.connect() as a, server.connect() as b:
        over_wire = play({"a": a, "b": b}, table, psycopg.Error)
    first = pgvecdb.connect(tmp_path / "db", autocommit=True)
    second = EmbeddedConnection(first.database, autocommit=True)
    try:
        embedded = play({"a": first, "b": second}, table, PgError)
    finally:
        second.close()
        first.close()
    check_expectations(over_wire)
    assert embedded == over_wire
