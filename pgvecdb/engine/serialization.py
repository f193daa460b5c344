"""The byte layout of a serialized index: a self-describing envelope around named sections.

    magic "PGVX" | u16 format version | u32 header length | header (JSON, UTF-8) | sections

The header names the index (type, metric, dimensions, build parameters, row count) and
lists the sections in order with their lengths and CRC-32s, so ``load_index`` can recreate
the index from the bytes alone and damaged bytes are reported rather than loaded. Sections
are opaque here (a faiss index, a packed bitset...).
"""

from __future__ import annotations

import json
import struct
import zlib

from pgvecdb.errors import DataCorrupted

MAGIC = b"PGVX"
FORMAT_VERSION = 1
_PREFIX = struct.Struct("<4sHI")


def pack(header: dict, sections: dict[str, bytes]) -> bytes:
    header = dict(header, sections=[[name, len(body), zlib.crc32(body)] for name, body in sections.items()])
    encoded = json.dumps(header, separators=(",", ":")).encode()
    return b"".join([_PREFIX.pack(MAGIC, FORMAT_VERSION, len(encoded)), encoded, *sections.values()])


def unpack(data: bytes | memoryview) -> tuple[dict, dict[str, memoryview]]:
    """The header and the sections (views into ``data``) of a serialized index."""
    view = memoryview(data)
    if len(view) < _PREFIX.size:
        raise DataCorrupted("vector index data is truncated")
    magic, version, header_length = _PREFIX.unpack_from(view)
    if magic != MAGIC:
        raise DataCorrupted("not vector index data")
    if version != FORMAT_VERSION:
        raise DataCorrupted(f"vector index data has format version {version}, expected {FORMAT_VERSION}")
    offset = _PREFIX.size + header_length
    try:
        header = json.loads(bytes(view[_PREFIX.size:offset]))
        listed = [(str(name), int(length), int(crc)) for name, length, crc in header.pop("sections")]
    except (ValueError, KeyError, TypeError) as exc:
        raise DataCorrupted(f"vector index header is unreadable: {exc}") from None
    sections = {}
    for name, length, crc in listed:
        sections[name] = view[offset:offset + length]
        offset += length
        if len(sections[name]) == length and zlib.crc32(sections[name]) != crc:
            raise DataCorrupted(f"vector index section {name!r} is damaged (checksum mismatch)")
    if offset != len(view):
        raise DataCorrupted(f"vector index data holds {len(view)} bytes, its header describes {offset}")
    return header, sections
