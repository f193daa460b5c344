"""The store's background thread: deferred fsyncs, seals, checkpoints, compaction.

It wakes every ``wal_flush_interval`` seconds, or when a commit froze a full segment, and
does in turn what is due: fsync the WAL if deferred commits (``synchronous_commit = off``)
appended to it, write frozen segments, checkpoint when the WAL outgrew
``checkpoint_wal_bytes``, and compact tables the policy picks. A failure is logged and
retried at the next wake; it never reaches a client's statement.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from pgvecdb.storage import compaction

if TYPE_CHECKING:
    from pgvecdb.storage.store import SegmentStore

log = logging.getLogger(__name__)


class Maintenance:
    def __init__(self, store: "SegmentStore") -> None:
        self._store = store
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pgvecdb-storage", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self._store.config.wal_flush_interval)
            self._wake.clear()
            if self._stopping.is_set():
                break
            try:
                self.run_once()
            except Exception:
                log.exception("storage maintenance failed; retrying at the next wake")

    def run_once(self) -> None:
        store = self._store
        store.flush()
        store.seal_frozen()
        if store.wal is not None and store.wal.bytes_written > store.config.checkpoint_wal_bytes:
            store.checkpoint()
        if store.config.auto_compact:
            due = [t for t, state in store.tables.items()
                   if compaction.needs_compaction(state, store.config, store.segment_rows(t))]
            if due:
                compaction.compact(store, due, full=False)
