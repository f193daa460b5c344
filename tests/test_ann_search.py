"""ANN search through SQL, as a client sees it: vector indexes built by CREATE INDEX and used
by ``ORDER BY <distance> LIMIT k`` and ``WHERE <distance> < r``, with pgvector's semantics.

Most tables here are built with *planted neighbours*: a few rows at known, distinct
distances from the query and a cloud of other rows around them that keeps a clear margin,
so the right answer is exact and unambiguous whatever the index type.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

import numpy as np
import psycopg
import pytest
from pgvector.psycopg import register_vector

DIM = 8
QUERY = np.full(DIM, 0.5, dtype=np.float32)


# --- helpers ----------------------------------------------------------------------------------


def background(rng: np.random.Generator, rows: int, dim: int = DIM) -> np.ndarray:
    """Rows spread uniformly over [-10, 10]^dim."""
    return rng.uniform(-10, 10, (rows, dim)).astype(np.float32)


def cloud_with_hole(rng: np.random.Generator, rows: int, centre: np.ndarray, hole: float) -> np.ndarray:
    """Gaussian rows around ``centre``, none closer to it than ``hole``.

    The rows around the hole keep planted neighbours inside it linked to the rest of a graph
    index: an isolated island of rows is a known blind spot of HNSW, not what is tested here.
    """
    kept: list[np.ndarray] = []
    while sum(len(part) for part in kept) < rows:
        draw = rng.normal(centre, 2.0, (rows, len(centre)))
        kept.append(draw[np.linalg.norm(draw - centre, axis=1) >= hole])
    return np.vstack(kept)[:rows].astype(np.float32)


def at_distances(rng: np.random.Generator, centre: np.ndarray, distances: Sequence[float]) -> np.ndarray:
    """One row per distance, each exactly that far from ``centre`` in a random direction."""
    directions = rng.standard_normal((len(distances), len(centre)))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    return (centre + directions * np.asarray(distances)[:, None]).astype(np.float32)


def around(rng: np.random.Generator, centre: np.ndarray, near_distances: Sequence[float], rows: int) -> np.ndarray:
    """Rows at ``near_distances`` from ``centre`` first, then a cloud 1.0 beyond the farthest."""
    near = at_distances(rng, centre, near_distances)
    hole = float(np.max(near_distances)) + 1.0
    return np.vstack([near, cloud_with_hole(rng, rows - len(near), centre, hole)])


def planted_vectors(rows: int = 2_000, planted: int = 10, seed: int = 1) -> np.ndarray:
    """Row i < ``planted`` at distance 0.1 * (i + 1) from ``QUERY``; every other row farther."""
    return around(np.random.default_rng(seed), QUERY, 0.1 * np.arange(1, planted + 1), rows)


def distances(vectors: np.ndarray, query: np.ndarray, metric: str = "l2") -> np.ndarray:
    """pgvector's distance of each row to ``query``, in float64."""
    rows, q = vectors.astype(np.float64), query.astype(np.float64)
    if metric == "l2":
        return np.sqrt(((rows - q) ** 2).sum(axis=1))
    if metric == "ip":
        return -(rows @ q)
    with np.errstate(invalid="ignore", divide="ignore"):  # zero vectors: NaN, as in pgvector
        return 1 - (rows @ q) / (np.linalg.norm(rows, axis=1) * np.linalg.norm(q))


def exact_order(vectors: np.ndarray, query: np.ndarray, metric: str = "l2",
                keep: np.ndarray | None = None) -> list[int]:
    """Ids (row positions) of the rows passing ``keep``, nearest first."""
    d = distances(vectors, query, metric)
    order = np.argsort(d, kind="stable")
    return [int(i) for i in order if keep is None or keep[i]]


def load(conn: psycopg.Connection, table: str, vectors: Sequence[np.ndarray | None],
         categories: Sequence[int] | None = None) -> None:
    """Create ``table`` (id, category, embedding) and load row i with id i by binary COPY."""
    dim = next(len(v) for v in vectors if v is not None)
    categories = categories if categories is not None else [0] * len(vectors)
    conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, category int, embedding vector({dim}))")
    with conn.cursor().copy(f"COPY {table} (id, category, embedding) FROM STDIN (FORMAT binary)") as copy:
        copy.set_types(["int4", "int4", "vector"])
        for row in zip(range(len(vectors)), categories, vectors):
            copy.write_row(row)


def ids(conn: psycopg.Connection, sql: str, params: Sequence | None = None) -> list[int]:
    return [row[0] for row in conn.execute(sql, params).fetchall()]


def plan(conn: psycopg.Connection, sql: str) -> list[str]:
    """EXPLAIN output of ``sql`` (vectors written as literals), one string per line."""
    return [row[0] for row in conn.execute(f"EXPLAIN {sql}").fetchall()]


def literal(vector: np.ndarray) -> str:
    return "'[" + ",".join(repr(float(x)) for x in vector) + "]'"


def assert_uses_index(conn: psycopg.Connection, sql: str, table: str, index: str) -> None:
    lines = plan(conn, sql)
    assert any(f"ANN Search on {table} using {index}" in line for line in lines), "\n".join(lines)


def files_under(directory: Path) -> set[str]:
    return {path.name for path in directory.rglob("*") if path.is_file()}


def index_files(data_dir: Path) -> set[str]:
    """Segment files that are neither the data (.arrow) nor the delete bitmap (.del)."""
    return {name for name in files_under(data_dir / "tables")
            if name.startswith("seg-") and not name.endswith((".arrow", ".del", ".tmp"))}


@pytest.fixture
def vconn(conn) -> psycopg.Connection:
    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    register_vector(conn)
    return conn


# --- CREATE INDEX builds an index that the search uses ------------------------------------------

INDEX_METHODS = {
    "hnsw": "USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)",
    "ivfflat": "USING ivfflat (embedding vector_l2_ops) WITH (lists = 10)",
    "ivf_sq8": "USING ivf_sq8 (embedding vector_l2_ops) WITH (lists = 10)",
    "ivf_pq": "USING ivf_pq (embedding vector_l2_ops) WITH (lists = 10)",
    "flat": "USING flat (embedding vector_l2_ops)",
}


@pytest.mark.parametrize("method", list(INDEX_METHODS))
def test_created_index_is_used_and_finds_the_nearest_rows(vconn, unique_name, method):
    table, index = unique_name("built"), unique_name("idx")
    vectors = planted_vectors()
    load(vconn, table, vectors)
    vconn.execute(f"CREATE INDEX {index} ON {table} {INDEX_METHODS[method]}")
    vconn.execute("SET ivfflat.probes = 10")  # every list: this is about building and using the index
    sql = f"SELECT id FROM {table} ORDER BY embedding <-> %s LIMIT 10"
    assert_uses_index(vconn, sql.replace("%s", literal(QUERY)), table, index)
    assert set(ids(vconn, sql, (QUERY,))) == set(range(10))


@pytest.mark.parametrize("method", ["hnsw", "ivfflat", "flat"])
def test_exact_distance_indexes_return_rows_in_distance_order(vconn, unique_name, method):
    table = unique_name("ordered")
    load(vconn, table, planted_vectors())
    vconn.execute(f"CREATE INDEX ON {table} {INDEX_METHODS[method]}")
    vconn.execute("SET ivfflat.probes = 10")
    assert ids(vconn, f"SELECT id FROM {table} ORDER BY embedding <-> %s LIMIT 10", (QUERY,)) == list(range(10))


# --- what an index search never returns, and what it finds without a rebuild ---------------------


def test_rows_with_a_null_vector_are_never_returned(vconn, unique_name):
    """A NULL stored as zeros would be the nearest row to the origin: none may come back."""
    table = unique_name("nulls")
    rng = np.random.default_rng(2)
    vectors: list[np.ndarray | None] = list(background(rng, 500) + 20)  # all far from the origin
    null_ids = set(range(0, 500, 7))
    for i in null_ids:
        vectors[i] = None
    load(vconn, table, vectors)
    vconn.execute(f"CREATE INDEX ON {table} USING hnsw (embedding vector_l2_ops)")
    origin = np.zeros(DIM, dtype=np.float32)
    found = ids(vconn, f"SELECT id FROM {table} ORDER BY embedding <-> %s LIMIT 10", (origin,))
    assert len(found) == 10
    assert not set(found) & null_ids
    stored = np.vstack([v if v is not None else np.full(DIM, np.inf, dtype=np.float32) for v in vectors])
    assert found == exact_order(stored, origin)[:10]


def test_null_vectors_do_not_count_toward_the_limit(vconn, unique_name):
    table = unique_name("fewnulls")
    vectors = [np.array([i, 0, 0], dtype=np.float32) if i % 2 else None for i in range(12)]
    load(vconn, table, vectors)
    vconn.execute(f"CREATE INDEX ON {table} USING hnsw (embedding vector_l2_ops)")
    found = ids(vconn, f"SELECT id FROM {table} ORDER BY embedding <-> '[0,0,0]' LIMIT 20")
    assert found == [1, 3, 5, 7, 9, 11]


def test_zero_vectors_are_never_returned_by_a_cosine_index(vconn, unique_name):
    table = unique_name("zeros")
    rng = np.random.default_rng(3)
    vectors = background(rng, 300)
    zero_ids = set(range(0, 300, 10))
    vectors[sorted(zero_ids)] = 0
    load(vconn, table, list(vectors))
    vconn.execute(f"CREATE INDEX ON {table} USING hnsw (embedding vector_cosine_ops)")
    query = vectors[1]
    # LIMIT as large as the table: a zero vector (NaN distance) would come back at its end.
    found = ids(vconn, f"SELECT id FROM {table} ORDER BY embedding <=> %s LIMIT 300", (query,))
    assert not set(found) & zero_ids
    keep = np.ones(300, dtype=bool)
    keep[sorted(zero_ids)] = False
    assert found[:10] == exact_order(vectors, query, "cosine", keep)[:10]


def test_rows_inserted_after_create_index_are_found(vconn, unique_name):
    table = unique_name("growing")
    rng = np.random.default_rng(4)
    load(vconn, table, list(cloud_with_hole(rng, 2_000, QUERY, 1.0)))
    vconn.execute(f"CREATE INDEX ON {table} USING hnsw (embedding vector_l2_ops)")
    late = at_distances(rng, QUERY, [0.3, 0.1, 0.2])
    with vconn.cursor() as cur:
        cur.executemany(f"INSERT INTO {table} (id, category, embedding) VALUES (%s, 0, %s)",
                        [(10_000 + i, vector) for i, vector in enumerate(late)])
    found = ids(vconn, f"SELECT id FROM {table} ORDER BY embedding <-> %s LIMIT 3", (QUERY,))
    assert found == [10_001, 10_002, 10_000]


def test_rows_found_in_the_index_and_in_newer_rows_are_merged_in_distance_order(vconn, unique_name):
    table = unique_name("merged")
    rng = np.random.default_rng(5)
    near = at_distances(rng, QUERY, 0.1 * np.arange(1, 7))  # ranks 1..6
    indexed = np.vstack([near[::2], cloud_with_hole(rng, 2_000, QUERY, 1.6)])  # ranks 1, 3, 5 -> ids 0, 1, 2
    load(vconn, table, list(indexed))
    vconn.execute(f"CREATE INDEX ON {table} USING hnsw (embedding vector_l2_ops)")
    with vconn.cursor() as cur:  # ranks 2, 4, 6 -> ids 5000, 5001, 5002
        cur.executemany(f"INSERT INTO {table} (id, category, embedding) VALUES (%s, 0, %s)",
                        [(5_000 + i, vector) for i, vector in enumerate(near[1::2])])
    found = ids(vconn, f"SELECT id FROM {table} ORDER BY embedding <-> %s LIMIT 6", (QUERY,))
    assert found == [0, 5_000, 1, 5_001, 2, 5_002]


def test_deleted_rows_are_never_returned(vconn, unique_name):
    table = unique_name("deleted")
    load(vconn, table, planted_vectors(planted=20))
    vconn.execute(f"CREATE INDEX ON {table} USING hnsw (embedding vector_l2_ops)")
    vconn.execute(f"DELETE FROM {table} WHERE id IN (0, 2, 4, 6, 8)")
    found = ids(vconn, f"SELECT id FROM {table} ORDER BY embedding <-> %s LIMIT 10", (QUERY,))
    assert found == [1, 3, 5, 7, 9, 10, 11, 12, 13, 14]


def test_updated_vectors_are_found_at_their_new_position_only(vconn, unique_name):
    table = unique_name("updated")
    load(vconn, table, planted_vectors())
    vconn.execute(f"CREATE INDEX ON {table} USING hnsw (embedding vector_l2_ops)")
    far_away = np.full(DIM, -30.0, dtype=np.float32)
    vconn.execute(f"UPDATE {table} SET embedding = %s WHERE id = 0", (far_away,))
    vconn.execute(f"UPDATE {table} SET embedding = %s WHERE id = 500", (QUERY,))
    near_query = ids(vconn, f"SELECT id FROM {table} ORDER BY embedding <-> %s LIMIT 10", (QUERY,))
    assert near_query == [500, *range(1, 10)]
    assert ids(vconn, f"SELECT id FROM {table} ORDER BY embedding <-> %s LIMIT 1", (far_away,)) == [0]


# --- distances, ordering and OFFSET -------------------------------------------------------------

DISTANCE_CASES = [
    ("hnsw", "vector_l2_ops", "<->", "l2"),
    ("ivfflat", "vector_l2_ops", "<->", "l2"),
    ("ivf_sq8", "vector_l2_ops", "<->", "l2"),
    ("hnsw", "vector_cosine_ops", "<=>", "cosine"),
    ("hnsw", "vector_ip_ops", "<#>", "ip"),
]


@pytest.mark.parametrize("method, opclass, op, metric", DISTANCE_CASES)
def test_distance_in_the_select_list_is_exact_and_ascending(vconn, unique_name, method, opclass, op, metric):
    table = unique_name("dist")
    rng = np.random.default_rng(6)
    vectors = background(rng, 1_000)
    load(vconn, table, list(vectors))
    options = "WITH (lists = 10)" if method.startswith("ivf") else ""
    vconn.execute(f"CREATE INDEX ON {table} USING {method} (embedding {opclass}) {options}")
    query = rng.uniform(-10, 10, DIM).astype(np.float32)
    rows = vconn.execute(f"SELECT id, embedding {op} %s AS d FROM {table} ORDER BY embedding {op} %s LIMIT 5",
                         (query, query)).fetchall()
    assert len(rows) == 5
    expected = distances(vectors, query, metric)
    for row_id, d in rows:
        assert d == pytest.approx(expected[row_id], rel=1e-5, abs=1e-6)
    found = [d for _, d in rows]
    assert found == sorted(found)


@pytest.mark.parametrize("opclass, op", [("vector_l2_ops", "<->"), ("vector_ip_ops", "<#>"),
                                        ("vector_cosine_ops", "<=>"), ("vector_l1_ops", "<+>")])
def test_a_plain_search_returns_the_distance_the_operator_computes(vconn, unique_name, opclass, op):
    """The distance a search without DuckDB returns is, bit for bit, what the operator
    itself computes for that row (through DuckDB), with the query on either side."""
    table = unique_name("samedist")
    rng = np.random.default_rng(8)
    load(vconn, table, list(background(rng, 500)))
    vconn.execute(f"CREATE INDEX ON {table} USING hnsw (embedding {opclass})")
    query = rng.uniform(-10, 10, DIM).astype(np.float32)
    for left, right in (("embedding", "%(q)s"), ("%(q)s", "embedding")):
        sql = f"SELECT id, {left} {op} {right} AS d FROM {table} ORDER BY {left} {op} {right} LIMIT 5"
        assert "without DuckDB" in vconn.execute("EXPLAIN " + sql, {"q": query}).fetchone()[0]
        rows = vconn.execute(sql, {"q": query}).fetchall()
        assert len(rows) == 5
        for row_id, d in rows:
            computed = vconn.execute(f"SELECT {left} {op} {right} FROM {table} WHERE id = %(id)s",
                                     {"q": query, "id": row_id}).fetchone()[0]
            assert d == computed


def test_offset_skips_the_first_ranks_of_the_exact_order(vconn, unique_name):
    table = unique_name("offset")
    rng = np.random.default_rng(7)
    vectors = background(rng, 200)
    load(vconn, table, list(vectors))
    vconn.execute(f"CREATE INDEX ON {table} USING hnsw (embedding vector_l2_ops)")
    query = rng.uniform(-10, 10, DIM).astype(np.float32)
    order = exact_order(vectors, query)
    sql = f"SELECT id FROM {table} ORDER BY embedding <-> %s LIMIT 5"
    assert ids(vconn, sql, (query,)) == order[:5]
    assert ids(vconn, sql + " OFFSET 5", (query,)) == order[5:10]


# --- queries around an ANN search ---------------------------------------------------------------


PLANTED_CATEGORIES = np.arange(2_000) % 4


@pytest.fixture
def planted_table(vconn, unique_name) -> str:
    """``planted_vectors()`` with category = id % 4, indexed with HNSW."""
    table = unique_name("around")
    load(vconn, table, planted_vectors(), PLANTED_CATEGORIES.tolist())
    vconn.execute(f"CREATE INDEX ON {table} USING hnsw (embedding vector_l2_ops)")
    return table


def test_cte_of_an_ann_search_joined_to_another_table(vconn, unique_name, planted_table):
    tags = unique_name("tags")
    vconn.execute(f"CREATE TABLE {tags} (item_id int, tag text)")
    vconn.execute(f"INSERT INTO {tags} VALUES (0, 'a'), (3, 'a'), (9, 'b'), (10, 'a'), (1500, 'a')")
    count = vconn.execute(
        f"WITH nn AS (SELECT id FROM {planted_table} ORDER BY embedding <-> %s LIMIT 10) "
        f"SELECT count(*) FROM nn JOIN {tags} ON {tags}.item_id = nn.id WHERE {tags}.tag = 'a'",
        (QUERY,)).fetchone()[0]
    assert count == 2  # items 0 and 3; 10 and 1500 are not among the 10 nearest


def test_filter_outside_a_subquery_applies_after_its_limit(vconn, planted_table):
    found = ids(vconn, f"SELECT id FROM (SELECT id, category FROM {planted_table} "
                       f"ORDER BY embedding <-> %s LIMIT 10) s WHERE s.category = 1 ORDER BY id",
                (QUERY,))
    assert found == [1, 5, 9]


def test_scalar_subquery_as_the_query_vector(vconn, planted_table):
    sql = (f"SELECT count(*) FROM (SELECT * FROM {planted_table} ORDER BY embedding <-> "
           f"(SELECT embedding FROM {planted_table} WHERE id = 1) LIMIT 3) s")
    assert vconn.execute(sql).fetchone()[0] == 3
    nearest = ids(vconn, f"SELECT id FROM {planted_table} ORDER BY embedding <-> "
                         f"(SELECT embedding FROM {planted_table} WHERE id = 1) LIMIT 1")
    assert nearest == [1]


def test_where_filter_of_the_searched_table_applies_before_its_limit(vconn, planted_table):
    found = ids(vconn, f"SELECT id FROM {planted_table} WHERE category = 2 "
                       f"ORDER BY embedding <-> %s LIMIT 3", (QUERY,))
    assert found[:2] == [2, 6]  # the planted rows of category 2, then the nearest background one
    assert found == exact_order(planted_vectors(), QUERY, keep=PLANTED_CATEGORIES == 2)[:3]


# --- partial and expression indexes -------------------------------------------------------------


def test_partial_index_answers_its_filter_and_not_other_queries(vconn, unique_name):
    table, index = unique_name("partial"), unique_name("partial_idx")
    vectors = planted_vectors()
    categories = [i % 4 for i in range(2_000)]
    load(vconn, table, vectors, categories)
    vconn.execute(f"CREATE INDEX {index} ON {table} USING hnsw (embedding vector_l2_ops) WHERE category = 1")
    category = np.array(categories)
    filtered = f"SELECT id FROM {table} WHERE category = 1 ORDER BY embedding <-> %s LIMIT 10"
    assert ids(vconn, filtered, (QUERY,)) == exact_order(vectors, QUERY, keep=category == 1)[:10]
    unfiltered = f"SELECT id FROM {table} ORDER BY embedding <-> %s LIMIT 10"
    assert ids(vconn, unfiltered, (QUERY,)) == list(range(10))
    other = f"SELECT id FROM {table} WHERE category = 2 ORDER BY embedding <-> %s LIMIT 10"
    assert ids(vconn, other, (QUERY,)) == exact_order(vectors, QUERY, keep=category == 2)[:10]


def test_halfvec_expression_index(vconn, unique_name):
    table, index = unique_name("halfexpr"), unique_name("half_idx")
    rng = np.random.default_rng(8)
    vectors = around(rng, np.array([5.0, 5.0, 5.0]), [0.5, 1.0, 1.5, 2.0, 2.5], 500)
    load(vconn, table, list(vectors))
    vconn.execute(f"CREATE INDEX {index} ON {table} USING hnsw ((embedding::halfvec(3)) halfvec_l2_ops)")
    sql = f"SELECT id FROM {table} ORDER BY embedding::halfvec(3) <-> '[5,5,5]'::halfvec LIMIT 4"
    assert_uses_index(vconn, sql, table, index)
    halves = vectors.astype(np.float16).astype(np.float32)
    assert exact_order(halves, np.array([5, 5, 5], dtype=np.float32))[:4] == [0, 1, 2, 3]
    assert ids(vconn, sql) == [0, 1, 2, 3]


# --- bit vectors --------------------------------------------------------------------------------

BITS = 64


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a != b).sum(axis=-1)


def jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return 1 - (a & b).sum(axis=-1) / (a | b).sum(axis=-1)


def bit_text(bits: np.ndarray) -> str:
    return "".join("1" if b else "0" for b in bits)


@pytest.mark.parametrize("opclass, op, distance", [("bit_hamming_ops", "<~>", hamming),
                                                   ("bit_jaccard_ops", "<%>", jaccard)])
def test_bit_vector_index_returns_the_exact_nearest_rows(vconn, unique_name, opclass, op, distance):
    table = unique_name("bits")
    rng = np.random.default_rng(9)
    rows = rng.random((300, BITS)) < 0.5
    query = rng.random(BITS) < 0.5
    vconn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, bits bit({BITS}))")
    with vconn.cursor().copy(f"COPY {table} (id, bits) FROM STDIN") as copy:
        for i, row in enumerate(rows):
            copy.write_row((i, bit_text(row)))
    vconn.execute(f"CREATE INDEX ON {table} USING hnsw (bits {opclass})")
    op = op.replace("%", "%%")  # psycopg placeholders
    found = vconn.execute(f"SELECT id, bits {op} %s::bit({BITS}) AS d FROM {table} "
                          f"ORDER BY bits {op} %s::bit({BITS}) LIMIT 5",
                          (bit_text(query), bit_text(query))).fetchall()
    true_distances = distance(rows, query).astype(np.float64)
    assert [d for _, d in found] == pytest.approx(sorted(true_distances)[:5])  # ties make ids ambiguous
    assert [true_distances[i] for i, _ in found] == pytest.approx([d for _, d in found])


# --- persistence --------------------------------------------------------------------------------


def test_index_files_survive_a_restart_and_go_with_drop_index(start_server):
    server = start_server()
    vectors = planted_vectors(rows=5_000)
    sql = "SELECT id FROM items ORDER BY embedding <-> %s LIMIT 10"
    with server.connect() as first:
        first.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(first)
        load(first, "items", vectors)
        before_index = index_files(server.data_dir)
        first.execute("CREATE INDEX items_embedding_idx ON items USING hnsw (embedding vector_l2_ops)")
        built = index_files(server.data_dir) - before_index
        assert built, files_under(server.data_dir / "tables")
        found_before = ids(first, sql, (QUERY,))
    assert found_before == list(range(10))
    assert server.stop() == 0

    again = start_server(server.data_dir)
    assert built <= index_files(again.data_dir)
    with again.connect() as second:
        second.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(second)
        assert_uses_index(second, sql.replace("%s", literal(QUERY)), "items", "items_embedding_idx")
        assert ids(second, sql, (QUERY,)) == found_before
        second.execute("DROP INDEX items_embedding_idx")
        assert not wait_until_gone(again.data_dir, built), index_files(again.data_dir)
        assert ids(second, sql, (QUERY,)) == found_before


def test_compaction_hands_over_indexed_segments(vconn, unique_name):
    """VACUUM FULL merges two indexed segments into one whose index exists as soon as the
    merged segment replaces them: no search reads it exactly meanwhile (Milvus's handoff)."""
    rng = np.random.default_rng(5)
    table = unique_name("handoff")
    vectors = rng.standard_normal((6_000, DIM)).astype(np.float32)
    load(vconn, table, vectors[:3_000])
    vconn.execute(f"CREATE INDEX ON {table} USING hnsw (embedding vector_l2_ops)")
    with vconn.cursor().copy(f"COPY {table} (id, category, embedding) FROM STDIN (FORMAT binary)") as copy:
        copy.set_types(["int4", "int4", "vector"])
        for i in range(3_000, 6_000):
            copy.write_row((i, 0, vectors[i]))
    vconn.execute("CHECKPOINT")
    sql = f"SELECT id FROM {table} ORDER BY embedding <-> {literal(QUERY)} LIMIT 10"
    deadline = time.monotonic() + 30
    while "Segments: 2 searched by index, 0 exactly" not in "\n".join(plan(vconn, sql)):
        assert time.monotonic() < deadline, plan(vconn, sql)  # the second segment's index builds in the background
        time.sleep(0.05)
    vconn.execute(f"DELETE FROM {table} WHERE id % 3 = 0")
    vconn.execute(f"VACUUM FULL {table}")
    assert "Segments: 1 searched by index, 0 exactly" in "\n".join(plan(vconn, sql)), plan(vconn, sql)
    kept = np.arange(6_000) % 3 != 0
    assert ids(vconn, sql) == exact_order(vectors, QUERY, keep=kept)[:10]


def wait_until_gone(data_dir: Path, names: set[str], seconds: float = 5.0) -> set[str]:
    """The names among ``names`` still on disk after up to ``seconds``."""
    deadline = time.monotonic() + seconds
    while (left := names & index_files(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


# --- settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize("setting, value", [("hnsw.ef_search", "100"), ("ivfflat.probes", "10"),
                                            ("hnsw.iterative_scan", "relaxed_order"),
                                            ("ivfflat.max_probes", "5")])
def test_search_settings_are_accepted(vconn, setting, value):
    vconn.execute(f"SET {setting} = {value}")
    assert vconn.execute(f"SHOW {setting}").fetchone()[0] == value


@pytest.fixture
def one_percent_table(vconn, unique_name) -> tuple[str, np.ndarray, np.ndarray]:
    """5,000 random rows, category uniform over 0..99 (so ``category = c`` keeps ~1%)."""
    table = unique_name("sparsefilter")
    rng = np.random.default_rng(10)
    vectors = background(rng, 5_000)
    categories = rng.integers(0, 100, 5_000)
    load(vconn, table, list(vectors), categories.tolist())
    return table, vectors, categories


@pytest.mark.parametrize("setting", ["hnsw.ef_search = 1", "hnsw.ef_search = 1000",
                                     "hnsw.iterative_scan = off", "hnsw.iterative_scan = strict_order"])
def test_hnsw_filtered_search_fills_its_limit_whatever_the_settings(vconn, one_percent_table, setting):
    table, vectors, categories = one_percent_table
    vconn.execute(f"CREATE INDEX ON {table} USING hnsw (embedding vector_l2_ops)")
    vconn.execute(f"SET {setting}")
    assert_filtered_searches_fill_their_limit(vconn, table, vectors, categories)


@pytest.mark.parametrize("setting", ["ivfflat.probes = 1", "ivfflat.max_probes = 1"])
def test_ivfflat_filtered_search_fills_its_limit_whatever_the_settings(vconn, one_percent_table, setting):
    table, vectors, categories = one_percent_table
    vconn.execute(f"CREATE INDEX ON {table} USING ivfflat (embedding vector_l2_ops) WITH (lists = 70)")
    vconn.execute(f"SET {setting}")
    assert_filtered_searches_fill_their_limit(vconn, table, vectors, categories)


def assert_filtered_searches_fill_their_limit(conn, table: str, vectors: np.ndarray, categories: np.ndarray) -> None:
    rng = np.random.default_rng(11)
    recalls = []
    for category in range(0, 100, 10):
        query = rng.uniform(-10, 10, DIM).astype(np.float32)
        found = ids(conn, f"SELECT id FROM {table} WHERE category = %s ORDER BY embedding <-> %s LIMIT 10",
                    (category, query))
        assert len(found) == min(10, int((categories == category).sum()))
        assert (categories[found] == category).all()
        truth = exact_order(vectors, query, keep=categories == category)[:10]
        recalls.append(len(set(found) & set(truth)) / len(truth))
    assert np.mean(recalls) >= 0.9


# --- range search -------------------------------------------------------------------------------


@pytest.mark.parametrize("order_by", [True, False], ids=["ordered", "unordered"])
def test_range_search_returns_exactly_the_rows_within_the_radius(vconn, unique_name, order_by):
    table = unique_name("range")
    rng = np.random.default_rng(12)
    vectors = around(rng, QUERY, rng.permutation(0.025 * np.arange(1, 41)), 2_000)
    load(vconn, table, list(vectors))
    vconn.execute(f"CREATE INDEX ON {table} USING hnsw (embedding vector_l2_ops)")
    d = distances(vectors, QUERY)
    sorted_d = np.sort(d)
    radius = float((sorted_d[24] + sorted_d[25]) / 2)  # 25 rows inside, none near the boundary
    sql = f"SELECT id FROM {table} WHERE embedding <-> %s < %s"
    if order_by:
        found = ids(vconn, sql + " ORDER BY embedding <-> %s", (QUERY, radius, QUERY))
        assert found == exact_order(vectors, QUERY)[:25]
    else:
        assert sorted(ids(vconn, sql, (QUERY, radius))) == sorted(np.flatnonzero(d < radius).tolist())


def test_range_search_with_a_literal_radius(vconn, unique_name):
    table = unique_name("range_literal")
    load(vconn, table, planted_vectors())
    vconn.execute(f"CREATE INDEX ON {table} USING hnsw (embedding vector_l2_ops)")
    found = ids(vconn, f"SELECT id FROM {table} WHERE embedding <-> %s < 0.55 ORDER BY embedding <-> %s",
                (QUERY, QUERY))
    assert found == [0, 1, 2, 3, 4]


# --- EXPLAIN ------------------------------------------------------------------------------------


@pytest.fixture
def explained_table(vconn, unique_name) -> tuple[str, str]:
    table, index = unique_name("explained"), unique_name("explained_idx")
    load(vconn, table, planted_vectors(), [i % 10 for i in range(2_000)])
    vconn.execute(f"CREATE INDEX {index} ON {table} USING hnsw (embedding vector_l2_ops)")
    return table, index


def filtered_ann_query(table: str) -> str:
    return f"SELECT id FROM {table} WHERE category = 3 ORDER BY embedding <-> {literal(QUERY)} LIMIT 10"


def test_explain_shows_the_index_search_its_bitset_filter_and_selectivity(vconn, explained_table):
    table, index = explained_table
    lines = plan(vconn, filtered_ann_query(table))
    assert any(f"ANN Search on {table} using {index}" in line for line in lines), lines
    assert any(line.lstrip().startswith("Filter (bitset):") for line in lines), lines
    assert any("Selectivity" in line for line in lines), lines


def test_explain_without_a_vector_index_shows_no_ann_search(vconn, unique_name):
    table = unique_name("unindexed")
    load(vconn, table, planted_vectors(), [i % 10 for i in range(2_000)])
    lines = plan(vconn, filtered_ann_query(table))
    assert lines and not any("ANN Search" in line for line in lines), lines


def test_explain_analyze_reports_actual_rows_and_time(vconn, explained_table):
    table, _ = explained_table
    lines = [row[0] for row in vconn.execute(f"EXPLAIN ANALYZE {filtered_ann_query(table)}").fetchall()]
    assert any("actual rows=10" in line for line in lines), lines
    assert any("Execution Time" in line for line in lines), lines


def test_explain_of_a_query_with_bound_parameters(vconn, explained_table):
    table, index = explained_table
    sql = f"EXPLAIN SELECT id FROM {table} WHERE category = %s ORDER BY embedding <-> %s LIMIT 10"
    lines = [row[0] for row in vconn.execute(sql, (3, QUERY)).fetchall()]
    assert any(f"ANN Search on {table} using {index}" in line for line in lines), lines


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bound", [False, True], ids=["literal", "parameter"])
def test_query_vector_of_the_wrong_dimensions_is_a_clean_error(vconn, unique_name, bound):
    table = unique_name("dims")
    rng = np.random.default_rng(13)
    load(vconn, table, list(rng.uniform(-1, 1, (500, 3)).astype(np.float32)))
    vconn.execute(f"CREATE INDEX ON {table} USING hnsw (embedding vector_l2_ops)")
    if bound:
        sql, params = f"SELECT id FROM {table} ORDER BY embedding <-> %s LIMIT 5", (np.arange(4.0),)
    else:
        sql, params = f"SELECT id FROM {table} ORDER BY embedding <-> '[1,2,3,4]' LIMIT 5", None
    with pytest.raises(psycopg.errors.DataException) as info:
        vconn.execute(sql, params)
    assert info.value.sqlstate == "22000"
    assert "different vector dimensions 3 and 4" in str(info.value)
    assert vconn.execute("SELECT 1").fetchone() == (1,)
    assert len(ids(vconn, f"SELECT id FROM {table} ORDER BY embedding <-> '[1,2,3]' LIMIT 5")) == 5
