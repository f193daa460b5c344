"""Bind parameters: from wire bytes, text or binary per parameter, to the session's values."""

from __future__ import annotations

import logging
from typing import Sequence

from pgvecdb.errors import (
    InvalidBinaryRepresentation,
    InvalidParameterValue,
    InvalidTextRepresentation,
    PgError,
    ProtocolViolation,
    UndefinedFunction,
)
from pgvecdb.types.codecs import BINARY_FORMAT, FormatOptions, codec_for
from pgvecdb.types.registry import by_oid
from pgvecdb.wire.protocol import decode_utf8

log = logging.getLogger(__name__)

UNKNOWN_OID = 0


def parameter_formats(formats: Sequence[int], param_count: int) -> list[int]:
    """Format codes as Bind gives them (none, one for all, or one per parameter)."""
    for code in formats:
        if code not in (0, 1):
            raise InvalidParameterValue(f"unsupported format code: {code}")
    if len(formats) > 1 and len(formats) != param_count:
        raise ProtocolViolation(
            f"bind message has {len(formats)} parameter formats but {param_count} parameters")
    if not formats:
        return [0] * param_count
    if len(formats) == 1:
        return [formats[0]] * param_count
    return list(formats)


def decode_parameters(statement_name: str, param_oids: Sequence[int], formats: Sequence[int],
                      values: Sequence[bytes | None], options: FormatOptions) -> list[object | None]:
    """Decode a Bind message's values for a statement whose parameters have ``param_oids``.

    Parameters whose type stayed unknown (OID 0) arrive as ``str``.
    """
    codes = parameter_formats(formats, len(values))
    if len(values) != len(param_oids):
        raise ProtocolViolation(
            f'bind message supplies {len(values)} parameters, but prepared statement '
            f'"{statement_name}" requires {len(param_oids)}')
    return [
        None if value is None else _decode(number, oid, code, value, options)
        for number, (oid, code, value) in enumerate(zip(param_oids, codes, values), start=1)
    ]


def _decode(number: int, oid: int, code: int, value: bytes, options: FormatOptions) -> object:
    if oid == UNKNOWN_OID:
        return decode_utf8(value)
    try:
        codec = codec_for(oid)
    except KeyError:
        return _decode_without_codec(oid, code, value)
    if code == BINARY_FORMAT:
        return _decode_binary(codec, number, value)
    return _decode_text(codec, decode_utf8(value), options)


def _decode_binary(codec, number: int, value: bytes) -> object:
    try:
        return codec.decode_binary(value)
    except PgError as err:
        if err.sqlstate == InvalidBinaryRepresentation.sqlstate and not err.detail:
            raise _bad_binary_parameter(number) from None  # bytes left over: say which
        raise
    except Exception as exc:
        log.debug("binary parameter $%d rejected by %s: %r", number, codec.pgtype.name, exc)
        raise _bad_binary_parameter(number) from None


def _bad_binary_parameter(number: int) -> PgError:
    return InvalidBinaryRepresentation(f"incorrect binary data format in bind parameter {number}")


def _decode_text(codec, text: str, options: FormatOptions) -> object:
    try:
        return codec.decode_text(text, options=options)
    except PgError:
        raise
    except Exception as exc:
        log.debug("text parameter rejected by %s: %r", codec.pgtype.name, exc)
        raise InvalidTextRepresentation(
            f'invalid input syntax for type {codec.pgtype.display_name}: "{text}"') from None


def _decode_without_codec(oid: int, code: int, value: bytes) -> object:
    """A type pgvecdb knows no codec for: its text passes through as a string."""
    if code == BINARY_FORMAT:
        pgtype = by_oid(oid)
        name = pgtype.display_name if pgtype else str(oid)
        raise UndefinedFunction(f"no binary input function available for type {name}")
    return decode_utf8(value)
