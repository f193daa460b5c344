"""Framing of the PostgreSQL v3 byte stream, and reading the fields of one message body.

A connection starts with *startup packets* (a 4-byte length, then the payload: no type
byte) and, once a StartupMessage has been read, carries *typed messages* (a type byte, a
4-byte length that counts itself, then the body). ``MessageReader`` cuts either kind out
of the bytes as they arrive, and checks each length as soon as its header is in, so that a
client announcing a 2 GiB message is refused before anything is buffered.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from pgvecdb.errors import CharacterNotInRepertoire, PgError, ProtocolViolation

PROTOCOL_3_0 = 3 << 16
SSL_REQUEST_CODE = 80877103
GSSENC_REQUEST_CODE = 80877104
CANCEL_REQUEST_CODE = 80877102

MAX_STARTUP_PACKET_LENGTH = 10_000
SMALL_MESSAGE_LIMIT = 10_000  # PostgreSQL's PQ_SMALL_MESSAGE_LIMIT
LARGE_MESSAGE_LIMIT = (1 << 30) - 1  # PQ_LARGE_MESSAGE_LIMIT: just under 1 GiB

# Frontend message types (after startup) and the largest body PostgreSQL accepts for each.
MESSAGE_LIMITS: dict[bytes, int] = {
    b"Q": LARGE_MESSAGE_LIMIT,  # Query
    b"P": LARGE_MESSAGE_LIMIT,  # Parse
    b"B": LARGE_MESSAGE_LIMIT,  # Bind
    b"F": LARGE_MESSAGE_LIMIT,  # FunctionCall
    b"d": LARGE_MESSAGE_LIMIT,  # CopyData
    b"c": LARGE_MESSAGE_LIMIT,  # CopyDone
    b"f": LARGE_MESSAGE_LIMIT,  # CopyFail
    b"D": SMALL_MESSAGE_LIMIT,  # Describe
    b"E": SMALL_MESSAGE_LIMIT,  # Execute
    b"C": SMALL_MESSAGE_LIMIT,  # Close
    b"S": SMALL_MESSAGE_LIMIT,  # Sync
    b"H": SMALL_MESSAGE_LIMIT,  # Flush
    b"X": SMALL_MESSAGE_LIMIT,  # Terminate
}

_INT32 = struct.Struct("!i")
_INT16 = struct.Struct("!h")


class FatalProtocolError(ProtocolViolation):
    """A framing error after which the byte stream cannot be trusted: the connection ends."""

    severity = "FATAL"


@dataclass(frozen=True)
class RawMessage:
    """One frame: ``kind`` is the type byte, or ``b""`` for a startup packet."""

    kind: bytes
    body: bytes


class MessageReader:
    """Cuts frames out of the incoming bytes; ``expect_typed()`` ends the startup phase."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._pos = 0  # start of the first frame not yet returned
        self._typed = False

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as a message."""
        return len(self._buffer) - self._pos

    def expect_typed(self) -> None:
        self._typed = True

    def feed(self, data: bytes) -> None:
        if self._pos:  # drop the frames already returned, once per feed rather than per frame
            del self._buffer[:self._pos]
            self._pos = 0
        self._buffer += data

    def next_message(self) -> RawMessage | None:
        """The next complete frame, or None until more bytes arrive.

        Raises ``FatalProtocolError`` for an impossible length or an unknown type.
        """
        if self._typed:
            return self._next_typed()
        return self._next_startup()

    def _next_startup(self) -> RawMessage | None:
        if self.buffered < 4:
            return None
        (length,) = _INT32.unpack_from(self._buffer, self._pos)
        if length < 8 or length > MAX_STARTUP_PACKET_LENGTH:
            raise FatalProtocolError("invalid length of startup packet")
        return self._cut(4, length - 4, b"")

    def _next_typed(self) -> RawMessage | None:
        if not self.buffered:
            return None
        kind = bytes(self._buffer[self._pos:self._pos + 1])
        limit = MESSAGE_LIMITS.get(kind)
        if limit is None:
            raise FatalProtocolError(f"invalid frontend message type {kind[0]}")
        if self.buffered < 5:
            return None
        (length,) = _INT32.unpack_from(self._buffer, self._pos + 1)
        if length < 4 or length - 4 > limit:
            raise FatalProtocolError("invalid message length")
        return self._cut(5, length - 4, kind)

    def _cut(self, header_length: int, body_length: int, kind: bytes) -> RawMessage | None:
        start = self._pos + header_length
        end = start + body_length
        if len(self._buffer) < end:
            return None
        body = bytes(self._buffer[start:end])
        self._pos = end
        return RawMessage(kind, body)


class BodyReader:
    """Reads the fields of one message body, as PostgreSQL's pq_getmsg* functions do.

    Every read past the end, or a string without its terminator, raises the
    ProtocolViolation PostgreSQL reports for it.
    """

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def int16(self) -> int:
        self._need(2)
        (value,) = _INT16.unpack_from(self._data, self._pos)
        self._pos += 2
        return value

    def int32(self) -> int:
        self._need(4)
        (value,) = _INT32.unpack_from(self._data, self._pos)
        self._pos += 4
        return value

    def uint16(self) -> int:
        """A count: PostgreSQL reads these unsigned (pq_getmsgint(msg, 2))."""
        return self.int16() & 0xFFFF

    def uint32(self) -> int:
        """An OID."""
        return self.int32() & 0xFFFFFFFF

    def byte(self) -> int:
        self._need(1)
        value = self._data[self._pos]
        self._pos += 1
        return value

    def bytes(self, count: int) -> bytes:
        if count < 0:
            raise ProtocolViolation("insufficient data left in message")
        self._need(count)
        value = self._data[self._pos:self._pos + count]
        self._pos += count
        return value

    def cstring_bytes(self) -> bytes:
        end = self._data.find(b"\x00", self._pos)
        if end < 0:
            raise ProtocolViolation("invalid string in message")
        value = self._data[self._pos:end]
        self._pos = end + 1
        return value

    def cstring(self) -> str:
        """A NUL-terminated string, which must be valid UTF-8."""
        return decode_utf8(self.cstring_bytes())

    def rest(self) -> bytes:
        value = self._data[self._pos:]
        self._pos = len(self._data)
        return value

    def at_end(self) -> bool:
        return self._pos >= len(self._data)

    def end(self) -> None:
        """Check that the whole body was read (pq_getmsgend)."""
        if self._pos != len(self._data):
            raise ProtocolViolation("invalid message format")

    def _need(self, count: int) -> None:
        if self._pos + count > len(self._data):
            raise ProtocolViolation("insufficient data left in message")


def decode_utf8(data: bytes) -> str:
    """Decode client text, rejecting bad bytes with PostgreSQL's 22021 message."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid_utf8_error(data, exc.start) from None


def invalid_utf8_error(data: bytes, start: int) -> PgError:
    """The error for the bad sequence at ``start``, showing its bytes as PostgreSQL does."""
    shown = data[start:start + _utf8_sequence_length(data[start])]
    hex_bytes = " ".join(f"0x{b:02x}" for b in shown)
    return CharacterNotInRepertoire(f'invalid byte sequence for encoding "UTF8": {hex_bytes}')


def _utf8_sequence_length(lead: int) -> int:
    """How many bytes a UTF-8 sequence starting with ``lead`` claims (1 for a bad lead)."""
    if lead >> 5 == 0b110:
        return 2
    if lead >> 4 == 0b1110:
        return 3
    if lead >> 3 == 0b11110:
        return 4
    return 1
