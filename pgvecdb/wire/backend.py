"""Encoders for the messages the server sends, each returning the complete frame."""

from __future__ import annotations

import struct
from typing import Iterable, Sequence

from pgvecdb.errors import Notice, PgError

_INT32 = struct.Struct("!i")
_INT16 = struct.Struct("!h")
_FIELD = struct.Struct("!IhIhih")  # RowDescription field after its name


def message(kind: bytes, body: bytes = b"") -> bytes:
    return kind + _INT32.pack(len(body) + 4) + body


def _cstr(text: str) -> bytes:
    return text.replace("\x00", "").encode("utf-8") + b"\x00"


AUTHENTICATION_OK = message(b"R", _INT32.pack(0))
PARSE_COMPLETE = message(b"1")
BIND_COMPLETE = message(b"2")
CLOSE_COMPLETE = message(b"3")
NO_DATA = message(b"n")
PORTAL_SUSPENDED = message(b"s")
EMPTY_QUERY_RESPONSE = message(b"I")
COPY_DONE = message(b"c")


def parameter_status(name: str, value: str) -> bytes:
    return message(b"S", _cstr(name) + _cstr(value))


def backend_key_data(process_id: int, secret_key: int) -> bytes:
    return message(b"K", struct.pack("!II", process_id, secret_key))


def ready_for_query(status: str) -> bytes:
    return message(b"Z", status.encode("ascii"))


def negotiate_protocol_version(newest_minor: int, unsupported_options: Sequence[str]) -> bytes:
    body = _INT32.pack(newest_minor) + _INT32.pack(len(unsupported_options))
    return message(b"v", body + b"".join(_cstr(o) for o in unsupported_options))


def command_complete(tag: str) -> bytes:
    return message(b"C", _cstr(tag))


def parameter_description(type_oids: Sequence[int]) -> bytes:
    body = _INT16.pack(len(type_oids)) + b"".join(struct.pack("!I", oid) for oid in type_oids)
    return message(b"t", body)


def row_description(fields: Iterable[tuple[str, int, int, int, int, int, int]]) -> bytes:
    """Fields are (name, table_oid, attnum, type_oid, typlen, typmod, format)."""
    parts = []
    for name, table_oid, attnum, type_oid, typlen, typmod, fmt in fields:
        parts.append(_cstr(name) + _FIELD.pack(table_oid, attnum, type_oid, typlen, typmod, fmt))
    return message(b"T", _INT16.pack(len(parts)) + b"".join(parts))


def copy_response(kind: bytes, binary: bool, column_count: int) -> bytes:
    """CopyInResponse (``G``) or CopyOutResponse (``H``): one format for every column."""
    fmt = 1 if binary else 0
    body = bytes([fmt]) + _INT16.pack(column_count) + _INT16.pack(fmt) * column_count
    return message(kind, body)


def copy_data(data: bytes) -> bytes:
    return message(b"d", data)


def error_response(error: PgError) -> bytes:
    return message(b"E", _fields(error.severity, error.sqlstate, error.message, error.detail,
                                 error.hint, error.position))


def notice_response(notice: Notice) -> bytes:
    return message(b"N", _fields(notice.severity, notice.sqlstate, notice.message,
                                 notice.detail, notice.hint, None))


def _fields(severity: str, sqlstate: str, text: str, detail: str | None, hint: str | None,
            position: int | None) -> bytes:
    parts = [b"S" + _cstr(severity), b"V" + _cstr(severity), b"C" + _cstr(sqlstate),
             b"M" + _cstr(text)]
    if detail:
        parts.append(b"D" + _cstr(detail))
    if hint:
        parts.append(b"H" + _cstr(hint))
    if position is not None:
        parts.append(b"P" + _cstr(str(position)))
    return b"".join(parts) + b"\x00"
