"""VACUUM, VACUUM FULL and CHECKPOINT through SQL (issue 3), checked against the files.

A table's files live in ``<data dir>/tables/<oid>/``: ``seg-<n>.arrow`` per sealed segment
and ``seg-<n>.del`` for its delete bitmap; rows not yet sealed are only in ``wal/``. After a
CHECKPOINT everything is sealed, so the size functions and psql's ``\\dt+`` must report
exactly the bytes of those files.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import psycopg
import pytest
from conftest import ServerProcess
from psycopg import errors as pg_errors

DIMENSIONS = 32
ROWS = 20_000
QUERY_VECTORS = [[float(x) for x in np.random.default_rng(seed).integers(0, 100, DIMENSIONS)] for seed in (1, 2, 3)]


def vector_literal(values) -> str:
    return "[" + ",".join(str(v) for v in values) + "]"


def create_filled_table(conn: psycopg.Connection, table: str, rows: int = ROWS) -> None:
    """``rows`` rows: id, category (id % 10), and a vector of small integers drawn from a
    seeded generator, loaded with COPY."""
    conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, category int, embedding vector({DIMENSIONS}))")
    vectors = np.random.default_rng(7).integers(0, 100, (rows, DIMENSIONS))
    with conn.cursor().copy(f"COPY {table} FROM STDIN") as copy:
        for i, vector in enumerate(vectors):
            copy.write_row((i, i % 10, vector_literal(vector)))


def table_oid(conn: psycopg.Connection, table: str) -> int:
    return conn.execute(f"SELECT '{table}'::regclass::oid").fetchone()[0]


def table_files(server: ServerProcess, oid: int) -> dict[str, int]:
    """File name -> bytes, for the table's folder in the data directory."""
    folder = server.data_dir / "tables" / str(oid)
    return {path.name: path.stat().st_size for path in folder.iterdir()}


def reported_sizes(conn: psycopg.Connection, table: str) -> tuple[int, int, int]:
    return conn.execute(f"SELECT pg_total_relation_size('{table}'), pg_relation_size('{table}'), "
                        f"pg_table_size('{table}')").fetchone()


def snapshot_results(conn: psycopg.Connection, table: str, where: str = "true") -> list[object]:
    """Answers (over the rows ``where`` keeps) that must not change when the table's files
    are rewritten."""
    answers: list[object] = [
        conn.execute(f"SELECT count(*), sum(id), min(id), max(id) FROM {table} WHERE {where}").fetchone(),
        conn.execute(f"SELECT category, count(*), avg(embedding)::text FROM {table} WHERE {where} "
                     f"GROUP BY category ORDER BY category").fetchall(),
    ]
    for query in QUERY_VECTORS:
        answers.append(conn.execute(f"SELECT id, embedding <-> %s::vector FROM {table} WHERE {where} "
                                    f"ORDER BY embedding <-> %s::vector, id LIMIT 10",
                                    (vector_literal(query), vector_literal(query))).fetchall())
    return answers


def size_pretty(size: int) -> str:
    """PostgreSQL's pg_size_pretty (bytes below 10 kB, then kB, MB, ... rounded half up)."""
    if size < 10 * 1024:
        return f"{size} bytes"
    size >>= 9  # one extra bit for rounding
    for unit in ("kB", "MB", "GB", "TB"):
        if size < 20 * 1024 - 1:
            return f"{(size + 1) // 2} {unit}"
        size >>= 10
    return f"{(size + 1) // 2} PB"


@pytest.mark.parametrize("command", ["VACUUM", "VACUUM FULL"])
def test_vacuum_after_deleting_most_rows_shrinks_the_files(server: ServerProcess, unique_name, command: str) -> None:
    table = unique_name("vac")
    with server.connect() as conn:
        create_filled_table(conn, table)
        conn.execute("CHECKPOINT")
        oid = table_oid(conn, table)
        before = sum(table_files(server, oid).values())
        assert reported_sizes(conn, table) == (before,) * 3
        conn.execute(f"DELETE FROM {table} WHERE id % 10 <> 3")
        expected = snapshot_results(conn, table)
        assert expected[0] == (ROWS // 10, sum(range(3, ROWS, 10)), 3, ROWS - 7)
        conn.execute(f"{command} {table}")
        conn.execute("CHECKPOINT")
        files = table_files(server, oid)
        after = sum(files.values())
        assert after < before * 0.15, (before, files)
        assert not any(name.endswith(".del") for name in files)  # the deleted rows are gone, not marked
        assert reported_sizes(conn, table) == (after,) * 3
        assert snapshot_results(conn, table) == expected


def test_vacuum_refuses_to_run_inside_a_transaction(server: ServerProcess, unique_name) -> None:
    table = unique_name("vac")
    with server.connect() as conn:
        conn.execute(f"CREATE TABLE {table} (id int)")
        conn.execute("BEGIN")
        with pytest.raises(pg_errors.ActiveSqlTransaction) as info:
            conn.execute(f"VACUUM FULL {table}")
        assert info.value.diag.message_primary == "VACUUM cannot run inside a transaction block"
        conn.execute("ROLLBACK")
        conn.execute("VACUUM")


def test_queries_running_during_vacuum_complete_correctly(server: ServerProcess, unique_name) -> None:
    """A second client runs heavy queries over the rows that stay, back to back, while the
    first deletes the others in three steps, each followed by a VACUUM (background
    compaction may start first); every answer is the one the table gave before."""
    table = unique_name("busy")
    kept = "mod(id, 4) = 0"
    with server.connect() as conn:
        create_filled_table(conn, table)
        conn.execute("CHECKPOINT")
        expected = snapshot_results(conn, table, kept)
        answered, vacuumed = threading.Event(), threading.Event()
        answers: list[object] = []

        def read() -> None:
            with server.connect() as reader:
                while True:
                    done = vacuumed.is_set()
                    answers.append(snapshot_results(reader, table, kept))
                    answered.set()
                    if done:
                        return

        with ThreadPoolExecutor(1) as pool:
            reading = pool.submit(read)
            while not answered.wait(0.05):  # the reader is under way (or failed: say why)
                if reading.done():
                    reading.result()
            try:
                for remainder, command in ((1, "VACUUM FULL"), (2, "VACUUM"), (3, "VACUUM FULL")):
                    conn.execute(f"DELETE FROM {table} WHERE id % 4 = {remainder}")
                    conn.execute(f"{command} {table}")
            finally:
                vacuumed.set()
            reading.result()
        assert len(answers) >= 2
        for answer in answers:
            assert answer == expected
        assert snapshot_results(conn, table) == expected


def test_dt_plus_shows_the_bytes_on_disk(server: ServerProcess, unique_name) -> None:
    table = unique_name("sized")
    with server.connect() as conn:
        create_filled_table(conn, table, rows=5_000)
        conn.execute(f"DELETE FROM {table} WHERE id < 100")
        conn.execute("CHECKPOINT")
        files = table_files(server, table_oid(conn, table))
        assert any(name.endswith(".del") for name in files)  # the delete bitmap counts too
        on_disk = sum(files.values())
        assert reported_sizes(conn, table) == (on_disk,) * 3
        assert conn.execute(f"SELECT pg_size_pretty(pg_table_size('{table}'))").fetchone() == (size_pretty(on_disk),)
    listing = server.psql("-A", "-t", "-F", "|", "-c", f"\\dt+ {table}")
    assert listing.returncode == 0, listing.stderr
    schema, name, kind, _owner, _persistence, _method, size, _description = listing.stdout.strip().split("|")
    assert (schema, name, kind) == ("public", table, "table")
    assert size == size_pretty(on_disk)


def wal_bytes(server: ServerProcess) -> int:
    return sum(path.stat().st_size for path in (server.data_dir / "wal").iterdir())


def test_checkpoint_seals_segments_and_the_data_survives_restarts(
        start_server: Callable[..., ServerProcess], unique_name, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = start_server(data_dir)
    table = unique_name("sealed")
    with server.connect() as conn:
        create_filled_table(conn, table, rows=5_000)
        oid = table_oid(conn, table)
        assert not any(name.endswith(".arrow") for name in table_files(server, oid))  # rows only in the WAL
        logged = wal_bytes(server)
        assert logged > 5_000 * DIMENSIONS * 4
        conn.execute("CHECKPOINT")
        sealed = table_files(server, oid)
        assert [name for name in sealed if name.endswith(".arrow")] != []
        assert wal_bytes(server) < logged  # what the segments hold left the WAL
        conn.execute(f"DELETE FROM {table} WHERE category = 1")
        conn.execute("CHECKPOINT")
        assert any(name.endswith(".del") for name in table_files(server, oid))
        conn.execute(f"INSERT INTO {table} VALUES (100000, 1, %s)", (vector_literal(range(DIMENSIONS)),))
        expected = snapshot_results(conn, table)
    server.stop(signal.SIGKILL)

    server = start_server(data_dir)
    with server.connect() as conn:
        assert snapshot_results(conn, table) == expected
        conn.execute(f"VACUUM FULL {table}")
        assert not any(name.endswith(".del") for name in table_files(server, oid))
    server.stop(signal.SIGKILL)

    server = start_server(data_dir)
    with server.connect() as conn:
        assert snapshot_results(conn, table) == expected
        conn.execute("CHECKPOINT")
        assert reported_sizes(conn, table) == (sum(table_files(server, oid).values()),) * 3


def test_maintenance_beside_an_open_transaction_keeps_its_writes(
        start_server: Callable[..., ServerProcess], unique_name, tmp_path: Path) -> None:
    """A transaction updates and deletes rows while another client deletes, compacts and
    checkpoints the same table; its COMMIT lands whole, and the result survives kill -9."""
    data_dir = tmp_path / "data"
    server = start_server(data_dir)
    table = unique_name("beside")
    with server.connect() as a, server.connect() as b:
        create_filled_table(b, table, rows=2_000)
        b.execute("CHECKPOINT")
        a.execute("BEGIN")
        a.execute(f"UPDATE {table} SET category = -1 WHERE id < 10")
        a.execute(f"INSERT INTO {table} VALUES (5000, -1, %s)", (vector_literal(range(DIMENSIONS)),))
        b.execute(f"DELETE FROM {table} WHERE id >= 100")
        b.execute(f"VACUUM FULL {table}")
        b.execute("CHECKPOINT")
        a.execute(f"DELETE FROM {table} WHERE id BETWEEN 10 AND 19")
        a.execute("COMMIT")
        expected = b.execute(f"SELECT id, category, embedding::text FROM {table} ORDER BY id").fetchall()
    assert [row[0] for row in expected] == list(range(10)) + list(range(20, 100)) + [5000]
    assert {row[1] for row in expected if row[0] < 10 or row[0] == 5000} == {-1}
    server.stop(signal.SIGKILL)
    server = start_server(data_dir)
    with server.connect() as conn:
        assert conn.execute(f"SELECT id, category, embedding::text FROM {table} ORDER BY id").fetchall() == expected
