"""Crash safety: a writer process is killed with SIGKILL at random moments, round after round.

The writer commits batch after batch (100 rows each; every third transaction also rewrites
the previous batch, a delete + insert of its rows) and prints each batch number once its
commit returned. Small segments make it seal, checkpoint and compact while it runs, so the
kills land in those too. After every kill the parent reopens the directory and checks that
every acknowledged batch is there exactly once, that no batch is there in part, and that a
rewrite is there whole or not at all.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections import defaultdict

import pyarrow as pa

from pgvecdb.storage.api import StorageConfig, open_store

T = 16384
BATCH = 100
ROUNDS = 8

WRITER = textwrap.dedent(f"""
    import sys
    import numpy as np
    import pyarrow as pa
    from pgvecdb.storage.api import ROWID, StorageConfig, open_store

    path, first = sys.argv[1], int(sys.argv[2])
    store = open_store(path, StorageConfig(segment_max_rows=700, wal_flush_interval=0.005))
    if {T} not in store.tables:
        store.create_table({T}, pa.schema([("id", pa.int64()), ("tag", pa.string()), ("v", pa.list_(pa.float32(), 8))]))
        store.set_unique_keys({T}, [["id"]])

    def batch(number, tag):
        ids = np.arange(number * {BATCH}, (number + 1) * {BATCH}, dtype=np.int64)
        vectors = pa.FixedSizeListArray.from_arrays(pa.array(np.repeat(ids, 8).astype(np.float32)), 8)
        return pa.table({{"id": ids, "tag": [tag] * {BATCH}, "v": vectors}})

    number = first
    while True:
        txn = store.begin()
        txn.insert({T}, batch(number, f"b{{number}}"))
        if number % 3 == 0 and number > 0:
            scanned = txn.scan({T}, ["id"])
            ids = scanned.column("id").to_numpy()
            previous = (ids >= (number - 1) * {BATCH}) & (ids < number * {BATCH})
            txn.update({T}, scanned.column(ROWID).to_numpy()[previous], batch(number - 1, f"u{{number}}"))
        txn.commit()
        print(number, flush=True)
        if number % 10 == 9:
            store.checkpoint()
        number += 1
""")


def run_writer_until_killed(path: str, first: int, rng: random.Random) -> int:
    """Start the writer, let it acknowledge a random number of batches, kill it mid-flight;
    return the last batch it acknowledged (first - 1 if none)."""
    writer = subprocess.Popen([sys.executable, "-c", WRITER, path, str(first)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wanted = rng.randint(0, 25)
    last = first - 1
    try:
        for _ in range(wanted):
            line = writer.stdout.readline()
            if not line:
                raise AssertionError(f"the writer died: {writer.stderr.read()}")
            last = int(line)
        # let the kill land anywhere in the next commits (or, with none read, in recovery)
        time.sleep(rng.random() * (0.02 if wanted else 0.6))
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
    for line in writer.stdout.read().split():
        last = int(line)  # acknowledged between our last read and the kill
    writer.stdout.close()
    writer.stderr.close()
    return last


def check_batches(path: str, acknowledged: int) -> int:
    """Check the recovered table; return the highest batch present."""
    store = open_store(path, StorageConfig(auto_compact=False))
    try:
        table = store.begin().scan(T, ["id", "tag"])
    finally:
        store.close()
    ids = table.column("id").to_pylist()
    assert len(ids) == len(set(ids)), "a row is present twice"
    tags_by_batch: dict[int, list[str]] = defaultdict(list)
    for row_id, tag in zip(ids, table.column("tag").to_pylist()):
        tags_by_batch[row_id // BATCH].append(tag)
    present = max(tags_by_batch) if tags_by_batch else -1
    assert present in (acknowledged, acknowledged + 1), "lost acknowledged batches or invented some"
    for number in range(present + 1):
        tags = tags_by_batch.get(number, [])
        assert len(tags) == BATCH, f"batch {number} has {len(tags)} rows"
        rewritten_by = number + 1 if (number + 1) % 3 == 0 and number + 1 <= present else None
        expected = f"u{rewritten_by}" if rewritten_by else f"b{number}"
        assert set(tags) == {expected}, f"batch {number} is {set(tags)}, expected {expected}"
    return present


def test_kill_9_at_random_moments_loses_no_acknowledged_commit(tmp_path):
    path = str(tmp_path / "data")
    rng = random.Random(int.from_bytes(os.urandom(4), "little"))
    next_batch = 0
    for _ in range(ROUNDS):
        acknowledged = run_writer_until_killed(path, next_batch, rng)
        next_batch = check_batches(path, acknowledged) + 1
    store = open_store(path, StorageConfig(auto_compact=False))
    try:
        segments = [name for name in os.listdir(os.path.join(path, "tables", str(T))) if name.endswith(".arrow")]
        assert segments, "the writer never sealed a segment: the kills did not cover seals"
        assert isinstance(store.begin().scan(T), pa.Table)
    finally:
        store.close()
