#!/usr/bin/env python3
"""Where one prepared ANN query's time goes, from the client down to the index.

    python bench/query_profile.py [--n 200000] [--dim 128] [--queries 2000]

Loads ``n`` clustered vectors (with a ``category`` column: 0..99) into a pgvecdb data
directory, builds HNSW (m=16, ef_construction=64), then times the same prepared query
``SELECT id FROM items [WHERE ...] ORDER BY embedding <-> $1 LIMIT 10`` layer by layer:

* psycopg against ``pgvecdb serve`` (client library + wire + server);
* a raw socket sending the Bind/Execute/Sync bytes itself (wire + server, no client);
* the session in-process (``Session.execute`` + ``sync``: the server's work without the
  protocol), split by EXPLAIN ANALYZE's counters into filter and search;
* the pieces of the protocol on their own: decoding the vector parameter, encoding the
  result rows;
* the engine's index search alone (the floor), and what Parse would cost on every query
  if plans were not cached (sqlglot parse + planning).

Every figure is a median of per-query times in microseconds, measured in this one run.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg
from pgvector.psycopg import register_vector

sys.path.insert(0, str(Path(__file__).resolve().parent))
from servers import pgvecdb_server  # noqa: E402

from pgvecdb.database import Database  # noqa: E402
from pgvecdb.sql import parser  # noqa: E402
from pgvecdb.wire.params import decode_parameters  # noqa: E402
from pgvecdb.wire.rows import data_rows  # noqa: E402

FILTERS = {"none": "", "10%": "WHERE category < 10 ", "1%": "WHERE category = $2 "}


def clustered(n: int, dim: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-1, 1, (1000, dim)).astype(np.float32)
    labels = rng.integers(0, len(centres), n + 1000)
    points = centres[labels] + rng.normal(0, 0.2, (n + 1000, dim)).astype(np.float32)
    return points[:n], points[n:]


def median_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


def timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return median_us(samples)


def load(dsn: str, vectors: np.ndarray) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        register_vector(conn)
        conn.execute("CREATE TABLE items (id bigint PRIMARY KEY, category int, embedding vector(%d))" % vectors.shape[1])
        with conn.cursor().copy("COPY items (id, category, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "int4", "vector"])
            for i, v in enumerate(vectors):
                copy.write_row((i, i % 100, v))
        started = time.perf_counter()
        conn.execute("CREATE INDEX ON items USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)")
        print(f"index build: {time.perf_counter() - started:.1f} s", file=sys.stderr)


def psycopg_round_trip(dsn: str, sql: str, queries: np.ndarray, extra: tuple) -> float:
    with psycopg.connect(dsn, autocommit=True) as conn:
        register_vector(conn)
        cur = conn.cursor()
        sql = sql.replace("$1", "%(q)s").replace("$2", "%(c)s")

        def run(q: np.ndarray) -> None:
            cur.execute(sql, {"q": q, **({"c": extra[0]} if extra else {})}, prepare=True)
            cur.fetchall()

        for q in queries[:50]:
            run(q)
        samples = []
        for q in queries:
            started = time.perf_counter()
            run(q)
            samples.append(time.perf_counter() - started)
        return median_us(samples)


def _message(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!I", len(body) + 4) + body


def raw_round_trip(port: int, sql: str, queries: np.ndarray, extra: tuple) -> float:
    """Prepared Bind/Execute/Sync written by hand: the server's and the wire's share."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    startup = struct.pack("!I", 196608) + b"user\0postgres\0\0"
    sock.sendall(struct.pack("!I", len(startup) + 4) + startup)

    def until_ready() -> None:
        data = b""
        while not (len(data) >= 6 and data[-6:-5] == b"Z"):
            data += sock.recv(65536)

    until_ready()
    sock.sendall(_message(b"P", b"q\0" + sql.encode() + b"\0" + struct.pack("!H", 0)) + _message(b"S", b""))
    until_ready()
    tail = b"".join(struct.pack("!I", 4) + struct.pack("!i", int(v)) for v in extra)

    def bind(q: np.ndarray) -> bytes:
        value = struct.pack("!HH", len(q), 0) + q.astype(">f4").tobytes()
        params = struct.pack("!HH", 1, 1) + struct.pack("!H", 1 + len(extra)) + struct.pack("!I", len(value)) + value
        body = b"\0q\0" + params + tail + struct.pack("!H", 0)
        return _message(b"B", body) + _message(b"E", b"\0" + struct.pack("!I", 0)) + _message(b"S", b"")

    for q in queries[:50]:
        sock.sendall(bind(q))
        until_ready()
    samples = []
    for q in queries:
        started = time.perf_counter()
        sock.sendall(bind(q))
        until_ready()
        samples.append(time.perf_counter() - started)
    sock.close()
    return median_us(samples)


def in_process(path: str, sql: str, queries: np.ndarray, extra: tuple) -> dict[str, float]:
    """The session's own work, its split by EXPLAIN ANALYZE, and the protocol's pieces."""
    from pgvecdb.types.registry import lookup

    db = Database(path)
    try:
        session = db.session()
        vector_oid = lookup("vector").oid
        oids = [vector_oid] + [23] * len(extra)
        statement = session.prepare(sql, oids)
        params = [{"__vector": q} for q in queries]
        for p in params[:50]:
            session.execute(statement, [p, *extra])
            session.sync()
        execute = []
        for p in params:
            started = time.perf_counter()
            session.execute(statement, [p, *extra])
            session.sync()
            execute.append(time.perf_counter() - started)
        explain = session.prepare("EXPLAIN ANALYZE " + sql, oids)
        filter_ms, search_ms = [], []
        for p in params[:200]:
            lines = [row["QUERY PLAN"] for row in session.execute(explain, [p, *extra]).table.to_pylist()]
            session.sync()
            for line in lines:
                if "Filter Time" in line:  # "Filter Time: 0.375 ms  Search Time: 0.789 ms  Rows Found: 10"
                    parts = line.split()
                    filter_ms.append(float(parts[2]) / 1000)
                    search_ms.append(float(parts[6]) / 1000)
        result = session.execute(statement, [params[0], *extra])
        session.sync()
        wire_value = struct.pack("!HH", queries.shape[1], 0) + queries[0].astype(">f4").tobytes()
        options = session.format_options()
        decode = timed(lambda: decode_parameters("q", [vector_oid], [1], [wire_value], options), 2000)
        encode = timed(lambda: list(data_rows(result.table, result.columns, [0] * len(result.columns), options)), 2000)
        parse_plan = timed(lambda: _plan_uncached(session, sql, oids), 50)
        return {"session": median_us(execute), "filter": median_us(filter_ms), "search": median_us(search_ms),
                "decode": decode, "encode": encode, "parse_plan": parse_plan, "index_alone": _index_alone(db, queries)}
    finally:
        db.close()


def _plan_uncached(session, sql: str, oids: list[int]) -> None:
    from pgvecdb.planner.context import PlanContext
    from pgvecdb.planner.planner import plan_statement

    statement = parser.parse_one(sql, 0)
    plan_statement(statement, PlanContext(catalog=session.db.catalog, settings=session.settings.get_or_none,
                                          param_oids=list(oids)))


def _index_alone(db: Database, queries: np.ndarray) -> float:
    """The engine's search of the one sealed segment, nothing around it."""
    from pgvecdb.engine import SearchParams

    table = db.catalog.table("items")
    index = next(i for i in table.indexes if i.method == "hnsw")
    txn = db.store.begin()
    try:
        snapshot = next(s for s in txn.scan_segments(table.oid) if s.sealed)
        vector_index = db.vector_indexes.lookup(table, index, snapshot)
    finally:
        txn.rollback()
    samples = []
    for q in queries:
        started = time.perf_counter()
        vector_index.search(q[None, :], 10, SearchParams(ef_search=40))
        samples.append(time.perf_counter() - started)
    return median_us(samples)


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("--n", type=int, default=200_000)
    args.add_argument("--dim", type=int, default=128)
    args.add_argument("--queries", type=int, default=2000)
    options = args.parse_args()
    vectors, queries = clustered(options.n, options.dim)
    queries = np.resize(queries, (options.queries, options.dim))
    data = os.path.join(tempfile.mkdtemp(prefix="pgvecdb-profile-"), "data")
    rows, measured = [], {}
    with pgvecdb_server(data) as server:
        port = int(server.dsn.split("port=")[1].split()[0])
        load(server.dsn, vectors)
        for name, where in FILTERS.items():
            sql = f"SELECT id FROM items {where}ORDER BY embedding <-> $1 LIMIT 10"
            extra = (5,) if "$2" in where else ()
            measured[name] = {"psycopg": psycopg_round_trip(server.dsn, sql, queries, extra),
                              "raw": raw_round_trip(port, sql, queries, extra), "sql": sql, "extra": extra}
    for name, found in measured.items():
        found.update(in_process(data, found["sql"], queries, found["extra"]))
        rows.append((name, found))
    print(f"one prepared query, median us; {options.n:,} x {options.dim}, HNSW m=16 ef_construction=64, "
          f"hnsw.ef_search=40, load average {os.getloadavg()[0]:.2f}")
    print(f"{'filter':>6} | {'psycopg':>8} | {'raw wire':>8} | {'session':>8} | {'filter':>7} | {'search':>7} | "
          f"{'decode':>6} | {'encode':>6} | {'index':>6} | {'parse+plan (once)':>17}")
    for name, f in rows:
        print(f"{name:>6} | {f['psycopg']:8.0f} | {f['raw']:8.0f} | {f['session']:8.0f} | {f['filter']:7.0f} | "
              f"{f['search']:7.0f} | {f['decode']:6.0f} | {f['encode']:6.0f} | {f['index_alone']:6.0f} | "
              f"{f['parse_plan']:17.0f}")


if __name__ == "__main__":
    main()
