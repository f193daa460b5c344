"""The write-ahead log: numbered files of checksummed records.

A record is a header followed by parts::

    header  <4s magic "PVWL"> <u8 type> <3 pad> <u32 part count> <u64 lsn> <u32 crc>  (24 bytes)
    part    <u8 kind> <7 pad> <i64 key> <i64 arg> <u64 length> <u32 crc of payload> <4 pad>
            (40 bytes)
            then ``length`` payload bytes

The header crc covers the header (with the crc field zero) and every part header, so a
record is valid only when all of it arrived: a torn or corrupt tail ends a file's valid
records, and recovery goes on with the next file (written after that crash).

A payload is bytes, or a ``Payload`` that writes itself to a sink: an Arrow stream goes from
its buffers to the file with no copy in between, checksummed on the way. The headers, which
hold the lengths and checksums, are written in place after the payloads, the record header
last, so a record whose writing was interrupted has no valid header.

``lsn`` numbers records across files (recovery and diagnostics read it; which inserts a
sealed segment already holds is told by row ids, see ``storage.recovery``).
"""

from __future__ import annotations

import mmap
import os
import re
import struct
import threading
import zlib
from dataclasses import dataclass
from typing import Iterator, Protocol, Union

from pgvecdb.storage.files import fsync_directory, start_writeback

MAGIC = b"PVWL"
_HEADER = struct.Struct("<4sB3xIQI")
_PART = struct.Struct("<B7xqqQI4x")
WRITEBACK_SLICE = 4 * 1024 * 1024
HEADER_SIZE = _HEADER.size
PART_HEADER_SIZE = _PART.size
_FILE_NAME = re.compile(r"^(\d{8})\.wal$")


class PayloadSink(Protocol):
    def write(self, data: bytes | memoryview) -> int: ...


class Payload(Protocol):
    """A payload that writes its bytes itself (``write_to`` calls ``sink.write``)."""

    def write_to(self, sink: PayloadSink) -> None: ...


@dataclass(frozen=True)
class Part:
    """One piece of a record: ``kind`` says what it is, ``key``/``arg`` are its numbers."""

    kind: int
    key: int
    arg: int
    payload: Union[bytes, memoryview, Payload] = b""


@dataclass(frozen=True)
class Record:
    type: int
    lsn: int
    parts: list[Part]


def wal_file_name(generation: int) -> str:
    return f"{generation:08d}.wal"


def wal_generations(directory: str) -> list[int]:
    """The generations of the WAL files in ``directory``, ascending."""
    found = (_FILE_NAME.match(name) for name in os.listdir(directory))
    return sorted(int(m.group(1)) for m in found if m)


def record_header(record_type: int, lsn: int, part_headers: list[bytes]) -> bytes:
    """The record header, its crc covering itself and ``part_headers``."""
    crc = zlib.crc32(_HEADER.pack(MAGIC, record_type, len(part_headers), lsn, 0))
    for header in part_headers:
        crc = zlib.crc32(header, crc)
    return _HEADER.pack(MAGIC, record_type, len(part_headers), lsn, crc)


def read_records(path: str) -> Iterator[Record]:
    """The valid records of one WAL file, stopping at the first torn or corrupt one.

    Payloads are views of a memory map of the file, which stays mapped while they live.
    """
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return
        view = memoryview(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ))
    offset = 0
    while True:
        record, offset = _read_record(view, offset, size)
        if record is None:
            return
        yield record


def _read_record(view: memoryview, offset: int, size: int) -> tuple[Record | None, int]:
    if offset + _HEADER.size > size:
        return None, offset
    magic, record_type, count, lsn, crc = _HEADER.unpack_from(view, offset)
    if magic != MAGIC:
        return None, offset
    expected = zlib.crc32(_HEADER.pack(MAGIC, record_type, count, lsn, 0))
    position = offset + _HEADER.size
    headers = []
    for _ in range(count):
        if position + _PART.size > size:
            return None, offset
        expected = zlib.crc32(view[position:position + _PART.size], expected)
        kind, key, arg, length, part_crc = _PART.unpack_from(view, position)
        position += _PART.size
        if position + length > size:
            return None, offset
        headers.append((kind, key, arg, position, length, part_crc))
        position += length
    if expected != crc:
        return None, offset
    parts = []
    for kind, key, arg, start, length, part_crc in headers:
        payload = view[start:start + length]
        if zlib.crc32(payload) != part_crc:
            return None, offset
        parts.append(Part(kind, key, arg, payload))
    return Record(record_type, lsn, parts), position


class WalWriter:
    """Appends records to the current WAL file; ``sync`` makes them durable.

    ``append`` is called by one thread at a time (the store's commit lock); ``sync`` may be
    called by any thread and one fsync covers every record appended before it (group commit).
    """

    def __init__(self, directory: str, generation: int, next_lsn: int) -> None:
        self.directory = directory
        self.generation = generation
        self.next_lsn = next_lsn
        self._fd = self._open(generation)
        self._appended_lsn = next_lsn - 1
        self._synced_lsn = next_lsn - 1
        self._bytes = 0
        self._sync_lock = threading.Lock()

    def _open(self, generation: int) -> int:
        path = os.path.join(self.directory, wal_file_name(generation))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        self._offset = os.lseek(fd, 0, os.SEEK_END)
        fsync_directory(self.directory)
        return fd

    @property
    def bytes_written(self) -> int:
        """Bytes appended since this writer or the last ``rotate``."""
        return self._bytes

    @property
    def unsynced(self) -> bool:
        return self._synced_lsn < self._appended_lsn

    def append(self, record_type: int, parts: list[Part]) -> int:
        """Write one record (not yet durable) and return its lsn."""
        lsn = self.next_lsn
        start = self._offset
        try:
            end, part_headers = self._write_parts(parts, start + HEADER_SIZE)
            os.pwrite(self._fd, record_header(record_type, lsn, part_headers), start)
        except BaseException:
            os.ftruncate(self._fd, start)  # never leave half a record for the next to follow
            raise
        self._offset = end
        self._bytes += end - start
        self.next_lsn = lsn + 1
        self._appended_lsn = lsn
        return lsn

    def _write_parts(self, parts: list[Part], offset: int) -> tuple[int, list[bytes]]:
        headers = []
        for part in parts:
            sink = _Sink(self._fd, offset + PART_HEADER_SIZE)
            if isinstance(part.payload, (bytes, bytearray, memoryview)):
                sink.write(part.payload)
            else:
                part.payload.write_to(sink)
            header = _PART.pack(part.kind, part.key, part.arg, sink.length, sink.crc)
            os.pwrite(self._fd, header, offset)
            headers.append(header)
            offset = sink.offset
        return offset, headers

    def sync(self, upto_lsn: int | None = None) -> None:
        """Make every record up to ``upto_lsn`` (default: all appended) durable."""
        target = self._appended_lsn if upto_lsn is None else upto_lsn
        if self._synced_lsn >= target:
            return
        with self._sync_lock:
            if self._synced_lsn >= target:
                return
            appended = self._appended_lsn
            os.fdatasync(self._fd)
            self._synced_lsn = max(self._synced_lsn, appended)

    def rotate(self) -> int:
        """Sync and close the current file, start the next generation; return it."""
        with self._sync_lock:
            os.fdatasync(self._fd)
            self._synced_lsn = self._appended_lsn
            old = self._fd
            self.generation += 1
            self._fd = self._open(self.generation)
            self._bytes = 0
            os.close(old)
        return self.generation

    def remove_before(self, generation: int) -> None:
        """Delete the WAL files older than ``generation`` (their records are checkpointed)."""
        for old in wal_generations(self.directory):
            if old < generation:
                os.remove(os.path.join(self.directory, wal_file_name(old)))

    def close(self) -> None:
        self.sync()
        os.close(self._fd)


class _Sink:
    """Writes a payload at ``offset`` on, keeping its length and crc32.

    Big payloads go in slices, each handed to the disk at once (``start_writeback``), so the
    disk works while the rest is written and the commit's fsync has little left to do.
    """

    closed = False

    def __init__(self, fd: int, offset: int) -> None:
        self.fd = fd
        self.offset = offset
        self.length = 0
        self.crc = 0

    def write(self, data: bytes | memoryview) -> int:
        view = memoryview(data).cast("B")
        total = len(view)
        self.crc = zlib.crc32(view, self.crc)
        while view:
            written = os.pwrite(self.fd, view[:WRITEBACK_SLICE], self.offset)
            if written >= WRITEBACK_SLICE // 2:
                start_writeback(self.fd, self.offset, written)
            self.offset += written
            view = view[written:]
        self.length += total
        return total

    def flush(self) -> None:
        pass
