"""Recall of ANN search through SQL: psycopg against ``pgvecdb serve``, at default settings.

The data set is a seeded Gaussian mixture (well separated clusters); queries are drawn from
the same mixture, never copied from the rows. Ground truth is a float64 numpy brute force
over the stored float32 vectors, with the query's filter applied. Recall@10 of a query is
|returned ∩ true top 10| / min(10, rows passing the filter).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import psycopg
import pytest
from pgvector.psycopg import register_vector

from conftest import new_name

ROWS, DIM, CLUSTERS, QUERIES, K = 20_000, 32, 200, 100, 10
LISTS = 141  # about sqrt(ROWS), pgvector's advice for ivfflat
MIN_RECALL = 0.95

OPERATORS = {"l2": "<->", "cosine": "<=>", "ip": "<#>"}


@dataclass(frozen=True)
class DataSet:
    vectors: np.ndarray  # (ROWS, DIM) float32; row i has id i
    category: np.ndarray  # uniform over 0..99
    bucket: np.ndarray  # uniform over 0..999
    queries: np.ndarray  # (QUERIES, DIM) float32


@dataclass(frozen=True)
class FilterCase:
    """``WHERE {column} {op} value``, the value chosen per query so filters vary."""

    column: str
    op: str
    value_for_query: Callable[[int], int]

    def mask(self, data: DataSet, value: int) -> np.ndarray:
        compare = {"<": operator.lt, "=": operator.eq}[self.op]
        return compare(getattr(data, self.column), value)


FILTERS = {
    "50%": FilterCase("category", "<", lambda i: 50),
    "10%": FilterCase("category", "<", lambda i: 10),
    "1%": FilterCase("category", "=", lambda i: i % 100),
    "0.1%": FilterCase("bucket", "=", lambda i: (i * 37) % 1000),
}


def clustered_data_set(seed: int = 7) -> DataSet:
    """Rows and queries from one mixture of well separated Gaussian clusters."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-1, 1, (CLUSTERS, DIM))
    spread = rng.uniform(0.1, 0.3, CLUSTERS)

    def draw(count: int) -> np.ndarray:
        cluster = rng.integers(0, CLUSTERS, count)
        noise = rng.standard_normal((count, DIM)) * spread[cluster, None]
        return (centres[cluster] + noise).astype(np.float32)

    vectors, queries = draw(ROWS), draw(QUERIES)
    return DataSet(vectors=vectors, category=rng.integers(0, 100, ROWS),
                   bucket=rng.integers(0, 1000, ROWS), queries=queries)


def exact_distances(data: DataSet, query: np.ndarray, metric: str) -> np.ndarray:
    """pgvector's distance of every row to ``query``, in float64."""
    rows, q = data.vectors.astype(np.float64), query.astype(np.float64)
    if metric == "l2":
        return np.sqrt(((rows - q) ** 2).sum(axis=1))
    if metric == "ip":
        return -(rows @ q)
    return 1 - (rows @ q) / (np.linalg.norm(rows, axis=1) * np.linalg.norm(q))


def true_top_ids(data: DataSet, query: np.ndarray, metric: str, keep: np.ndarray | None = None) -> set[int]:
    distances = exact_distances(data, query, metric)
    if keep is not None:
        distances = np.where(keep, distances, np.inf)
    top = np.argsort(distances, kind="stable")[:K]
    return {int(i) for i in top if np.isfinite(distances[i])}


def load(conn: psycopg.Connection, table: str, data: DataSet) -> None:
    conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, category int, bucket int, embedding vector({DIM}))")
    with conn.cursor().copy(f"COPY {table} (id, category, bucket, embedding) FROM STDIN (FORMAT binary)") as copy:
        copy.set_types(["int4", "int4", "int4", "vector"])
        for row in zip(range(ROWS), data.category.tolist(), data.bucket.tolist(), data.vectors):
            copy.write_row(row)


@dataclass(frozen=True)
class IndexedTable:
    name: str
    method: str
    index_names: dict[str, str]  # metric -> index name


# One table per index method: its options, and the metrics it gets an index of (one operator class each).
INDEX_SETUPS = {
    "hnsw": ("WITH (m = 16, ef_construction = 64)", ["l2", "cosine"]),
    "ivfflat": (f"WITH (lists = {LISTS})", ["l2", "ip"]),
}
OPCLASSES = {"l2": "vector_l2_ops", "cosine": "vector_cosine_ops", "ip": "vector_ip_ops"}


@pytest.fixture(scope="module")
def data() -> DataSet:
    return clustered_data_set()


@pytest.fixture(scope="module")
def vconn(server) -> Iterator[psycopg.Connection]:
    with server.connect() as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        register_vector(connection)
        yield connection


@pytest.fixture(scope="module")
def tables(vconn, data) -> Iterator[dict[str, IndexedTable]]:
    """One loaded table per index method, indexed after loading (CREATE INDEX seals the rows)."""
    built = {}
    for method, (options, metrics) in INDEX_SETUPS.items():
        table = new_name(f"recall_{method}")
        load(vconn, table, data)
        index_names = {}
        for metric in metrics:
            index_names[metric] = f"{table}_{metric}_idx"
            vconn.execute(f"CREATE INDEX {index_names[metric]} ON {table} "
                          f"USING {method} (embedding {OPCLASSES[metric]}) {options}")
        built[method] = IndexedTable(table, method, index_names)
    yield built
    for table in built.values():
        vconn.execute(f"DROP TABLE {table.name}")


def search(conn: psycopg.Connection, table: str, metric: str, query: np.ndarray,
           where: str = "", params: tuple = ()) -> list[int]:
    sql = f"SELECT id FROM {table} {where} ORDER BY embedding {OPERATORS[metric]} %s LIMIT {K}"
    return [row[0] for row in conn.execute(sql, (*params, query)).fetchall()]


def vector_literal(vector: np.ndarray) -> str:
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"


def recall(found: list[int], truth: set[int]) -> float:
    return len(set(found) & truth) / max(1, len(truth))


METRIC_CASES = [("hnsw", "l2"), ("hnsw", "cosine"), ("ivfflat", "l2"), ("ivfflat", "ip")]


@pytest.mark.parametrize("method, metric", METRIC_CASES)
def test_queries_are_planned_as_searches_of_the_index(vconn, tables, data, method, metric):
    table = tables[method]
    sql = (f"EXPLAIN SELECT id FROM {table.name} WHERE category < 10 "
           f"ORDER BY embedding {OPERATORS[metric]} '{vector_literal(data.queries[0])}' LIMIT {K}")
    plan = "\n".join(row[0] for row in vconn.execute(sql).fetchall())
    assert f"ANN Search on {table.name} using {table.index_names[metric]}" in plan


@pytest.mark.parametrize("method, metric", METRIC_CASES)
def test_recall_at_default_settings(vconn, tables, data, method, metric):
    table = tables[method].name
    recalls = []
    for query in data.queries:
        found = search(vconn, table, metric, query)
        assert len(found) == K
        recalls.append(recall(found, true_top_ids(data, query, metric)))
    assert np.mean(recalls) >= MIN_RECALL


@pytest.mark.parametrize("binding", ["literal", "parameter"])
@pytest.mark.parametrize("selectivity", list(FILTERS))
@pytest.mark.parametrize("method", list(INDEX_SETUPS))
def test_filtered_search_fills_its_limit_with_recall(vconn, tables, data, method, selectivity, binding):
    table, case = tables[method].name, FILTERS[selectivity]
    recalls = []
    for i, query in enumerate(data.queries):
        value = case.value_for_query(i)
        keep = case.mask(data, value)
        if binding == "literal":
            found = search(vconn, table, "l2", query, f"WHERE {case.column} {case.op} {value}")
        else:
            found = search(vconn, table, "l2", query, f"WHERE {case.column} {case.op} %s", (value,))
        assert len(found) == min(K, int(keep.sum())), f"query {i}: {len(found)} rows"
        assert keep[found].all(), f"query {i}: a row that fails the filter was returned"
        recalls.append(recall(found, true_top_ids(data, query, "l2", keep)))
    assert np.mean(recalls) >= MIN_RECALL
