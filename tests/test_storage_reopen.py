"""Durability of the segment store: reopen after close, and recovery from crash images.

A crash image is a copy of the data directory taken while the store is open and idle: what
a machine that lost power at that moment would find on disk (every commit here is fsynced).
"""

from __future__ import annotations

import os
import shutil
import threading

import numpy as np
import pyarrow as pa
import pytest

from pgvecdb.errors import UndefinedColumn
from pgvecdb.storage.api import ROWID, StorageConfig, open_store
from pgvecdb.storage.layout import LOCK
from pgvecdb.storage.wal import read_records, wal_file_name, wal_generations

TABLE = 16384
DIM = 4
SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string()), ("v", pa.list_(pa.float32(), DIM))])
QUIET = StorageConfig(auto_compact=False)  # nothing moves in the background unless asked


def rows(ids) -> pa.Table:
    ids = np.asarray(list(ids), dtype=np.int64)
    vectors = np.repeat(ids.astype(np.float32)[:, None], DIM, axis=1)
    return pa.table({
        "id": ids,
        "name": [f"row {i}" for i in ids],
        "v": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), DIM),
    })


def insert(store, ids) -> None:
    txn = store.begin()
    txn.insert(TABLE, rows(ids))
    txn.commit()


def ids_of(store, table_id: int = TABLE) -> list[int]:
    return sorted(store.begin().scan(table_id, ["id"]).column("id").to_pylist())


def crash_image(store, destination) -> str:
    shutil.copytree(store.path, destination, ignore=shutil.ignore_patterns(LOCK))
    return str(destination)


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "data", QUIET)
    s.create_table(TABLE, SCHEMA)
    yield s
    s.close()


def test_reopen_after_close_keeps_everything(tmp_path, store):
    store.set_unique_keys(TABLE, [["id"]])
    store.save_catalog({"tables": ["t"], "next_oid": 16390})
    insert(store, range(10))
    txn = store.begin()
    txn.delete(TABLE, store.begin().scan(TABLE, ["id"]).column(ROWID).to_numpy()[:3])
    txn.commit()
    values = [store.sequence_next(7, 1, 1) for _ in range(5)]
    store.close()
    wal = tmp_path / "data" / "wal"
    assert sum(len(list(read_records(str(wal / name)))) for name in os.listdir(wal)) == 0

    reopened = open_store(tmp_path / "data", QUIET)
    try:
        assert ids_of(reopened) == list(range(3, 10))
        assert reopened.load_catalog() == {"tables": ["t"], "next_oid": 16390}
        assert reopened.table_schema(TABLE) == SCHEMA
        assert reopened.sequence_next(7, 1, 1) == values[-1] + 1
        txn = reopened.begin()
        assert txn.lookup(TABLE, 0, [(5,), (1,)])[1] is None
        with pytest.raises(Exception, match="duplicate key"):
            txn.insert(TABLE, rows([5]))
    finally:
        reopened.close()


def test_committed_transactions_survive_a_crash_and_open_ones_vanish(tmp_path, store):
    insert(store, range(0, 5))
    insert(store, range(5, 8))
    rolled_back = store.begin()
    rolled_back.insert(TABLE, rows([100]))
    rolled_back.rollback()
    in_flight = store.begin()
    in_flight.insert(TABLE, rows([200]))
    image = crash_image(store, tmp_path / "image")
    in_flight.commit()

    recovered = open_store(image, QUIET)
    try:
        assert ids_of(recovered) == list(range(8))
    finally:
        recovered.close()


def _last_wal_file(directory: str) -> str:
    wal = os.path.join(directory, "wal")
    return os.path.join(wal, wal_file_name(wal_generations(wal)[-1]))


@pytest.mark.parametrize("damage", ["torn", "corrupt"])
def test_a_damaged_wal_tail_recovers_to_the_last_valid_commit(tmp_path, store, damage):
    insert(store, range(0, 5))
    insert(store, range(5, 10))
    insert(store, range(10, 1000))
    image = crash_image(store, tmp_path / "image")
    path = _last_wal_file(image)
    if damage == "torn":
        os.truncate(path, os.path.getsize(path) - 100)
    else:
        with open(path, "r+b") as f:
            f.seek(os.path.getsize(path) - 5000)
            f.write(b"\xff\x00\xff")

    recovered = open_store(image, QUIET)
    try:
        assert ids_of(recovered) == list(range(10))
        insert(recovered, [5000])  # new records follow in a new WAL file, so they are found
    finally:
        recovered.close()
    reopened = open_store(image, QUIET)
    try:
        assert ids_of(reopened) == list(range(10)) + [5000]
    finally:
        reopened.close()


def test_rows_sealed_into_segments_are_not_replayed_twice(tmp_path):
    store = open_store(tmp_path / "data", StorageConfig(segment_max_rows=100, auto_compact=False))
    try:
        store.create_table(TABLE, SCHEMA)
        for start in range(0, 450, 50):
            insert(store, range(start, start + 50))
        store.seal_frozen()
        assert len(os.listdir(os.path.join(store.path, "tables", str(TABLE)))) == 4
        insert(store, range(450, 470))
        image = crash_image(store, tmp_path / "image")
    finally:
        store.close()

    recovered = open_store(image, QUIET)
    try:
        assert ids_of(recovered) == list(range(470))
    finally:
        recovered.close()


def test_deletes_after_a_checkpoint_are_replayed(tmp_path, store):
    insert(store, range(100))
    store.checkpoint()
    scanned = store.begin().scan(TABLE, ["id"])
    doomed = scanned.filter(pa.compute.less(scanned.column("id"), 30)).column(ROWID).to_numpy()
    txn = store.begin()
    assert txn.delete(TABLE, doomed) == 30
    txn.commit()
    insert(store, range(100, 110))
    image = crash_image(store, tmp_path / "image")

    recovered = open_store(image, QUIET)
    try:
        assert ids_of(recovered) == list(range(30, 110))
        recovered.checkpoint()  # the deletes move into the segment's .del file
    finally:
        recovered.close()
    reopened = open_store(image, QUIET)
    try:
        assert ids_of(reopened) == list(range(30, 110))
        assert any(name.endswith(".del") for name in os.listdir(os.path.join(image, "tables", str(TABLE))))
    finally:
        reopened.close()


def test_alter_table_is_durable_without_rewriting_segments(tmp_path, store):
    insert(store, range(3))
    store.checkpoint()
    segment_files = sorted(os.listdir(os.path.join(store.path, "tables", str(TABLE))))
    store.add_column(TABLE, pa.field("score", pa.float64()), pa.scalar(1.5))
    store.rename_column(TABLE, "name", "label")
    store.drop_column(TABLE, "v")
    txn = store.begin()
    txn.insert(TABLE, pa.table({"id": [10], "label": ["new"], "score": [9.0]}))
    txn.commit()
    assert sorted(os.listdir(os.path.join(store.path, "tables", str(TABLE)))) == segment_files
    image = crash_image(store, tmp_path / "image")

    recovered = open_store(image, QUIET)
    try:
        table = recovered.begin().scan(TABLE)
        assert table.column_names == ["id", "label", "score", ROWID]
        assert table.drop_columns([ROWID]).to_pylist() == [
            {"id": 0, "label": "row 0", "score": 1.5},
            {"id": 1, "label": "row 1", "score": 1.5},
            {"id": 2, "label": "row 2", "score": 1.5},
            {"id": 10, "label": "new", "score": 9.0},
        ]
        with pytest.raises(UndefinedColumn):
            recovered.begin().scan(TABLE, ["v"])
    finally:
        recovered.close()


def test_truncate_and_drop_are_durable_and_free_the_files(tmp_path, store):
    other = TABLE + 1
    store.create_table(other, SCHEMA)
    insert(store, range(50))
    txn = store.begin()
    txn.insert(other, rows(range(20)))
    txn.commit()
    store.checkpoint()
    store.truncate_table(TABLE)
    insert(store, [7])
    store.drop_table(other)
    assert not os.path.exists(os.path.join(store.path, "tables", str(other)))
    assert os.listdir(os.path.join(store.path, "tables", str(TABLE))) == []
    image = crash_image(store, tmp_path / "image")

    recovered = open_store(image, QUIET)
    try:
        assert ids_of(recovered) == [7]
        assert other not in recovered.tables
    finally:
        recovered.close()


def test_sequences_never_hand_out_a_value_twice_after_a_crash(tmp_path, store):
    seen = [store.sequence_next(5, 1, 1) for _ in range(40)]
    store.checkpoint()
    seen += [store.sequence_next(5, 1, 1) for _ in range(3)]
    image = crash_image(store, tmp_path / "image")
    recovered = open_store(image, QUIET)
    try:
        assert recovered.sequence_next(5, 1, 1) > max(seen)
    finally:
        recovered.close()


def test_table_size_counts_the_files(store):
    insert(store, range(1000))
    store.checkpoint()
    directory = os.path.join(store.path, "tables", str(TABLE))
    on_disk = sum(os.path.getsize(os.path.join(directory, f)) for f in os.listdir(directory))
    assert store.table_size(TABLE) == on_disk
    assert on_disk >= rows(range(1000)).nbytes


def test_a_table_without_columns_keeps_its_row_count(tmp_path, store):
    store.create_table(TABLE + 1, pa.schema([]))
    txn = store.begin()
    txn.insert(TABLE + 1, pa.table({"x": [1, 2, 3]}).select([]))
    txn.commit()
    image = crash_image(store, tmp_path / "image")
    recovered = open_store(image, QUIET)
    try:
        assert recovered.begin().scan(TABLE + 1).num_rows == 3
    finally:
        recovered.close()


def test_the_in_memory_store_runs_the_same_code_without_files():
    store = open_store(None, QUIET)
    try:
        assert store.path is None
        store.create_table(TABLE, SCHEMA)
        insert(store, range(5))
        store.checkpoint()
        insert(store, range(5, 7))
        assert ids_of(store) == list(range(7))
        assert store.table_size(TABLE) > 0
    finally:
        store.close()


def test_deferred_commits_reach_the_disk_within_the_flush_interval(tmp_path):
    store = open_store(tmp_path / "data", StorageConfig(synchronous_commit=False, wal_flush_interval=0.01,
                                                        auto_compact=False))
    try:
        store.create_table(TABLE, SCHEMA)
        insert(store, range(5))
        while store.wal.unsynced:  # the maintenance thread's fsync, not the commit's
            threading.Event().wait(0.005)
        image = crash_image(store, tmp_path / "image")
    finally:
        store.close()
    recovered = open_store(image, QUIET)
    try:
        assert ids_of(recovered) == list(range(5))
    finally:
        recovered.close()


def test_a_big_wal_triggers_a_checkpoint_and_segments_seal_by_bytes(tmp_path):
    config = StorageConfig(segment_max_bytes=20_000, checkpoint_wal_bytes=50_000, wal_flush_interval=0.01,
                           auto_compact=False)
    store = open_store(tmp_path / "data", config)
    try:
        store.create_table(TABLE, SCHEMA)
        insert(store, range(2000))
        wal = os.path.join(store.path, "wal")
        while len(wal_generations(wal)) > 1 or store.wal.bytes_written:
            threading.Event().wait(0.005)
        sealed = store.tables[TABLE].sealed
        assert len(sealed) > 1 and all(s.segment.sealed for s in sealed)
        assert all(s.segment.nbytes <= 1.1 * 20_000 for s in sealed)  # rows are cut by their mean size
        assert ids_of(store) == list(range(2000))
    finally:
        store.close()


def test_segment_snapshots_for_per_segment_search(store):
    insert(store, range(10))
    store.checkpoint()
    insert(store, range(10, 15))
    txn = store.begin()
    txn.insert(TABLE, rows([99]))
    scanned = txn.scan(TABLE, ["id"])
    txn.delete(TABLE, scanned.column(ROWID).to_numpy()[[0, 12]])  # one sealed, one growing row
    snapshots = txn.scan_segments(TABLE, ["v"])
    assert [(s.sealed, s.data.num_rows, s.deleted.positions().tolist()) for s in snapshots] == [
        (True, 10, [0]), (False, 5, [2]), (False, 1, [])]
    assert snapshots[-1].segment_id == -1
    assert snapshots[0].data.column_names == ["v", ROWID]
