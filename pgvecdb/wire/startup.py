"""The packets a connection opens with: SSL/GSS negotiation, cancel requests, StartupMessage.

``parse_startup_packet`` decodes one, raising the FATAL errors PostgreSQL sends for a
packet it cannot accept. ``StartupMessage.session_options`` gathers what the session is
opened with: every startup parameter plus each ``-c name=value`` / ``--name=value`` from
the ``options`` parameter, parsed as PostgreSQL parses a backend command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pgvecdb.errors import FeatureNotSupported, InvalidAuthorizationSpecification, PgError
from pgvecdb.errors import SyntaxError as SqlSyntaxError
from pgvecdb.wire.protocol import (
    CANCEL_REQUEST_CODE,
    GSSENC_REQUEST_CODE,
    SSL_REQUEST_CODE,
    BodyReader,
    FatalProtocolError,
)

PROTOCOL_OPTION_PREFIX = "_pq_."
_CONNECTION_KEYS = ("user", "database", "options", "replication")


@dataclass(frozen=True)
class SSLRequest:
    pass


@dataclass(frozen=True)
class GSSENCRequest:
    pass


@dataclass(frozen=True)
class CancelRequest:
    process_id: int
    secret_key: int


@dataclass(frozen=True)
class StartupMessage:
    minor_version: int
    parameters: dict[str, str]
    protocol_options: list[str] = field(default_factory=list)  # "_pq_." names, unsupported

    @property
    def user(self) -> str:
        user = self.parameters.get("user", "")
        if not user:
            raise fatal(InvalidAuthorizationSpecification(
                "no PostgreSQL user name specified in startup packet"))
        return user

    @property
    def database(self) -> str:
        return self.parameters.get("database") or self.user

    def session_options(self) -> dict[str, str]:
        """Startup parameters other than user/database, with ``options`` expanded."""
        options = {k: v for k, v in self.parameters.items() if k not in _CONNECTION_KEYS}
        options.update(parse_command_line_options(self.parameters.get("options", "")))
        return options


StartupPacket = SSLRequest | GSSENCRequest | CancelRequest | StartupMessage


def fatal(error: PgError) -> PgError:
    """Mark an error as ending the connection (severity FATAL)."""
    error.severity = "FATAL"
    return error


def parse_startup_packet(body: bytes) -> StartupPacket:
    reader = BodyReader(body)
    code = reader.uint32()
    if code == SSL_REQUEST_CODE:
        return SSLRequest()
    if code == GSSENC_REQUEST_CODE:
        return GSSENCRequest()
    if code == CANCEL_REQUEST_CODE:
        if len(body) != 12:
            raise FatalProtocolError("invalid length of startup packet")
        return CancelRequest(reader.uint32(), reader.uint32())
    major, minor = code >> 16, code & 0xFFFF
    if major != 3:
        raise fatal(FeatureNotSupported(
            f"unsupported frontend protocol {major}.{minor}: server supports 3.0 to 3.0"))
    parameters, protocol_options = _read_parameters(reader)
    return StartupMessage(minor, parameters, protocol_options)


def _read_parameters(reader: BodyReader) -> tuple[dict[str, str], list[str]]:
    parameters: dict[str, str] = {}
    protocol_options: list[str] = []
    try:
        while True:
            name = reader.cstring()
            if not name:
                break
            value = reader.cstring()
            if name.startswith(PROTOCOL_OPTION_PREFIX):
                protocol_options.append(name)
            else:
                parameters[name] = value
    except PgError as exc:
        raise FatalProtocolError(
            "invalid startup packet layout: expected terminator as last byte") from exc
    if not reader.at_end():
        raise FatalProtocolError("invalid startup packet layout: expected terminator as last byte")
    return parameters, protocol_options


def parse_command_line_options(options: str) -> dict[str, str]:
    """Settings from a libpq ``options`` string: ``-c a=b``, ``-ca=b`` and ``--a=b``."""
    words = split_options(options)
    settings: dict[str, str] = {}
    i = 0
    while i < len(words):
        word = words[i]
        if word == "-c" and i + 1 < len(words):
            name, value = _name_value(words[i + 1], "-c")
            i += 2
        elif word.startswith("-c") and len(word) > 2:
            name, value = _name_value(word[2:], "-c")
            i += 1
        elif word.startswith("--") and len(word) > 2:
            name, value = _name_value(word[2:], "--")
            i += 1
        else:
            raise fatal(SqlSyntaxError(
                f"invalid command-line argument for server process: {word}",
                hint='Try "postgres --help" for more information.'))
        settings[name] = value
    return settings


def split_options(options: str) -> list[str]:
    """Split on whitespace; a backslash makes the next character literal (pg_split_opts)."""
    words: list[str] = []
    current: list[str] = []
    escaped = False
    for char in options:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char.isspace():
            if current:
                words.append("".join(current))
                current = []
        else:
            current.append(char)
    if current:
        words.append("".join(current))
    return words


def _name_value(text: str, flag: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        spelled = f"--{text}" if flag == "--" else f"-c {text}"
        raise fatal(SqlSyntaxError(f"{spelled} requires a value"))
    return name.replace("-", "_"), value
