"""The WAL's record format: round trips, and torn or corrupt tails ending a file's records."""

from __future__ import annotations

import os

import pytest

from pgvecdb.storage.wal import HEADER_SIZE, PART_HEADER_SIZE, Part, WalWriter, read_records, wal_file_name, wal_generations


def write_records(directory: str, payloads: list[bytes]) -> str:
    writer = WalWriter(directory, 1, next_lsn=10)
    for i, payload in enumerate(payloads):
        writer.append(1, [Part(1, 100 + i, -i, payload), Part(2, 7, 0, b"")])
    writer.close()
    return os.path.join(directory, wal_file_name(1))


def test_records_round_trip(tmp_path):
    payloads = [b"first", b"x" * 100_000, b""]
    path = write_records(str(tmp_path), payloads)
    records = list(read_records(path))
    assert [r.lsn for r in records] == [10, 11, 12]
    assert [bytes(r.parts[0].payload) for r in records] == payloads
    assert [(r.parts[0].key, r.parts[0].arg) for r in records] == [(100, 0), (101, -1), (102, -2)]
    assert [r.parts[1].kind for r in records] == [2, 2, 2]


@pytest.mark.parametrize("cut", [1, 5, 30, 60, 1000])
def test_a_torn_tail_ends_at_the_last_whole_record(tmp_path, cut):
    path = write_records(str(tmp_path), [b"a" * 500, b"b" * 500, b"c" * 2000])
    size = os.path.getsize(path)
    os.truncate(path, size - cut)
    assert [bytes(r.parts[0].payload)[:1] for r in read_records(path)] == [b"a", b"b"]


@pytest.mark.parametrize("where", ["payload", "header", "part header"])
def test_a_corrupt_record_and_what_follows_are_ignored(tmp_path, where):
    path = write_records(str(tmp_path), [b"a" * 500, b"b" * 500, b"c" * 500])
    records = list(read_records(path))
    second_start = HEADER_SIZE + 2 * PART_HEADER_SIZE + 500  # header, two part headers, first payload
    offset = {
        "payload": second_start + HEADER_SIZE + PART_HEADER_SIZE + 10,
        "header": second_start + 12,
        "part header": second_start + HEADER_SIZE + 20,
    }
    with open(path, "r+b") as f:
        f.seek(offset[where])
        byte = f.read(1)
        f.seek(offset[where])
        f.write(bytes([byte[0] ^ 0x55]))
    assert len(records) == 3
    assert [bytes(r.parts[0].payload)[:1] for r in read_records(path)] == [b"a"]


def test_garbage_after_the_records_is_ignored(tmp_path):
    path = write_records(str(tmp_path), [b"a", b"b"])
    with open(path, "ab") as f:
        f.write(os.urandom(333))
    assert len(list(read_records(path))) == 2


def test_rotate_starts_a_new_file_and_old_ones_can_go(tmp_path):
    writer = WalWriter(str(tmp_path), 1, next_lsn=1)
    writer.append(1, [Part(1, 1, 0, b"one")])
    assert writer.rotate() == 2
    writer.append(1, [Part(1, 1, 0, b"two")])
    writer.sync()
    assert wal_generations(str(tmp_path)) == [1, 2]
    writer.remove_before(2)
    writer.close()
    assert wal_generations(str(tmp_path)) == [2]
    [record] = read_records(os.path.join(str(tmp_path), wal_file_name(2)))
    assert (record.lsn, bytes(record.parts[0].payload)) == (2, b"two")


def test_a_failed_append_leaves_no_partial_record(tmp_path):
    writer = WalWriter(str(tmp_path), 1, next_lsn=1)
    writer.append(1, [Part(1, 1, 0, b"kept")])

    class FailingMidway:
        """A payload that writes part of itself, then fails (a full disk, say)."""

        def write_to(self, sink) -> None:
            sink.write(b"x" * 1000)
            raise OSError("No space left on device")

    with pytest.raises(OSError):
        writer.append(1, [Part(1, 1, 0, b"fine"), Part(1, 1, 0, FailingMidway())])
    writer.append(1, [Part(1, 1, 0, b"after")])
    writer.close()
    payloads = [bytes(r.parts[0].payload) for r in read_records(os.path.join(str(tmp_path), wal_file_name(1)))]
    assert payloads == [b"kept", b"after"]


def test_streamed_payloads_are_checksummed_like_bytes(tmp_path):
    class Streamed:
        def write_to(self, sink) -> None:
            for piece in (b"abc", memoryview(b"defg"), b"h" * 10_000_000):
                sink.write(piece)

    writer = WalWriter(str(tmp_path), 1, next_lsn=1)
    writer.append(1, [Part(1, 1, 0, Streamed()), Part(2, 0, 0, b"tail")])
    writer.close()
    [record] = read_records(os.path.join(str(tmp_path), wal_file_name(1)))
    assert bytes(record.parts[0].payload) == b"abcdefg" + b"h" * 10_000_000
    assert bytes(record.parts[1].payload) == b"tail"
