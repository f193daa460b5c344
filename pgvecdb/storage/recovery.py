"""Opening a data directory: load the manifest's segments, then replay the WAL.

Replay is idempotent where it overlaps the segments: inserts of rows below a table's
``replay_from`` are skipped (a seal already wrote them), and deletes only set bits. WAL
files older than the manifest's ``wal_start`` are leftovers of an interrupted checkpoint and
are removed; so are segment files no manifest entry names (an interrupted seal or compaction).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pyarrow as pa

from pgvecdb.engine.bitset import Bitset
from pgvecdb.errors import DataCorrupted
from pgvecdb.storage.chunk import open_file
from pgvecdb.storage.layout import DataDirectory
from pgvecdb.storage.logrecords import DELETE, INSERT, SEQUENCE_VALUE, deleted_rowids, inserted_chunk
from pgvecdb.storage.manifest import FORMAT, new_manifest
from pgvecdb.storage.schema import TableMeta
from pgvecdb.storage.segment import Segment, SegmentState
from pgvecdb.storage.table import SealLimits, TableState
from pgvecdb.storage.wal import Part, Record, read_records, wal_file_name, wal_generations


@dataclass
class Recovered:
    manifest: dict
    tables: dict[int, TableState]
    sequences: dict[int, int]
    next_rowid: int
    next_segment_id: int
    next_lsn: int
    wal_generation: int  # the generation to write next
    replay_from: dict[int, int] = field(default_factory=dict)


def recover(directory: DataDirectory, limits: SealLimits) -> Recovered:
    doc = directory.read_manifest() or new_manifest()
    if doc.get("format") != FORMAT:
        raise DataCorrupted(f'data directory "{directory.path}" has manifest format {doc.get("format")!r}; '
                            f"this pgvecdb reads format {FORMAT}")
    tables = {int(t): _open_table(directory, int(t), entry) for t, entry in doc["tables"].items()}
    directory.remove_orphans({t: {s.segment.id for s in state.sealed} for t, state in tables.items()})
    state = Recovered(
        manifest=doc,
        tables=tables,
        sequences={int(k): v for k, v in doc["sequences"].items()},
        next_rowid=doc["next_rowid"],
        next_segment_id=doc["next_segment_id"],
        next_lsn=doc["next_lsn"],
        wal_generation=doc["wal_start"],
        replay_from={int(t): entry["replay_from"] for t, entry in doc["tables"].items()},
    )
    for generation in wal_generations(directory.wal_path):
        path = os.path.join(directory.wal_path, wal_file_name(generation))
        if generation < doc["wal_start"]:
            os.remove(path)
            continue
        for record in read_records(path):
            _replay(state, record, limits)
        state.wal_generation = generation + 1
    return state


def _open_table(directory: DataDirectory, table_id: int, entry: dict) -> TableState:
    meta = TableMeta.from_json(table_id, entry)
    return TableState(meta, tuple(_open_segment(directory, table_id, e) for e in entry["segments"]))


def _open_segment(directory: DataDirectory, table_id: int, entry: dict) -> SegmentState:
    path = directory.segment_file(table_id, entry["id"])
    try:
        chunk = open_file(path)
        rows = chunk.num_rows
        deleted = directory.read_deletes(table_id, entry["id"], rows) if entry["deleted"] else Bitset(rows)
    except (OSError, pa.ArrowException, ValueError) as error:
        raise DataCorrupted(f'could not read segment {entry["id"]} of table {table_id}: {error}') from None
    if rows != entry["rows"]:
        raise DataCorrupted(f'segment file "{path}" holds {rows} rows, the manifest says {entry["rows"]}')
    segment = Segment(entry["id"], (chunk,), sealed=True, path=path, file_bytes=os.path.getsize(path))
    return SegmentState(segment, deleted)


def _replay(state: Recovered, record: Record, limits: SealLimits) -> None:
    state.next_lsn = max(state.next_lsn, record.lsn + 1)
    for part in record.parts:
        if part.kind == INSERT:
            _replay_insert(state, part, limits)
        elif part.kind == DELETE:
            _replay_delete(state, part)
        elif part.kind == SEQUENCE_VALUE:
            state.sequences[part.key] = part.arg


def _replay_insert(state: Recovered, part: Part, limits: SealLimits) -> None:
    chunk = inserted_chunk(part)
    state.next_rowid = max(state.next_rowid, part.arg + chunk.num_rows)
    table = state.tables.get(part.key)
    if table is None:
        return
    skip = min(chunk.num_rows, max(0, state.replay_from[part.key] - part.arg))
    if skip == chunk.num_rows:
        return

    def new_segment_id() -> int:
        state.next_segment_id += 1
        return state.next_segment_id - 1

    state.tables[part.key] = table.with_rows(chunk.slice(skip, chunk.num_rows - skip), new_segment_id, limits)


def _replay_delete(state: Recovered, part: Part) -> None:
    table = state.tables.get(part.key)
    if table is not None:
        state.tables[part.key] = table.with_deleted(table.locate(deleted_rowids(part)))
