"""The filters the ANN operator evaluates itself (without DuckDB) keep exactly the rows
DuckDB's WHERE keeps: the same query runs on two copies of a table, one with a FLAT index
(an exact index, so only the filter can make the answers differ) and one without.

Rows include NULLs in every filtered column; the filters mix comparisons, IN lists,
IS [NOT] NULL, AND, OR, NOT, text and floating-point columns, literals and parameters.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

import pgvecdb

ROWS = 3000
DIM = 8
FILTERS = [
    ("category = 3", ()),
    ("category <> 3", ()),
    ("category < %s", (10,)),
    ("category >= 95 OR category IS NULL", ()),
    ("NOT (category > 5)", ()),
    ("category IN (1, 2, 3) AND price > 0.5", ()),
    ("label = %s", ("b",)),
    ("label < 'c' AND NOT flag", ()),
    ("label IS NOT NULL AND flag", ()),
    ("price <= %s AND category BETWEEN 10 AND 20", (0.25,)),
    ("(category = 7 OR label = 'a') AND price IS NOT NULL", ()),
    ("category = 2.5", ()),
    ("category NOT IN (1, 2, 3)", ()),
    ("category NOT BETWEEN 10 AND 90", ()),
    ("category IN (%s, %s, NULL)", (4, 5)),
    ("flag IS NULL OR label > %s", ("b",)),
    ("NOT (label = 'a' OR flag)", ()),
]
# Filters the operator may leave to DuckDB: the answers must agree all the same.
OTHER_FILTERS = [
    ("price > -0.5 AND category % 7 = 0", ()),
    ("label LIKE 'a%%'", ()),
    ("id IN (SELECT id FROM plain WHERE category < 20)", ()),
    ("embedding <-> '[0,0,0,0,0,0,0,0]' < 2.5", ()),
]


@pytest.fixture(scope="module")
def connection():
    rng = np.random.default_rng(11)
    con = pgvecdb.connect()
    for table in ("indexed", "plain"):
        con.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, category int, price float8, label text, "
                    f"flag bool, embedding vector({DIM}))")
    rows = []
    for i in range(ROWS):
        maybe = rng.random(4) < 0.1  # about 10% NULLs in each column
        rows.append((i, None if maybe[0] else int(rng.integers(0, 100)), None if maybe[1] else float(rng.random()),
                     None if maybe[2] else str(rng.choice(["a", "b", "c", "d"])), None if maybe[3] else bool(rng.random() < 0.5),
                     rng.standard_normal(DIM).astype(np.float32).tolist()))
    for table in ("indexed", "plain"):
        con.cursor().executemany(f"INSERT INTO {table} VALUES (%s, %s, %s, %s, %s, %s)", rows)
    con.commit()
    con.execute("CREATE INDEX ON indexed USING flat (embedding vector_l2_ops)")
    con.commit()
    yield con, rng.standard_normal((5, DIM)).astype(np.float32)
    con.close()


@pytest.mark.parametrize("where, params", FILTERS)
def test_the_operator_keeps_the_rows_duckdb_keeps(connection, where, params):
    con, queries = connection
    plan = "\n".join(r[0] for r in con.execute(
        f"EXPLAIN SELECT id FROM indexed WHERE {where} ORDER BY embedding <-> %s LIMIT 25",
        (*params, queries[0].tolist())).fetchall())
    assert "without DuckDB" in plan and "Filter (bitset)" in plan
    assert_same_answers(con, queries, where, params)


@pytest.mark.parametrize("where, params", OTHER_FILTERS)
def test_other_filters_give_the_answers_of_a_scan(connection, where, params):
    con, queries = connection
    assert_same_answers(con, queries, where, params)


def assert_same_answers(con, queries, where: str, params: tuple) -> None:
    for query in queries:
        found = con.execute(f"SELECT id FROM indexed WHERE {where} ORDER BY embedding <-> %s LIMIT 25",
                            (*params, query.tolist())).fetchall()
        expected = con.execute(f"SELECT id FROM plain WHERE {where} ORDER BY embedding <-> %s LIMIT 25",
                               (*params, query.tolist())).fetchall()
        assert found == expected


def test_answers_agree_across_segments_deletes_updates_and_open_writes():
    """Sealed segments (CHECKPOINT seals), deletes and updates in them, a growing segment
    and a transaction's own uncommitted rows: an HNSW-indexed copy answers as the plain one."""
    rng = np.random.default_rng(5)
    con = pgvecdb.connect()
    for table in ("indexed", "plain"):
        con.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, category int, embedding vector({DIM}))")
    con.execute("CREATE INDEX ON indexed USING hnsw (embedding vector_l2_ops)")
    con.commit()
    next_id = 0
    for round_ in range(3):
        rows = [(next_id + i, int(rng.integers(0, 10)), rng.standard_normal(DIM).astype(np.float32).tolist())
                for i in range(400)]
        next_id += len(rows)
        for table in ("indexed", "plain"):
            con.cursor().executemany(f"INSERT INTO {table} VALUES (%s, %s, %s)", rows)
            con.execute(f"DELETE FROM {table} WHERE id %% 7 = %s", (round_,))
            con.execute(f"UPDATE {table} SET embedding = embedding + embedding WHERE id %% 11 = %s", (round_,))
        con.commit()
        if round_ < 2:
            con.execute("CHECKPOINT")
    for table in ("indexed", "plain"):  # rows only this transaction sees
        con.execute(f"INSERT INTO {table} VALUES (%s, 3, %s)", (10_000, [0.0] * DIM))
        con.execute(f"DELETE FROM {table} WHERE id = 5")
    deadline = time.monotonic() + 60
    while True:  # the sealed segments' indexes are built in the background
        plan = "\n".join(r[0] for r in con.execute(
            "EXPLAIN SELECT id FROM indexed ORDER BY embedding <-> %s LIMIT 20", ([0.0] * DIM,)).fetchall())
        if re.search(r"Segments: [1-9]\d* searched by index, 2 exactly", plan) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    # sealed segments (compaction may have merged the two) by index; growing and own rows exactly
    assert re.search(r"Segments: [1-9]\d* searched by index, 2 exactly", plan), plan
    for query in rng.standard_normal((10, DIM)).astype(np.float32):
        for where in ("", "WHERE category = 3 ", "WHERE category < 5 "):
            sql = "SELECT id FROM {} " + where + "ORDER BY embedding <-> %s LIMIT 20"
            found = con.execute(sql.format("indexed"), (query.tolist(),)).fetchall()
            expected = con.execute(sql.format("plain"), (query.tolist(),)).fetchall()
            assert found == expected
    con.close()
