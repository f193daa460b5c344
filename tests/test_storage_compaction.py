"""Compaction: deleted rows leave the files, results and row ids do not change, readers of
old snapshots keep working, and rows deleted while a compaction runs stay deleted."""

from __future__ import annotations

import os
import shutil
import threading

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pgvecdb.storage.api import ROWID, StorageConfig, open_store
from pgvecdb.storage.compaction import Compaction
from pgvecdb.storage.layout import LOCK

T = 16384
DIM = 16
SCHEMA = pa.schema([("id", pa.int64()), ("v", pa.list_(pa.float32(), DIM))])


def rows(ids) -> pa.Table:
    ids = np.asarray(list(ids), dtype=np.int64)
    vectors = np.repeat(ids.astype(np.float32)[:, None], DIM, axis=1)
    return pa.table({"id": ids, "v": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), DIM)})


def load(store, ids, batch: int = 1000) -> None:
    ids = list(ids)
    for start in range(0, len(ids), batch):
        txn = store.begin()
        txn.insert(T, rows(ids[start:start + batch]))
        txn.commit()


def delete_where(store, predicate) -> int:
    txn = store.begin()
    scanned = txn.scan(T, ["id"])
    doomed = scanned.filter(predicate(scanned.column("id"))).column(ROWID).to_numpy()
    count = txn.delete(T, doomed)
    txn.commit()
    return count


def table_files(store) -> dict[str, int]:
    """The table's files and their sizes (a file compaction removes meanwhile is left out)."""
    directory = os.path.join(store.path, "tables", str(T))
    sizes = {}
    for name in os.listdir(directory):
        try:
            sizes[name] = os.path.getsize(os.path.join(directory, name))
        except FileNotFoundError:
            continue
    return sizes


def contents(table: pa.Table) -> list[tuple]:
    """(id, rowid, first vector value) of every row, sorted: what compaction must keep."""
    first = pc.list_element(table.column("v"), 0).to_pylist()
    return sorted(zip(table.column("id").to_pylist(), table.column(ROWID).to_pylist(), first))


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "data", StorageConfig(segment_max_rows=4000, auto_compact=False))
    s.create_table(T, SCHEMA)
    yield s
    s.close()


def test_vacuum_drops_deleted_rows_from_the_files_and_keeps_the_results(store):
    load(store, range(12_000))
    store.checkpoint()
    before_files = table_files(store)
    assert delete_where(store, lambda ids: pc.not_equal(pc.bit_wise_and(ids, 7), 0)) == 10_500
    expected = contents(store.begin().scan(T))
    store.vacuum(T)
    after_files = table_files(store)
    assert sum(after_files.values()) < sum(before_files.values()) / 5
    assert not set(before_files) & set(after_files)
    assert contents(store.begin().scan(T)) == expected
    assert store.table_size(T) == sum(after_files.values())


def test_small_segments_merge_and_vacuum_full_packs_everything(store):
    for start in range(0, 1000, 100):
        load(store, range(start, start + 100))
        store.checkpoint()
    assert len([n for n in table_files(store) if n.endswith(".arrow")]) == 10
    store.vacuum()
    assert len([n for n in table_files(store) if n.endswith(".arrow")]) == 1
    load(store, range(1000, 1050))
    delete_where(store, lambda ids: pc.less(ids, 10))
    store.vacuum(T, full=True)
    assert [n for n in table_files(store)] == [n for n in table_files(store) if n.endswith(".arrow")]
    assert len(table_files(store)) == 1
    assert sorted(store.begin().scan(T, ["id"]).column("id").to_pylist()) == list(range(10, 1050))


def test_an_old_snapshot_reads_fine_after_its_files_are_gone(store):
    load(store, range(8000))
    store.checkpoint()
    old = store.begin().scan(T)
    old_contents = contents(old)
    delete_where(store, lambda ids: pc.less(ids, 7000))
    store.vacuum(T)
    assert all(name not in table_files(store) for name in ("seg-1.arrow", "seg-2.arrow"))
    assert contents(old) == old_contents
    assert float(pc.sum(pc.list_flatten(old.column("v"))).as_py()) == DIM * sum(range(8000))


def test_scans_running_during_compaction_see_consistent_results(store):
    load(store, range(16_000))
    store.checkpoint()
    delete_where(store, lambda ids: pc.equal(pc.bit_wise_and(ids, 1), 1))
    expected = contents(store.begin().scan(T))
    results, errors = [], []
    done = threading.Event()

    def scanner() -> None:
        try:
            while not done.is_set():
                results.append(contents(store.begin().scan(T)))
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=scanner)
    thread.start()
    store.vacuum(T)
    done.set()
    thread.join()
    assert not errors
    assert results and all(r == expected for r in results)
    assert contents(store.begin().scan(T)) == expected


def test_rows_deleted_while_a_compaction_merges_stay_deleted(tmp_path, store):
    load(store, range(8000))
    store.checkpoint()
    delete_where(store, lambda ids: pc.less(ids, 3000))
    with store.maintenance_lock:
        job = Compaction.prepare(store, T, full=False)
        job.merge()
        delete_where(store, lambda ids: pc.less(ids, 3500))  # lands between merge and install
        job.install()
    assert [s.deleted.count() for s in store.tables[T].sealed] == [500, 0]
    remaining = sorted(store.begin().scan(T, ["id"]).column("id").to_pylist())
    assert remaining == list(range(3500, 8000))
    image = str(tmp_path / "image")
    shutil.copytree(store.path, image, ignore=shutil.ignore_patterns(LOCK))
    recovered = open_store(image, StorageConfig(auto_compact=False))
    try:
        assert sorted(recovered.begin().scan(T, ["id"]).column("id").to_pylist()) == remaining
    finally:
        recovered.close()


def test_segments_an_open_transaction_deletes_in_wait_for_it(store):
    load(store, range(4000))
    store.checkpoint()
    delete_where(store, lambda ids: pc.less(ids, 3000))
    txn = store.begin()
    scanned = txn.scan(T, ["id"])
    txn.delete(T, scanned.column(ROWID).to_numpy()[:1])
    files = table_files(store)
    store.vacuum(T)
    assert table_files(store) == files
    txn.commit()
    store.vacuum(T)
    assert table_files(store) != files
    assert len(store.begin().scan(T)) == 999


def test_background_compaction_runs_by_itself(tmp_path):
    config = StorageConfig(segment_max_rows=1000, wal_flush_interval=0.01)
    store = open_store(tmp_path / "data", config)
    try:
        store.create_table(T, SCHEMA)
        load(store, range(3000))
        store.checkpoint()
        delete_where(store, lambda ids: pc.less(ids, 2500))
        while len(table_files(store)) > 1:
            threading.Event().wait(0.01)
        assert sorted(store.begin().scan(T, ["id"]).column("id").to_pylist()) == list(range(2500, 3000))
    finally:
        store.close()


def test_a_table_can_seal_smaller_segments_which_compaction_keeps(tmp_path):
    """A table given its own segment size (exec does so for tables with a vector index)
    seals at that size, and compaction neither merges those segments nor grows them past it."""
    config = StorageConfig(segment_max_rows=10_000, wal_flush_interval=0.01, auto_compact=False)
    store = open_store(tmp_path / "data", config)
    try:
        store.create_table(T, SCHEMA)
        store.set_segment_rows(T, 1000)
        load(store, range(2500), batch=500)
        store.seal_frozen()
        state = store.tables[T]
        assert [s.segment.num_rows for s in state.sealed] == [1000, 1000]
        assert state.growing.segment.num_rows == 500
        store.vacuum(T)
        assert [s.segment.num_rows for s in store.tables[T].sealed] == [1000, 1000]
        store.set_segment_rows(T, None)
        load(store, range(2500, 4000), batch=500)
        assert store.tables[T].growing.segment.num_rows == 2000
    finally:
        store.close()


def test_preparers_see_the_merged_segments_before_readers_do(store):
    """A compaction hands its new segments to the store's preparers before it installs
    them, without the maintenance lock: a truncate that lands meanwhile wins, the merged
    segment is discarded with its files and the listeners hear of it."""
    load(store, range(8000))
    store.checkpoint()
    delete_where(store, lambda ids: pc.less(ids, 3000))
    old_segments = {s.segment.id for s in store.tables[T].sealed}
    prepared, changed, truncated = [], [], []

    def preparer(table_id, segments):
        assert {s.segment.id for s in store.tables[T].sealed} == old_segments  # not yet visible
        prepared.extend(s.segment_id for s in segments)
        assert min(segments[0].data.column("id").to_pylist()) == 3000  # the deleted rows are gone
        truncate = threading.Thread(target=store.truncate_table, args=(T,))  # takes the maintenance lock
        truncate.start()
        truncate.join(timeout=30)
        truncated.append(not truncate.is_alive())

    store.add_segment_preparer(preparer)
    store.add_segment_listener(changed.extend)
    store.vacuum(T)
    assert prepared and truncated == [True] and changed == [T]
    assert len(store.begin().scan(T)) == 0
    assert not [name for name in table_files(store) if name.startswith(f"seg-{prepared[0]}.")]
