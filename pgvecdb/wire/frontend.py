"""The messages a client sends after startup, decoded from their bodies.

``decode_message`` turns a ``RawMessage`` into one of the dataclasses below, raising the
ProtocolViolation (08P01) PostgreSQL raises for a malformed body, or
CharacterNotInRepertoire (22021) for text that is not UTF-8.
"""

from __future__ import annotations

from dataclasses import dataclass

from pgvecdb.errors import ProtocolViolation
from pgvecdb.wire.protocol import BodyReader, RawMessage


@dataclass(frozen=True)
class Query:
    sql: str


@dataclass(frozen=True)
class Parse:
    statement: str
    sql: str
    param_oids: list[int]


@dataclass(frozen=True)
class Bind:
    portal: str
    statement: str
    param_formats: list[int]
    params: list[bytes | None]
    result_formats: list[int]


@dataclass(frozen=True)
class Describe:
    kind: str  # 'S' statement or 'P' portal
    name: str


@dataclass(frozen=True)
class Execute:
    portal: str
    max_rows: int  # 0: all rows


@dataclass(frozen=True)
class Close:
    kind: str  # 'S' statement or 'P' portal
    name: str


@dataclass(frozen=True)
class Sync:
    pass


@dataclass(frozen=True)
class Flush:
    pass


@dataclass(frozen=True)
class Terminate:
    pass


@dataclass(frozen=True)
class CopyData:
    data: bytes


@dataclass(frozen=True)
class CopyDone:
    pass


@dataclass(frozen=True)
class CopyFail:
    message: str


@dataclass(frozen=True)
class FunctionCall:
    pass


FrontendMessage = (Query | Parse | Bind | Describe | Execute | Close | Sync | Flush | Terminate
                   | CopyData | CopyDone | CopyFail | FunctionCall)

# Messages of the extended query protocol: an error while handling one of them makes the
# server skip everything up to the next Sync.
EXTENDED_KINDS = frozenset(b"PBDECH")


def decode_message(raw: RawMessage) -> FrontendMessage:
    reader = BodyReader(raw.body)
    message = _DECODERS[raw.kind](reader)
    reader.end()
    return message


def _query(r: BodyReader) -> Query:
    return Query(r.cstring())


def _parse(r: BodyReader) -> Parse:
    name = r.cstring()
    sql = r.cstring()
    oids = [r.uint32() for _ in range(r.uint16())]
    return Parse(name, sql, oids)


def _bind(r: BodyReader) -> Bind:
    portal = r.cstring()
    statement = r.cstring()
    param_formats = [r.int16() for _ in range(r.uint16())]
    params = [_bind_value(r) for _ in range(r.uint16())]
    result_formats = [r.int16() for _ in range(r.uint16())]
    return Bind(portal, statement, param_formats, params, result_formats)


def bound_statement(raw: RawMessage) -> str:
    """The prepared statement a Bind names, without decoding its parameters."""
    reader = BodyReader(raw.body)
    reader.cstring()
    return reader.cstring()


def _bind_value(r: BodyReader) -> bytes | None:
    length = r.int32()
    return None if length == -1 else r.bytes(length)


def _describe(r: BodyReader) -> Describe:
    return Describe(*_statement_or_portal(r, "DESCRIBE"))


def _close(r: BodyReader) -> Close:
    return Close(*_statement_or_portal(r, "CLOSE"))


def _statement_or_portal(r: BodyReader, message: str) -> tuple[str, str]:
    """The kind ('S' or 'P') and name that Describe and Close bodies both start with."""
    kind = r.byte()
    if kind not in b"SP":
        raise ProtocolViolation(f"invalid {message} message subtype {kind}")
    return chr(kind), r.cstring()


def _execute(r: BodyReader) -> Execute:
    portal = r.cstring()
    return Execute(portal, max(r.int32(), 0))


def _copy_data(r: BodyReader) -> CopyData:
    return CopyData(r.rest())


def _copy_fail(r: BodyReader) -> CopyFail:
    return CopyFail(r.cstring())


def _function_call(r: BodyReader) -> FunctionCall:
    r.rest()
    return FunctionCall()


_DECODERS = {
    b"Q": _query,
    b"P": _parse,
    b"B": _bind,
    b"D": _describe,
    b"E": _execute,
    b"C": _close,
    b"S": lambda r: Sync(),
    b"H": lambda r: Flush(),
    b"X": lambda r: Terminate(),
    b"d": _copy_data,
    b"c": lambda r: CopyDone(),
    b"f": _copy_fail,
    b"F": _function_call,
}
