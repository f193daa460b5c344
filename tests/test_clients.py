"""Real clients against a real ``pgvecdb serve``: psql, psycopg (text and binary), asyncpg and
pgvector-python's adapters for both; cancel, concurrency, COPY, and the server's life cycle."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import threading

import asyncpg
import numpy as np
import psycopg
import pytest
from pgvector import HalfVector, SparseVector
from pgvector.asyncpg import register_vector as register_vector_asyncpg
from pgvector.psycopg import register_vector

from conftest import ServerStartError

# --- command line -----------------------------------------------------------------------------


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pgvecdb", *args], capture_output=True,
                          text=True, timeout=60)


def test_help_explains_every_option():
    top = _run_cli("--help")
    assert top.returncode == 0 and "serve" in top.stdout
    serve = _run_cli("serve", "--help")
    assert serve.returncode == 0
    for option, default in (("--host", "127.0.0.1"), ("--port", "5433"),
                            ("--data-dir", "./pgvecdb-data"), ("--log-level", "info")):
        assert option in serve.stdout
        assert f"(default: {default})" in serve.stdout


def test_server_logs_where_it_listens(server):
    assert f"listening on 127.0.0.1:{server.port}" in server.log


# --- psql -------------------------------------------------------------------------------------


def test_psql_runs_queries(server):
    result = server.psql("-c", "SELECT 1 AS one, 'two' AS two")
    assert result.returncode == 0, result.stderr
    assert result.stdout == " one | two \n-----+-----\n   1 | two\n(1 row)\n\n"


def test_psql_shows_line_and_caret_for_errors(server):
    result = server.psql("-c", "SELECT id FROM missing_relation_xyz")
    assert result.returncode == 1
    assert result.stderr == (
        'ERROR:  relation "missing_relation_xyz" does not exist\n'
        "LINE 1: SELECT id FROM missing_relation_xyz\n"
        "                       ^\n"
    )


def test_psql_script_with_notices_and_errors(server, unique_name):
    table = unique_name("psql")
    script = (f"DROP TABLE IF EXISTS {table};\n"
              f"CREATE TABLE {table} (id int, v vector(2));\n"
              f"INSERT INTO {table} VALUES (1, '[1,2]'), (2, '[3,4]');\n"
              f"SELECT id, v FROM {table} ORDER BY v <-> '[3,3]';\n"
              f"INSERT INTO {table} VALUES (3, '[1,2,3]');\n")
    result = server.psql("-q", input=script)
    assert f'NOTICE:  table "{table}" does not exist, skipping' in result.stderr
    assert " id |   v   \n----+-------\n  2 | [3,4]\n  1 | [1,2]\n(2 rows)" in result.stdout
    assert "ERROR:  expected 2 dimensions, not 3" in result.stderr


def test_psql_copy_round_trip(server, unique_name, tmp_path):
    table = unique_name("psqlcopy")
    source = tmp_path / "in.csv"
    source.write_text('1,"[1,2]"\n2,"[3,4]"\n')
    target = tmp_path / "out.csv"
    result = server.psql("-c", f"CREATE TABLE {table} (id int, v vector(2))",
                         "-c", f"\\copy {table} FROM '{source}' WITH (FORMAT csv)",
                         "-c", f"\\copy (SELECT * FROM {table} ORDER BY id) TO '{target}' WITH (FORMAT csv)")
    assert result.returncode == 0, result.stderr
    assert "COPY 2" in result.stdout
    assert target.read_text() == source.read_text()


# --- psycopg ----------------------------------------------------------------------------------


@pytest.fixture
def vector_conn(server):
    with server.connect() as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(connection)
        yield connection


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_psycopg_vectors_round_trip(vector_conn, unique_name, binary):
    table = unique_name("items")
    vector_conn.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, embedding vector(3), "
                        f"half halfvec(3), sparse sparsevec(5), label text)")
    rows = [(i, np.array([i, i + 1, i + 2], dtype=np.float32), HalfVector([i, 0, 1]),
             SparseVector({0: float(i), 4: 1.0}, 5), f"item {i}") for i in range(1, 6)]
    with vector_conn.cursor(binary=binary) as cur:
        cur.executemany(f"INSERT INTO {table} VALUES (%s, %s, %s, %s, %s)", rows)
        cur.execute(f"SELECT id, embedding, half, sparse, label, embedding <-> %s AS distance "
                    f"FROM {table} ORDER BY embedding <-> %s LIMIT 2",
                    (np.array([3, 4, 5]), np.array([3, 4, 5])))
        found = cur.fetchall()
    assert [row[0] for row in found] == [3, 2]
    assert np.array_equal(found[0][1].to_numpy(), np.array([3, 4, 5], dtype=np.float32))
    assert found[0][2].to_list() == [3.0, 0.0, 1.0]
    assert (found[0][3].indices(), found[0][3].values()) == ([0, 4], [3.0, 1.0])
    assert found[0][4] == "item 3"
    assert found[0][5] == 0.0
    assert found[1][5] == pytest.approx(np.sqrt(3))


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_psycopg_parameters_of_common_types(conn, binary):
    with conn.cursor(binary=binary) as cur:
        cur.execute("SELECT %s::int + 1, %s::text || '!', %s::float8 * 2, %s::bool, %s::bigint",
                    (41, "hi", 1.25, True, None))
        assert cur.fetchone() == (42, "hi!", 2.5, True, None)


def test_psycopg_errors_carry_sqlstate_and_position(conn):
    with pytest.raises(psycopg.errors.UndefinedTable) as info:
        conn.execute("SELECT * FROM nowhere_to_be_found")
    assert info.value.diag.statement_position == "15"
    with pytest.raises(psycopg.errors.SyntaxError):
        conn.execute("SELEC 1")
    assert conn.execute("SELECT 1").fetchone() == (1,)


def test_psycopg_transactions(server, unique_name):
    table = unique_name("tx")
    with server.connect(autocommit=False) as connection:
        connection.execute(f"CREATE TABLE {table} (id int)")
        connection.commit()
        connection.execute(f"INSERT INTO {table} VALUES (1)")
        connection.rollback()
        with connection.transaction():
            connection.execute(f"INSERT INTO {table} VALUES (2)")
        assert connection.execute(f"SELECT id FROM {table}").fetchall() == [(2,)]
        with pytest.raises(psycopg.errors.UndefinedColumn):
            connection.execute(f"SELECT nope FROM {table}")
        assert connection.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            connection.execute("SELECT 1")
        connection.rollback()


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_psycopg_copy_in_and_out(vector_conn, unique_name, binary):
    table = unique_name("copy")
    vector_conn.execute(f"CREATE TABLE {table} (id int, embedding vector(3))")
    fmt = "(FORMAT binary)" if binary else ""
    with vector_conn.cursor() as cur:
        with cur.copy(f"COPY {table} (id, embedding) FROM STDIN {fmt}") as copy:
            if binary:
                copy.set_types(["int4", "vector"])
            for i in range(1000):
                copy.write_row((i, np.array([i, 0, -i], dtype=np.float32)))
        assert cur.rowcount == 1000
        with cur.copy(f"COPY {table} TO STDOUT {fmt}") as copy:
            if binary:
                copy.set_types(["int4", "vector"])
            rows = list(copy.rows())
    assert len(rows) == 1000
    by_id = {int(row[0]): row[1] for row in rows}
    expected = np.array([999, 0, -999], dtype=np.float32)
    value = by_id[999]
    if binary:
        value = value.to_numpy()  # pgvector-python's Vector
    else:
        value = np.array(value.strip("[]").split(","), dtype=np.float32)
    assert np.array_equal(value, expected)


def test_psycopg_copy_error_leaves_table_unchanged(vector_conn, unique_name):
    table = unique_name("copybad")
    vector_conn.execute(f"CREATE TABLE {table} (id int, embedding vector(2))")
    with pytest.raises(psycopg.errors.DataException):
        with vector_conn.cursor().copy(f"COPY {table} FROM STDIN") as copy:
            copy.write("1\t[1,2]\n2\t[1,2,3]\n")
    assert vector_conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)


def _sleep_in_background(connection: psycopg.Connection) -> tuple[threading.Thread, list[BaseException]]:
    """Run ``SELECT pg_sleep(60)`` on ``connection`` in a started thread; the list gets what it raises."""
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            connection.execute("SELECT pg_sleep(60)")
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    return worker, outcome


def _cancel_until_done(connection: psycopg.Connection, worker: threading.Thread) -> None:
    """Send cancel requests until the query running in ``worker`` has ended."""
    while worker.is_alive():
        connection.cancel()
        worker.join(0.2)


def test_psycopg_cancel_stops_a_running_query(server):
    with server.connect() as slow:
        worker, outcome = _sleep_in_background(slow)
        _cancel_until_done(slow, worker)
        assert len(outcome) == 1
        assert isinstance(outcome[0], psycopg.errors.QueryCanceled)
        assert slow.execute("SELECT 1").fetchone() == (1,)


def test_a_slow_query_does_not_block_other_connections(server):
    with server.connect() as slow, server.connect() as fast:
        worker, _ = _sleep_in_background(slow)
        try:
            for i in range(20):
                assert fast.execute("SELECT %s::int", (i,)).fetchone() == (i,)
            assert worker.is_alive()
        finally:
            _cancel_until_done(slow, worker)


# --- asyncpg ----------------------------------------------------------------------------------


def _asyncpg(coroutine_function, server, *args):
    async def main():
        connection = await asyncpg.connect(server.url)
        try:
            return await coroutine_function(connection, *args)
        finally:
            await connection.close()

    return asyncio.run(main())


def test_asyncpg_queries_prepared_statements_and_types(server):
    async def scenario(con):
        assert await con.fetchval("SELECT $1::int + 1", 41) == 42
        statement = await con.prepare("SELECT $1::text || $2::text AS joined")
        assert [a.name for a in statement.get_attributes()] == ["joined"]
        assert await statement.fetchval("a", "b") == "ab"
        assert await statement.fetchval("c", "d") == "cd"
        row = await con.fetchrow("SELECT 1::int2 AS s, 2::int8 AS b, 1.5::float4 AS f, true AS t, "
                                 "'x'::varchar AS v, NULL::int AS n")
        assert dict(row) == {"s": 1, "b": 2, "f": 1.5, "t": True, "v": "x", "n": None}

    _asyncpg(scenario, server)


def test_asyncpg_executemany_is_one_implicit_transaction(server, unique_name):
    """Everything between two Syncs is one implicit transaction, as in PostgreSQL: an
    executemany that fails part-way leaves nothing behind."""
    table = unique_name("many")

    async def scenario(con):
        await con.execute(f"CREATE TABLE {table} (id int PRIMARY KEY)")
        with pytest.raises(asyncpg.UniqueViolationError):
            await con.executemany(f"INSERT INTO {table} VALUES ($1)", [(1,), (2,), (2,), (3,)])
        assert await con.fetchval(f"SELECT count(*) FROM {table}") == 0
        await con.executemany(f"INSERT INTO {table} VALUES ($1)", [(1,), (2,), (3,)])
        assert await con.fetchval(f"SELECT count(*) FROM {table}") == 3

    _asyncpg(scenario, server)


def test_asyncpg_register_vector_and_search(server, unique_name):
    table = unique_name("asyncvec")

    async def scenario(con):
        await con.execute("CREATE EXTENSION IF NOT EXISTS vector")
        await register_vector_asyncpg(con)
        await con.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, embedding vector(3), half halfvec(2))")
        await con.executemany(f"INSERT INTO {table} VALUES ($1, $2, $3)",
                              [(i, np.array([i, i, i], dtype=np.float32), HalfVector([i, 1]))
                               for i in range(10)])
        rows = await con.fetch(f"SELECT id, embedding, half FROM {table} "
                               f"ORDER BY embedding <-> $1 LIMIT 3", np.array([7.2, 7.2, 7.2]))
        assert [r["id"] for r in rows] == [7, 8, 6]
        assert np.array_equal(rows[0]["embedding"].to_numpy(), np.array([7, 7, 7], dtype=np.float32))
        assert rows[0]["half"].to_list() == [7.0, 1.0]

    _asyncpg(scenario, server)


def test_asyncpg_cursor_fetches_with_row_limits(server):
    async def scenario(con):
        async with con.transaction():
            values = [r[0] async for r in con.cursor("SELECT x FROM generate_series(1, 95) AS g(x)",
                                                     prefetch=10)]
            assert values == list(range(1, 96))
            cursor = await con.cursor("SELECT x FROM generate_series(1, 10) AS g(x)")
            assert [r[0] for r in await cursor.fetch(4)] == [1, 2, 3, 4]
            assert [r[0] for r in await cursor.fetch(10)] == [5, 6, 7, 8, 9, 10]

    _asyncpg(scenario, server)


def test_asyncpg_timeout_cancels_and_the_connection_stays_usable(server):
    async def scenario(con):
        with pytest.raises(asyncio.TimeoutError):
            await con.fetchval("SELECT pg_sleep(60)", timeout=0.5)
        assert await con.fetchval("SELECT 7") == 7

    _asyncpg(scenario, server)


def test_asyncpg_copy_records_binary(server, unique_name):
    table = unique_name("asynccopy")

    async def scenario(con):
        await con.execute(f"CREATE TABLE {table} (id int, label text)")
        result = await con.copy_records_to_table(table, records=[(i, f"r{i}") for i in range(500)])
        assert result == "COPY 500"
        assert await con.fetchval(f"SELECT count(*) FROM {table}") == 500

    _asyncpg(scenario, server)


def test_a_hundred_concurrent_connections(server):
    async def main():
        connections = await asyncio.gather(*(asyncpg.connect(server.url) for _ in range(100)))
        try:
            results = await asyncio.gather(
                *(con.fetchval("SELECT $1::int * 2", i) for i, con in enumerate(connections)))
            assert results == [i * 2 for i in range(100)]
        finally:
            await asyncio.gather(*(con.close() for con in connections))

    asyncio.run(main())


# --- server life cycle ------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_server_stops_cleanly_and_restarts_on_its_data(start_server, tmp_path, signum):
    data_dir = tmp_path / "data"
    first = start_server(data_dir)
    with first.connect() as connection:
        connection.execute("CREATE TABLE kept (id int)")
        connection.execute("INSERT INTO kept VALUES (1), (2)")
    idle = first.connect()
    assert first.stop(signum) == 0
    assert "Traceback" not in first.log
    with pytest.raises(psycopg.OperationalError):
        idle.execute("SELECT 1")
    idle.close()
    second = start_server(data_dir)
    with second.connect() as connection:
        assert connection.execute("SELECT id FROM kept ORDER BY id").fetchall() == [(1,), (2,)]


def test_stopping_the_server_ends_a_running_query(fresh_server):
    busy = fresh_server.connect()
    worker, outcome = _sleep_in_background(busy)
    assert fresh_server.stop() == 0
    worker.join()
    busy.close()
    assert len(outcome) == 1 and isinstance(outcome[0], psycopg.OperationalError)
    assert "Traceback" not in fresh_server.log


def test_a_second_server_on_the_same_data_directory_is_refused(fresh_server, start_server):
    with pytest.raises(ServerStartError) as info:
        start_server(fresh_server.data_dir)
    assert info.value.returncode == 1
    assert "cannot open data directory" in info.value.log
    assert "Traceback" not in info.value.log
    with fresh_server.connect() as connection:
        assert connection.execute("SELECT 1").fetchone() == (1,)


def test_a_port_in_use_is_reported(start_server, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServerStartError) as info:
            start_server(tmp_path / "data", "--port", str(port))
    assert info.value.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in info.value.log
