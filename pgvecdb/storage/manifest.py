"""The manifest document: what the data directory durably holds besides the WAL.

::

    {"format": 1,
     "wal_start": 3,            replay WAL files from this generation on
     "next_rowid": ..., "next_segment_id": ..., "next_lsn": ...,
     "sequences": {"<seq oid>": last value (or the bound logged ahead of it)},
     "catalog": {...},          the catalog document (catalog.model.Catalog.to_dict)
     "tables": {"<oid>": {
         "fields": [...], "next_field_id": n, "unique_keys": [[...]],   (schema.TableMeta)
         "replay_from": rowid,  WAL inserts of rows below this are already in segments
         "segments": [{"id": 7, "rows": 1000, "deleted": 3, "first_rowid": .., "last_rowid": ..}]}}}

A segment's rows are in ``tables/<oid>/seg-<id>.arrow``; when ``deleted`` > 0 its delete
bitmap is in ``seg-<id>.del``. The document is rewritten whole and replaced atomically.
"""

from __future__ import annotations

from pgvecdb.storage.schema import TableMeta
from pgvecdb.storage.segment import SegmentState

FORMAT = 1


def new_manifest() -> dict:
    return {
        "format": FORMAT,
        "wal_start": 1,
        "next_rowid": 1,
        "next_segment_id": 1,
        "next_lsn": 1,
        "sequences": {},
        "catalog": None,
        "tables": {},
    }


def table_entry(meta: TableMeta, replay_from: int) -> dict:
    return {**meta.to_json(), "replay_from": replay_from, "segments": []}


def segment_entry(state: SegmentState, deleted: int) -> dict:
    segment = state.segment
    return {
        "id": segment.id,
        "rows": segment.num_rows,
        "deleted": deleted,
        "first_rowid": segment.first_rowid,
        "last_rowid": segment.last_rowid,
    }


def segment_entries(doc: dict, table_id: int) -> list[dict]:
    return doc["tables"][str(table_id)]["segments"]
