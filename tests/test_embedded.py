"""pgvecdb.connect(): the embedded DB-API 2.0 connection over a real data directory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import pgvecdb
from pgvecdb.errors import PgError


@pytest.fixture
def con(tmp_path: Path):
    connection = pgvecdb.connect(tmp_path / "db")
    yield connection
    connection.close()


def test_execute_fetch_and_description(con) -> None:
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id int PRIMARY KEY, name text, score float8)")
    cur.executemany("INSERT INTO t VALUES (%s, %s, %s)", [(1, "a", 1.5), (2, "b", None), (3, "c", 3.0)])
    cur.execute("SELECT id, name, score FROM t WHERE id >= $1 ORDER BY id", [2])
    assert [d[0] for d in cur.description] == ["id", "name", "score"]
    assert cur.fetchone() == (2, "b", None)
    assert cur.fetchall() == [(3, "c", 3.0)]
    assert cur.fetchone() is None
    cur.execute("SELECT id FROM t WHERE name = %(name)s", {"name": "a"})
    assert cur.fetchmany(5) == [(1,)]


def test_transactions_commit_and_rollback(tmp_path: Path) -> None:
    con = pgvecdb.connect(tmp_path / "db")
    con.execute("CREATE TABLE t (id int)")
    con.commit()
    con.execute("INSERT INTO t VALUES (1)")
    con.rollback()
    con.execute("INSERT INTO t VALUES (2)")
    con.commit()
    assert con.execute("SELECT id FROM t").fetchall() == [(2,)]
    con.close()


def test_context_manager_commits(tmp_path: Path) -> None:
    with pgvecdb.connect(tmp_path / "db") as con:
        con.execute("CREATE TABLE t (id int)")
        con.execute("INSERT INTO t VALUES (1), (2)")
    with pgvecdb.connect(tmp_path / "db") as con:
        assert con.execute("SELECT count(*) FROM t").fetchone() == (2,)


def test_errors_are_postgres_errors(con) -> None:
    with pytest.raises(PgError) as info:
        con.execute("SELECT * FROM missing")
    assert info.value.sqlstate == "42P01"
    con.rollback()
    con.execute("CREATE TABLE t (id int PRIMARY KEY)")
    con.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(PgError) as info:
        con.execute("INSERT INTO t VALUES (1)")
    assert info.value.sqlstate == "23505"
    with pytest.raises(PgError) as info:
        con.execute("SELECT 1")
    assert info.value.sqlstate == "25P02"
    con.rollback()


def test_vectors_as_numpy_and_arrow(con) -> None:
    con.execute("CREATE TABLE items (id int, embedding vector(3))")
    con.execute("INSERT INTO items VALUES (%s, %s)", (1, np.array([1, 2, 3], dtype=np.float32)))
    con.execute("INSERT INTO items VALUES (%s, %s)", (2, [4.0, 5.0, 6.0]))
    con.commit()
    rows = con.execute("SELECT id, embedding FROM items ORDER BY embedding <-> %s", ([4, 5, 5],)).fetchall()
    assert [r[0] for r in rows] == [2, 1]
    assert isinstance(rows[0][1], np.ndarray) and rows[0][1].tolist() == [4.0, 5.0, 6.0]
    arrow = con.execute("SELECT id, embedding FROM items ORDER BY id").fetch_arrow()
    assert isinstance(arrow, pa.Table)
    assert arrow.column("embedding").to_pylist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    matrix = con.execute("SELECT embedding FROM items ORDER BY id").fetchnumpy()["embedding"]
    assert matrix.shape == (2, 3) and matrix.dtype == np.float32


def test_sparse_and_half_vectors_as_parameters(con) -> None:
    from pgvector import SparseVector

    con.execute("CREATE TABLE s (id int, sparse sparsevec(5), half halfvec(2))")
    con.execute("INSERT INTO s VALUES (%s, %s, %s)", (1, SparseVector({0: 1.5, 4: 2.0}, 5), [1, 2]))
    con.execute("INSERT INTO s VALUES (%s, %s, %s)", (2, [0, 0, 3, 0, 0], [3, 4]))
    assert con.execute("SELECT id, sparse::text, half::text FROM s ORDER BY id").fetchall() == [
        (1, "{1:1.5,5:2}/5", "[1,2]"), (2, "{3:3}/5", "[3,4]")]


def test_in_memory_database() -> None:
    with pgvecdb.connect() as con:
        con.execute("CREATE TABLE t (x int)")
        con.execute("INSERT INTO t VALUES (41)")
        assert con.execute("SELECT x + 1 FROM t").fetchone() == (42,)


def test_same_results_as_the_server(server, unique_name, tmp_path: Path) -> None:
    table = unique_name("same")
    statements = [
        f"CREATE TABLE {table} (id int PRIMARY KEY, category text, embedding vector(2))",
        f"INSERT INTO {table} VALUES (1, 'a', '[1,0]'), (2, 'b', '[0,1]'), (3, 'a', '[1,1]')",
    ]
    query = (f"SELECT category, count(*), min(embedding <-> '[1,0]') FROM {table} "
             f"GROUP BY category ORDER BY category")
    with server.connect() as pg:
        for sql in statements:
            pg.execute(sql)
        over_wire = pg.execute(query).fetchall()
    with pgvecdb.connect(tmp_path / "db") as con:
        for sql in statements:
            con.execute(sql)
        embedded = con.execute(query).fetchall()
    assert embedded == over_wire == [("a", 2, 0.0), ("b", 1, pytest.approx(2 ** 0.5))]
