"""The data directory: where each file lives, the process lock, the manifest file.

::

    pgvecdb-data/
      pgvecdb.lock                 held (flock) by the process that has the directory open
      manifest.json                segments of every table, catalog, sequences (atomic replace)
      wal/00000001.wal ...         write-ahead log since the last checkpoint
      tables/<oid>/seg-<n>.arrow   a sealed segment: one Arrow IPC file, memory-mapped
      tables/<oid>/seg-<n>.del     its delete bitmap (packed bits, a set bit = deleted row)

Other files of a segment (vector indexes) are named ``seg-<n>.<something>`` beside it and
live and die with it.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil

from pgvecdb.engine.bitset import Bitset
from pgvecdb.errors import ObjectInUse
from pgvecdb.storage.files import fsync_directory, remove_if_exists, replace_atomically

MANIFEST = "manifest.json"
LOCK = "pgvecdb.lock"
_SEGMENT_FILE = re.compile(r"^seg-(\d+)\.")


class DataDirectory:
    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self.wal_path = os.path.join(self.path, "wal")
        self.tables_path = os.path.join(self.path, "tables")
        self._lock_fd: int | None = None

    def open(self) -> None:
        """Create the directory if needed and take its lock (``ObjectInUse`` if held)."""
        for directory in (self.path, self.wal_path, self.tables_path):
            os.makedirs(directory, exist_ok=True)
        self._lock()

    def _lock(self) -> None:
        fd = os.open(os.path.join(self.path, LOCK), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
            os.close(fd)
            raise ObjectInUse(
                f'data directory "{self.path}" is in use by another process',
                detail=f"The lock file {LOCK} is held by process {holder or 'unknown'}.",
                hint="Stop the other pgvecdb server or program, or open another directory.",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    # manifest -------------------------------------------------------------------------
    def read_manifest(self) -> dict | None:
        try:
            with open(os.path.join(self.path, MANIFEST), "rb") as f:
                return json.load(f)
        except FileNotFoundError:
            return None

    def write_manifest(self, doc: dict) -> None:
        data = json.dumps(doc, indent=1, sort_keys=True).encode()
        replace_atomically(os.path.join(self.path, MANIFEST), data)

    # tables and segments ----------------------------------------------------------------
    def table_path(self, table_id: int) -> str:
        return os.path.join(self.tables_path, str(table_id))

    def ensure_table(self, table_id: int) -> str:
        path = self.table_path(table_id)
        if not os.path.isdir(path):
            os.makedirs(path)
            fsync_directory(self.tables_path)
        return path

    def segment_file(self, table_id: int, segment_id: int, suffix: str = "arrow") -> str:
        return os.path.join(self.table_path(table_id), f"seg-{segment_id}.{suffix}")

    def write_deletes(self, table_id: int, segment_id: int, deleted: Bitset) -> int:
        path = self.segment_file(table_id, segment_id, "del")
        replace_atomically(path, deleted.to_bytes())
        return os.path.getsize(path)

    def read_deletes(self, table_id: int, segment_id: int, num_rows: int) -> Bitset:
        with open(self.segment_file(table_id, segment_id, "del"), "rb") as f:
            return Bitset.from_bytes(num_rows, f.read())

    def remove_segment(self, table_id: int, segment_id: int) -> None:
        """Remove every file of the segment (data, deletes, indexes)."""
        directory = self.table_path(table_id)
        prefix = f"seg-{segment_id}."
        for name in _listdir(directory):
            if name.startswith(prefix):
                remove_if_exists(os.path.join(directory, name))

    def has_table(self, table_id: int) -> bool:
        return os.path.isdir(self.table_path(table_id))

    def remove_segment_files(self, table_id: int, suffix: str) -> None:
        directory = self.table_path(table_id)
        for name in _listdir(directory):
            if name.startswith("seg-") and name.endswith(f".{suffix}"):
                remove_if_exists(os.path.join(directory, name))

    def remove_table(self, table_id: int) -> None:
        shutil.rmtree(self.table_path(table_id), ignore_errors=True)

    def remove_orphans(self, live: dict[int, set[int]]) -> None:
        """Remove what no manifest entry names: tables dropped and segments written by
        a seal or compaction that a crash interrupted (``live``: table id -> segment ids)."""
        for name in _listdir(self.tables_path):
            if not name.isdigit():
                continue
            table_id = int(name)
            if table_id not in live:
                self.remove_table(table_id)
                continue
            directory = self.table_path(table_id)
            for file_name in _listdir(directory):
                match = _SEGMENT_FILE.match(file_name)
                if file_name.endswith(".tmp") or (match and int(match.group(1)) not in live[table_id]):
                    remove_if_exists(os.path.join(directory, file_name))

    def file_size(self, path: str) -> int:
        try:
            return os.path.getsize(path)
        except FileNotFoundError:
            return 0


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except FileNotFoundError:
        return []
