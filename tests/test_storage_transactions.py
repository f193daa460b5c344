"""Transactions of the segment store: visibility, rollback, savepoints, unique keys, conflicts."""

from __future__ import annotations

import threading

import numpy as np
import pyarrow as pa
import pytest

from pgvecdb.errors import InvalidSavepointSpecification, SerializationFailure
from pgvecdb.storage.api import ROWID, StorageConfig, UniqueConflict, open_store

T = 16384
U = 16385
SCHEMA = pa.schema([("id", pa.int64()), ("tag", pa.string()), ("v", pa.list_(pa.float32(), 2))])


def rows(ids, tag: str = "x") -> pa.Table:
    ids = list(ids)
    vectors = pa.array([[float(i), 0.0] for i in ids], pa.list_(pa.float32(), 2))
    return pa.table({"id": pa.array(ids, pa.int64()), "tag": [tag] * len(ids), "v": vectors})


def ids(txn, table: int = T) -> list:
    return sorted(txn.scan(table, ["id"]).column("id").to_pylist(), key=lambda v: (v is None, v))


def rowid_of(txn, key: int, table: int = T) -> int:
    scanned = txn.scan(table, ["id"])
    return scanned.column(ROWID).to_pylist()[scanned.column("id").to_pylist().index(key)]


@pytest.fixture(params=["directory", "memory"])
def store(request, tmp_path):
    path = tmp_path / "data" if request.param == "directory" else None
    s = open_store(path, StorageConfig(auto_compact=False))
    s.create_table(T, SCHEMA)
    s.create_table(U, SCHEMA)
    s.set_unique_keys(T, [["id"]])
    yield s
    s.close()


def committed(store, table: int, keys) -> None:
    txn = store.begin()
    txn.insert(table, rows(keys))
    txn.commit()


def test_writes_are_private_until_commit_then_visible_to_the_next_scan(store):
    writer, reader = store.begin(), store.begin()
    provisional = writer.insert(T, rows([1, 2]))
    assert (provisional < 0).all()
    assert ids(writer) == [1, 2]
    assert ids(reader) == []
    writer.commit()
    assert ids(reader) == [1, 2]
    assert (reader.scan(T).column(ROWID).to_numpy() > 0).all()


def test_a_commit_over_two_tables_is_seen_whole_and_a_statement_keeps_its_snapshot(store):
    reader = store.begin()
    writer = store.begin()
    writer.insert(T, rows([1]))
    writer.insert(U, rows([1]))
    with reader.statement():
        before = ids(reader, T)
        writer.commit()
        assert (before, ids(reader, U)) == ([], [])
    assert (ids(reader, T), ids(reader, U)) == ([1], [1])


def test_rollback_discards_inserts_and_deletes(store):
    committed(store, T, [1, 2, 3])
    txn = store.begin()
    txn.insert(T, rows([4]))
    assert txn.delete(T, np.array([rowid_of(txn, 1)])) == 1
    assert ids(txn) == [2, 3, 4]
    txn.rollback()
    assert ids(store.begin()) == [1, 2, 3]
    other = store.begin()
    other.insert(T, rows([4]))  # the rolled back key is free again
    other.commit()


def test_own_rows_can_be_deleted_and_updated_before_commit(store):
    txn = store.begin()
    new = txn.insert(T, rows([1, 2, 3]))
    assert txn.delete(T, new[:1]) == 1
    assert txn.delete(T, new[:1]) == 0
    [replacement] = txn.update(T, new[1:2], rows([20]))
    assert replacement < 0
    assert ids(txn) == [3, 20]
    txn.insert(T, rows([1]))  # key 1 was freed by the delete
    txn.commit()
    assert ids(store.begin()) == [1, 3, 20]


def test_savepoints_roll_back_writes_and_key_reservations(store):
    committed(store, T, [1])
    txn = store.begin()
    txn.insert(T, rows([2]))
    txn.savepoint("a")
    txn.insert(T, rows([3]))
    txn.delete(T, np.array([rowid_of(txn, 1)]))
    txn.savepoint("b")
    txn.insert(T, rows([4]))
    txn.release("b")
    with pytest.raises(InvalidSavepointSpecification):
        txn.rollback_to("b")
    txn.rollback_to("a")
    assert ids(txn) == [1, 2]
    other = store.begin()
    other.insert(T, rows([3, 4]))  # released by the rollback to "a"
    other.commit()
    txn.rollback_to("a")  # a savepoint survives ROLLBACK TO
    txn.commit()
    assert ids(store.begin()) == [1, 2, 3, 4]


def test_unique_keys_conflict_with_committed_own_and_open_rows(store):
    committed(store, T, [1])
    txn = store.begin()
    with pytest.raises(UniqueConflict) as conflict:
        txn.insert(T, rows([1]))
    assert (conflict.value.key_index, conflict.value.key_values) == (0, (1,))
    assert conflict.value.rowid == rowid_of(txn, 1)
    with pytest.raises(UniqueConflict):
        txn.insert(T, rows([5, 6, 5]))
    txn.insert(T, rows([2]))
    with pytest.raises(UniqueConflict):
        txn.insert(T, rows([2]))
    other = store.begin()
    with pytest.raises(UniqueConflict) as held:
        other.insert(T, rows([2]))  # held by txn, uncommitted: no waiting
    assert held.value.rowid == -1
    assert ids(txn) == [1, 2]  # failed statements left nothing behind
    txn.rollback()
    other.insert(T, rows([2]))
    other.commit()


def test_delete_then_insert_of_the_same_key_and_null_keys(store):
    committed(store, T, [1])
    txn = store.begin()
    txn.update(T, np.array([rowid_of(txn, 1)]), rows([1], tag="new"))
    txn.insert(T, pa.table({"id": pa.array([None, None], pa.int64()), "tag": ["n", "n"]}))
    txn.commit()
    table = store.begin().scan(T, ["id", "tag"])
    assert sorted(table.drop_columns([ROWID]).to_pylist(), key=str) == sorted(
        [{"id": 1, "tag": "new"}, {"id": None, "tag": "n"}, {"id": None, "tag": "n"}], key=str)


def test_multi_column_keys(store):
    store.set_unique_keys(U, [["id", "tag"]])
    txn = store.begin()
    txn.insert(U, rows([1], tag="a"))
    txn.insert(U, rows([1], tag="b"))
    with pytest.raises(UniqueConflict) as conflict:
        txn.insert(U, rows([1], tag="a"))
    assert conflict.value.key_values == (1, "a")
    txn.commit()
    assert store.begin().lookup(U, 0, [(1, "b"), (2, "b")])[1] is None


def test_set_unique_keys_refuses_existing_duplicates(store):
    committed(store, U, [1, 1])
    with pytest.raises(UniqueConflict):
        store.set_unique_keys(U, [["id"]])


def test_lookup_sees_committed_own_and_not_deleted_rows(store):
    committed(store, T, [1, 2])
    txn = store.begin()
    mine = txn.insert(T, rows([3]))
    txn.delete(T, np.array([rowid_of(txn, 2)]))
    found = txn.lookup(T, 0, [(1,), (2,), (3,), (4,)])
    assert found == [rowid_of(txn, 1), None, int(mine[0]), None]


def test_concurrent_deletes_of_one_row(store):
    committed(store, T, [1, 2])
    first, second = store.begin(), store.begin()
    target = np.array([rowid_of(first, 1)])
    assert first.delete(T, target) == 1
    with pytest.raises(SerializationFailure):
        second.delete(T, target)
    with pytest.raises(SerializationFailure):
        second.update(T, target, rows([10]))
    first.commit()
    assert second.delete(T, target) == 0  # already gone: skipped, as READ COMMITTED does
    assert len(second.update(T, target, rows([10]))) == 0
    second.commit()
    assert ids(store.begin()) == [2]


def test_concurrent_writers_never_corrupt_a_table(store):
    """Eight threads commit batches of ten rows while readers check every scan is whole."""
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer(worker: int) -> None:
        try:
            for batch in range(25):
                txn = store.begin()
                base = worker * 10_000 + batch * 10
                txn.insert(T, rows(range(base, base + 10)))
                if batch % 5 == 4:
                    scanned = txn.scan(T, ["id"])
                    mine = np.isin(scanned.column("id").to_numpy(), np.arange(base - 10, base))
                    txn.delete(T, scanned.column(ROWID).to_numpy()[mine])
                    txn.insert(T, rows(range(base - 10, base)))
                txn.commit()
        except BaseException as error:
            errors.append(error)

    def reader() -> None:
        try:
            while not stop.is_set():
                keys = store.begin().scan(T, ["id"]).column("id").to_numpy()
                assert len(keys) % 10 == 0 and len(np.unique(keys)) == len(keys)
        except BaseException as error:
            errors.append(error)

    readers = [threading.Thread(target=reader) for _ in range(2)]
    writers = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in readers:
        thread.join()
    assert not errors, errors
    expected = sorted(w * 10_000 + i for w in range(8) for i in range(250))
    assert ids(store.begin()) == expected


def test_scans_follow_schema_changes_of_a_table_scanned_before(store):
    """Chunks keep the projections scans ask for: a rename or a new column still shows."""
    committed(store, T, [1, 2])
    store.checkpoint()
    for _ in range(2):
        assert store.begin().scan(T, ["id", "tag"]).column_names == ["id", "tag", ROWID]
    store.rename_column(T, "tag", "label")
    store.add_column(T, pa.field("score", pa.float64()), pa.scalar(1.5))
    for _ in range(2):
        scanned = store.begin().scan(T)
        assert scanned.column_names == ["id", "label", "v", "score", ROWID]
        assert scanned.column("label").to_pylist() == ["x", "x"]
        assert scanned.column("score").to_pylist() == [1.5, 1.5]
    store.rename_column(T, "label", "tag")
    assert store.begin().scan(T, ["tag"]).column("tag").to_pylist() == ["x", "x"]
