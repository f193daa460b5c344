"""The PostgreSQL v3 protocol byte by byte: a raw-socket client against a real server.

The client here builds every frontend message with ``struct`` itself, independently of
pgvecdb's codec, so that both sides are not wrong together. The first tests cover the
codec modules directly (framing, body reading, startup options).
"""

from __future__ import annotations

import socket
import struct

import pytest

from pgvecdb.errors import CharacterNotInRepertoire, ProtocolViolation
from pgvecdb.wire.protocol import BodyReader, FatalProtocolError, MessageReader
from pgvecdb.wire.startup import (
    StartupMessage,
    parse_command_line_options,
    parse_startup_packet,
)
from pgvecdb.errors import PgError

PROTOCOL_3_0 = 196608
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102


# --- a minimal independent client -----------------------------------------------------------


def msg(kind: bytes, body: bytes = b"") -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def cstr(text: str | bytes) -> bytes:
    return (text.encode() if isinstance(text, str) else text) + b"\x00"


def query(sql: str | bytes) -> bytes:
    return msg(b"Q", cstr(sql))


def parse(name: str, sql: str, oids: list[int] = ()) -> bytes:
    return msg(b"P", cstr(name) + cstr(sql) + struct.pack("!h", len(oids))
               + b"".join(struct.pack("!I", o) for o in oids))


def bind(portal: str, statement: str, params: list[bytes | None] = (),
         param_formats: list[int] = (), result_formats: list[int] = ()) -> bytes:
    body = cstr(portal) + cstr(statement)
    body += struct.pack("!h", len(param_formats)) + b"".join(struct.pack("!h", f) for f in param_formats)
    body += struct.pack("!h", len(params))
    for p in params:
        body += struct.pack("!i", -1) if p is None else struct.pack("!i", len(p)) + p
    body += struct.pack("!h", len(result_formats)) + b"".join(struct.pack("!h", f) for f in result_formats)
    return msg(b"B", body)


def describe(kind: str, name: str) -> bytes:
    return msg(b"D", kind.encode() + cstr(name))


def execute(portal: str = "", max_rows: int = 0) -> bytes:
    return msg(b"E", cstr(portal) + struct.pack("!i", max_rows))


def close(kind: str, name: str) -> bytes:
    return msg(b"C", kind.encode() + cstr(name))


SYNC = msg(b"S")
FLUSH = msg(b"H")
TERMINATE = msg(b"X")


def startup_packet(params: dict[str, str], version: int = PROTOCOL_3_0) -> bytes:
    body = struct.pack("!i", version) + b"".join(cstr(k) + cstr(v) for k, v in params.items()) + b"\x00"
    return struct.pack("!i", len(body) + 4) + body


def error_fields(body: bytes) -> dict[str, str]:
    fields = {}
    for part in body.split(b"\x00"):
        if part:
            fields[chr(part[0])] = part[1:].decode()
    return fields


class RawClient:
    def __init__(self, server, timeout: float = 60) -> None:
        self.sock = socket.create_connection((server.host, server.port), timeout=timeout)
        self.buffer = b""
        self.backend_key: tuple[int, int] | None = None
        self.parameters: dict[str, str] = {}

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self, count: int) -> None:
        """Receive until ``count`` bytes are buffered (a socket timeout loses nothing)."""
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buffer += chunk

    def _read_exact(self, count: int) -> bytes:
        self._fill(count)
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def read(self) -> tuple[bytes, bytes]:
        self._fill(5)
        (length,) = struct.unpack_from("!i", self.buffer, 1)
        frame = self._read_exact(1 + length)
        return frame[:1], frame[5:]

    def read_until_ready(self) -> list[tuple[bytes, bytes]]:
        messages = []
        while True:
            kind, body = self.read()
            messages.append((kind, body))
            if kind == b"Z":
                return messages

    def read_byte(self) -> bytes:
        return self._read_exact(1)

    def closed_by_server(self) -> bool:
        """True when the server has closed the socket (after any data still pending)."""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
        except ConnectionResetError:
            return True

    def startup(self, **params: str) -> list[tuple[bytes, bytes]]:
        params = {"user": "tester", "database": "testdb", **params}
        self.send(startup_packet(params))
        messages = self.read_until_ready()
        for kind, body in messages:
            if kind == b"K":
                self.backend_key = struct.unpack("!II", body)
            if kind == b"S":
                name, value, _ = body.split(b"\x00")
                self.parameters[name.decode()] = value.decode()
        return messages

    def close(self) -> None:
        self.sock.close()


def kinds(messages: list[tuple[bytes, bytes]]) -> bytes:
    return b"".join(kind for kind, _ in messages)


def data_values(body: bytes) -> list[bytes | None]:
    (count,) = struct.unpack_from("!h", body)
    pos, values = 2, []
    for _ in range(count):
        (length,) = struct.unpack_from("!i", body, pos)
        pos += 4
        if length < 0:
            values.append(None)
        else:
            values.append(body[pos:pos + length])
            pos += length
    return values


@pytest.fixture
def client(server):
    c = RawClient(server)
    c.startup()
    yield c
    c.close()


def assert_server_alive(server) -> None:
    c = RawClient(server)
    try:
        c.startup()
        c.send(query("SELECT 1"))
        assert kinds(c.read_until_ready()) == b"TDCZ"
    finally:
        c.close()


# --- codec units ------------------------------------------------------------------------------


def test_reader_frames_messages_fed_one_byte_at_a_time():
    stream = startup_packet({"user": "u"}) + query("SELECT 1") + SYNC
    reader = MessageReader()
    frames = []
    for i in range(len(stream)):
        reader.feed(stream[i:i + 1])
        while (frame := reader.next_message()) is not None:
            frames.append(frame)
            if frame.kind == b"":
                reader.expect_typed()
    assert [f.kind for f in frames] == [b"", b"Q", b"S"]
    assert frames[1].body == b"SELECT 1\x00"
    assert reader.buffered == 0


@pytest.mark.parametrize(
    "header, error",
    [
        (b"Q" + struct.pack("!i", 0x40000010), "invalid message length"),
        (b"S" + struct.pack("!i", 20_000), "invalid message length"),
        (b"z", "invalid frontend message type 122"),
    ],
    ids=["oversized-length", "small-type-above-its-limit", "unknown-type"],
)
def test_reader_refuses_a_bad_header_alone(header: bytes, error: str):
    reader = MessageReader()
    reader.expect_typed()
    reader.feed(header)
    with pytest.raises(FatalProtocolError, match=error):
        reader.next_message()


def test_body_reader_reports_truncation_and_missing_terminators():
    with pytest.raises(ProtocolViolation, match="insufficient data left in message"):
        BodyReader(b"\x00\x01").int32()
    with pytest.raises(ProtocolViolation, match="invalid string in message"):
        BodyReader(b"abc").cstring()
    reader = BodyReader(b"ab\x00x")
    assert reader.cstring() == "ab"
    with pytest.raises(ProtocolViolation, match="invalid message format"):
        reader.end()


def test_body_reader_rejects_invalid_utf8_as_postgresql_does():
    with pytest.raises(CharacterNotInRepertoire) as info:
        BodyReader(b"SELECT '\xc3\x28'\x00").cstring()
    assert info.value.sqlstate == "22021"
    assert info.value.message == 'invalid byte sequence for encoding "UTF8": 0xc3 0x28'


def test_options_parameter_is_parsed_like_a_backend_command_line():
    options = parse_command_line_options(r"-c search_path=a -cwork_mem=64MB --statement-timeout=5 -c x.y=a\ b")
    assert options == {"search_path": "a", "work_mem": "64MB", "statement_timeout": "5", "x.y": "a b"}
    with pytest.raises(PgError, match="-c search_path requires a value"):
        parse_command_line_options("-c search_path")
    with pytest.raises(PgError, match="invalid command-line argument for server process: -B"):
        parse_command_line_options("-B 100")


def test_startup_packet_gives_session_options():
    packet = startup_packet({"user": "ann", "application_name": "app", "options": "-c DateStyle=ISO"})
    message = parse_startup_packet(packet[4:])
    assert isinstance(message, StartupMessage)
    assert (message.user, message.database) == ("ann", "ann")
    assert message.session_options() == {"application_name": "app", "DateStyle": "ISO"}


def test_unsupported_protocol_version_is_a_fatal_error():
    with pytest.raises(PgError) as info:
        parse_startup_packet(startup_packet({"user": "u"}, version=2 << 16)[4:])
    assert (info.value.severity, info.value.sqlstate) == ("FATAL", "0A000")
    assert info.value.message == "unsupported frontend protocol 2.0: server supports 3.0 to 3.0"


# --- startup ----------------------------------------------------------------------------------


def test_startup_sends_authentication_parameters_key_and_ready(server):
    c = RawClient(server)
    messages = c.startup(application_name="raw-test")
    c.close()
    assert messages[0] == (b"R", struct.pack("!i", 0))
    assert kinds(messages).endswith(b"KZ")
    assert messages[-1] == (b"Z", b"I")
    for name in ("server_version", "server_encoding", "client_encoding", "DateStyle", "TimeZone",
                 "IntervalStyle", "integer_datetimes", "standard_conforming_strings",
                 "application_name"):
        assert name in c.parameters
    assert c.parameters["application_name"] == "raw-test"
    assert c.parameters["server_version"].startswith("16.")
    assert c.parameters["server_encoding"] == "UTF8"
    assert c.backend_key is not None


def test_options_reach_the_session(server):
    c = RawClient(server)
    c.startup(options="-c DateStyle=German,\\ DMY")
    assert c.parameters["DateStyle"] == "German, DMY"
    c.close()


def test_client_encoding_is_normalised_or_refused(server):
    c = RawClient(server)
    c.startup(client_encoding="utf-8")
    assert c.parameters["client_encoding"] == "UTF8"
    c.close()
    c = RawClient(server)
    c.send(startup_packet({"user": "u", "client_encoding": "no-such-encoding"}))
    kind, body = c.read()
    fields = error_fields(body)
    assert (kind, fields["S"], fields["C"]) == (b"E", "FATAL", "22023")
    assert fields["M"] == 'invalid value for parameter "client_encoding": "no-such-encoding"'
    assert c.closed_by_server()


@pytest.mark.parametrize("code", [SSL_REQUEST, GSSENC_REQUEST])
def test_ssl_and_gssenc_requests_are_refused_with_n(server, code):
    c = RawClient(server)
    c.send(struct.pack("!ii", 8, code))
    assert c.read_byte() == b"N"
    assert kinds(c.startup()).endswith(b"Z")
    c.close()


def test_newer_minor_version_and_protocol_options_are_negotiated(server):
    c = RawClient(server)
    c.send(startup_packet({"user": "u", "_pq_.frobnicate": "1"}, version=PROTOCOL_3_0 + 2))
    messages = c.read_until_ready()
    c.close()
    kind, body = messages[0]
    assert kind == b"v"
    assert body == struct.pack("!ii", 0, 1) + b"_pq_.frobnicate\x00"
    assert messages[1] == (b"R", struct.pack("!i", 0))


def test_old_protocol_gets_a_fatal_error_and_the_connection_closes(server):
    c = RawClient(server)
    c.send(startup_packet({"user": "u"}, version=2 << 16))
    kind, body = c.read()
    assert kind == b"E"
    fields = error_fields(body)
    assert (fields["S"], fields["C"]) == ("FATAL", "0A000")
    assert c.closed_by_server()
    assert_server_alive(server)


def test_missing_user_is_refused(server):
    c = RawClient(server)
    c.send(startup_packet({"database": "d"}))
    kind, body = c.read()
    assert kind == b"E"
    assert error_fields(body)["C"] == "28000"
    assert c.closed_by_server()


def test_garbage_before_startup_closes_cleanly(server):
    c = RawClient(server)
    c.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    kind, body = c.read()
    assert kind == b"E"
    assert error_fields(body)["C"] == "08P01"
    assert c.closed_by_server()
    assert_server_alive(server)


def test_truncated_startup_then_disconnect_leaves_server_serving(server):
    c = RawClient(server)
    c.send(startup_packet({"user": "u"})[:10])
    c.close()
    assert_server_alive(server)


# --- simple query -----------------------------------------------------------------------------


def test_simple_query_with_several_statements(client):
    client.send(query("SELECT 1 AS a; SELECT 'two' AS b"))
    messages = client.read_until_ready()
    assert kinds(messages) == b"TDCTDCZ"
    assert data_values(messages[1][1]) == [b"1"]
    assert data_values(messages[4][1]) == [b"two"]
    assert messages[2][1] == b"SELECT 1\x00"
    row_description = messages[0][1]
    assert row_description[2:4] == b"a\x00"
    assert struct.unpack_from("!IhIhih", row_description, 4)[2] == 23  # int4


def test_simple_query_stops_at_the_first_error(client):
    client.send(query("SELECT 1; SELECT * FROM no_such_table_either; SELECT 3"))
    messages = client.read_until_ready()
    assert kinds(messages) == b"TDCEZ"
    fields = error_fields(messages[3][1])
    assert fields["S"] == fields["V"] == "ERROR"
    assert (fields["C"], fields["P"]) == ("42P01", "25")


def test_pipelined_queries_are_answered_in_order(client):
    client.send(query("SELECT 1") + query("SELECT 2") + query("SELECT 3"))
    answers = [data_values(client.read_until_ready()[1][1]) for _ in range(3)]
    assert answers == [[b"1"], [b"2"], [b"3"]]


def test_large_query_message(client):
    literal = "x" * 5_000_000
    client.send(query(f"SELECT '{literal}' AS big"))
    messages = client.read_until_ready()
    assert data_values(messages[1][1]) == [literal.encode()]


def test_large_result_streams_through(client):
    client.send(query("SELECT x, 'row ' || x::text FROM generate_series(1, 200000) AS g(x)"))
    messages = client.read_until_ready()
    rows = [body for kind, body in messages if kind == b"D"]
    assert len(rows) == 200000
    assert data_values(rows[-1]) == [b"200000", b"row 200000"]
    assert messages[-2][1] == b"SELECT 200000\x00"


def test_client_vanishing_mid_result_leaves_server_serving(server):
    c = RawClient(server)
    c.startup()
    c.send(query("SELECT x FROM generate_series(1, 500000) AS g(x)"))
    c.close()
    assert_server_alive(server)


def test_syntax_error_anywhere_runs_nothing(client):
    client.send(query("SELECT 1; SELEC 2"))
    messages = client.read_until_ready()
    assert kinds(messages) == b"EZ"
    fields = error_fields(messages[0][1])
    assert fields["C"] == "42601"
    assert fields["M"] == 'syntax error at or near "SELEC"'
    assert fields["P"] == "11"  # counted in the whole query string


def test_empty_query_gets_empty_query_response(client):
    for text in ("", "   "):
        client.send(query(text))
        assert kinds(client.read_until_ready()) == b"IZ"


def test_invalid_utf8_in_a_query_is_22021_and_the_connection_survives(client):
    client.send(query(b"SELECT '\xff\xfe'"))
    messages = client.read_until_ready()
    assert kinds(messages) == b"EZ"
    fields = error_fields(messages[0][1])
    assert fields["C"] == "22021"
    assert fields["M"] == 'invalid byte sequence for encoding "UTF8": 0xff'
    client.send(query("SELECT 1"))
    assert kinds(client.read_until_ready()) == b"TDCZ"


def test_notice_response(client):
    client.send(query("DROP TABLE IF EXISTS surely_not_there"))
    messages = client.read_until_ready()
    assert kinds(messages) == b"NCZ"
    fields = error_fields(messages[0][1])
    assert (fields["S"], fields["V"], fields["C"]) == ("NOTICE", "NOTICE", "00000")
    assert fields["M"] == 'table "surely_not_there" does not exist, skipping'


def test_transaction_status_in_ready_for_query(client):
    client.send(query("BEGIN"))
    assert client.read_until_ready()[-1] == (b"Z", b"T")
    client.send(query("SELECT * FROM no_such_table_here"))
    messages = client.read_until_ready()
    assert error_fields(messages[0][1])["C"] == "42P01"
    assert messages[-1] == (b"Z", b"E")
    client.send(query("ROLLBACK"))
    assert client.read_until_ready()[-1] == (b"Z", b"I")


# --- broken framing ---------------------------------------------------------------------------


def test_unknown_message_type_is_fatal(server, client):
    client.send(msg(b"y", b"junk"))
    kind, body = client.read()
    fields = error_fields(body)
    assert (kind, fields["S"], fields["C"]) == (b"E", "FATAL", "08P01")
    assert fields["M"] == "invalid frontend message type 121"
    assert client.closed_by_server()
    assert_server_alive(server)


def test_length_over_one_gibibyte_is_refused_without_waiting_for_the_body(server, client):
    client.send(b"Q" + struct.pack("!I", (1 << 30) + 100))
    kind, body = client.read()
    assert (kind, error_fields(body)["C"]) == (b"E", "08P01")
    assert client.closed_by_server()
    assert_server_alive(server)


def test_length_below_four_is_refused(server, client):
    client.send(b"Q" + struct.pack("!i", 2))
    kind, body = client.read()
    assert error_fields(body)["M"] == "invalid message length"
    assert client.closed_by_server()


def test_messages_before_a_framing_error_are_still_answered(client):
    client.send(query("SELECT 1") + msg(b"y"))
    messages = client.read_until_ready()
    assert kinds(messages) == b"TDCZ"
    kind, body = client.read()
    assert error_fields(body)["S"] == "FATAL"
    assert client.closed_by_server()


def test_truncated_bind_body_is_an_error_then_skip_to_sync(client):
    client.send(parse("", "SELECT 1") + msg(b"B", b"\x00\x00\x00\x05") + execute() + SYNC)
    messages = client.read_until_ready()
    assert kinds(messages) == b"1EZ"
    assert error_fields(messages[1][1])["C"] == "08P01"
    assert error_fields(messages[1][1])["M"] in ("insufficient data left in message",
                                                  "invalid string in message")


def test_unterminated_string_in_parse(client):
    client.send(msg(b"P", b"\x00SELECT 1") + SYNC)
    messages = client.read_until_ready()
    assert kinds(messages) == b"EZ"
    assert error_fields(messages[0][1])["M"] == "invalid string in message"


def test_trailing_garbage_in_a_message_body(client):
    client.send(msg(b"Q", b"SELECT 1\x00extra"))
    messages = client.read_until_ready()
    assert kinds(messages) == b"EZ"
    assert error_fields(messages[0][1])["M"] == "invalid message format"


def test_terminate_closes_the_connection(client):
    client.send(TERMINATE)
    assert client.closed_by_server()


# --- extended query ---------------------------------------------------------------------------


def test_parse_bind_describe_execute_with_named_statement_and_portal(client):
    client.send(parse("s1", "SELECT $1::int + 1 AS n", [23]) + describe("S", "s1")
                + bind("p1", "s1", [b"41"]) + describe("P", "p1") + execute("p1") + SYNC)
    messages = client.read_until_ready()
    assert kinds(messages) == b"1tT2TDCZ"
    assert messages[1][1] == struct.pack("!hI", 1, 23)
    assert data_values(messages[5][1]) == [b"42"]
    assert messages[6][1] == b"SELECT 1\x00"
    # the named statement outlives the transaction; the portal does not
    client.send(bind("", "s1", [b"1"]) + execute() + SYNC)
    assert kinds(client.read_until_ready()) == b"2DCZ"
    client.send(execute("p1") + SYNC)
    messages = client.read_until_ready()
    assert error_fields(messages[0][1])["C"] == "34000"


def test_untyped_parameter_type_is_inferred(client):
    client.send(parse("", "SELECT $1 + 1 AS n", [0]) + describe("S", "") + SYNC)
    messages = client.read_until_ready()
    assert kinds(messages) == b"1tTZ"
    (count, oid) = struct.unpack("!hI", messages[1][1])
    assert count == 1 and oid != 0


def test_binary_and_text_result_formats_per_column(client):
    client.send(parse("", "SELECT 7::int4 AS a, 'x'::text AS b, 2::int8 AS c")
                + bind("", "", result_formats=[1, 0, 1]) + describe("P", "") + execute() + SYNC)
    messages = client.read_until_ready()
    assert kinds(messages) == b"12TDCZ"
    fields = messages[2][1][2:]
    formats = []
    for _ in range(3):
        end = fields.index(b"\x00")
        formats.append(struct.unpack_from("!IhIhih", fields, end + 1)[5])
        fields = fields[end + 19:]
    assert formats == [1, 0, 1]
    assert data_values(messages[3][1]) == [struct.pack("!i", 7), b"x", struct.pack("!q", 2)]


def test_one_result_format_applies_to_all_columns(client):
    client.send(parse("", "SELECT 1::int4, 2::int4") + bind("", "", result_formats=[1])
                + execute() + SYNC)
    messages = client.read_until_ready()
    assert data_values(messages[2][1]) == [struct.pack("!i", 1), struct.pack("!i", 2)]


def test_binary_parameters(client):
    client.send(parse("", "SELECT $1::int4 * 2", [23])
                + bind("", "", [struct.pack("!i", 21)], param_formats=[1]) + execute() + SYNC)
    messages = client.read_until_ready()
    assert data_values(messages[2][1]) == [b"42"]


def test_null_parameter(client):
    client.send(parse("", "SELECT $1::int4 IS NULL", [23]) + bind("", "", [None]) + execute() + SYNC)
    messages = client.read_until_ready()
    assert data_values(messages[2][1]) == [b"t"]


def test_wrong_parameter_count(client):
    client.send(parse("", "SELECT $1::int4", [23]) + bind("", "", [b"1", b"2"]) + execute() + SYNC)
    messages = client.read_until_ready()
    assert kinds(messages) == b"1EZ"
    fields = error_fields(messages[1][1])
    assert fields["C"] == "08P01"
    assert fields["M"] == 'bind message supplies 2 parameters, but prepared statement "" requires 1'


def test_wrong_parameter_format_count(client):
    client.send(parse("", "SELECT $1::int4, $2::int4", [23, 23])
                + bind("", "", [b"1", b"2"], param_formats=[0, 0, 0]) + SYNC)
    messages = client.read_until_ready()
    assert error_fields(messages[1][1])["M"] == "bind message has 3 parameter formats but 2 parameters"


def test_unsupported_format_code(client):
    client.send(parse("", "SELECT $1::int4", [23]) + bind("", "", [b"1"], param_formats=[2]) + SYNC)
    messages = client.read_until_ready()
    fields = error_fields(messages[1][1])
    assert (fields["C"], fields["M"]) == ("22023", "unsupported format code: 2")


def test_malformed_binary_parameters(client):
    client.send(parse("", "SELECT $1::int4", [23])
                + bind("", "", [b"\x00\x00\x00\x01\x00"], param_formats=[1]) + SYNC)
    fields = error_fields(client.read_until_ready()[1][1])
    assert (fields["C"], fields["M"]) == ("22P03", "incorrect binary data format in bind parameter 1")
    client.send(bind("", "", [b"\x00\x01"], param_formats=[1]) + SYNC)
    fields = error_fields(client.read_until_ready()[0][1])
    assert (fields["C"], fields["M"]) == ("08P01", "insufficient data left in message")


def test_bad_text_parameter(client):
    client.send(parse("", "SELECT $1::int4", [23]) + bind("", "", [b"twelve"]) + SYNC)
    messages = client.read_until_ready()
    assert error_fields(messages[1][1])["C"] == "22P02"


def test_wrong_result_format_count(client):
    client.send(parse("", "SELECT 1, 2, 3") + bind("", "", result_formats=[0, 1]) + SYNC)
    messages = client.read_until_ready()
    assert error_fields(messages[1][1])["M"] == "bind message has 2 result formats but query has 3 columns"


def test_execute_with_row_limit_suspends_and_resumes(client):
    client.send(query("BEGIN"))
    client.read_until_ready()
    client.send(parse("", "SELECT x FROM generate_series(1, 5) AS g(x)") + bind("cur", "")
                + execute("cur", 2) + execute("cur", 2) + execute("cur", 2) + execute("cur", 2) + SYNC)
    messages = client.read_until_ready()
    assert kinds(messages) == b"12DDsDDsDCCZ"
    values = [data_values(body)[0] for kind, body in messages if kind == b"D"]
    assert values == [b"1", b"2", b"3", b"4", b"5"]
    assert messages[9][1] == b"SELECT 1\x00"
    assert messages[10][1] == b"SELECT 0\x00"
    client.send(query("COMMIT"))
    client.read_until_ready()


def test_error_skips_messages_until_sync(client):
    client.send(parse("", "SELEC 1") + bind("", "") + execute() + parse("ok", "SELECT 1") + SYNC)
    messages = client.read_until_ready()
    assert kinds(messages) == b"EZ"
    client.send(describe("S", "ok") + SYNC)
    messages = client.read_until_ready()
    assert error_fields(messages[0][1])["C"] == "26000"


def test_duplicate_and_missing_statements_and_portals(client):
    client.send(parse("dup", "SELECT 1") + SYNC)
    assert kinds(client.read_until_ready()) == b"1Z"
    client.send(parse("dup", "SELECT 2") + SYNC)
    messages = client.read_until_ready()
    assert error_fields(messages[0][1])["C"] == "42P05"
    assert error_fields(messages[0][1])["M"] == 'prepared statement "dup" already exists'
    client.send(bind("", "nope") + SYNC)
    assert error_fields(client.read_until_ready()[0][1])["M"] == 'prepared statement "nope" does not exist'
    client.send(close("S", "") + bind("", "") + SYNC)
    messages = client.read_until_ready()
    assert kinds(messages) == b"3EZ"
    assert error_fields(messages[1][1])["M"] == "unnamed prepared statement does not exist"
    client.send(describe("P", "ghost") + SYNC)
    assert error_fields(client.read_until_ready()[0][1])["M"] == 'portal "ghost" does not exist'
    client.send(close("S", "dup") + close("P", "ghost") + describe("S", "dup") + SYNC)
    messages = client.read_until_ready()
    assert kinds(messages) == b"33EZ"


def test_describe_of_a_statement_without_rows_is_no_data(client, unique_name):
    name = unique_name("nodata")
    client.send(parse("", f"CREATE TABLE IF NOT EXISTS {name} (a int)") + describe("S", "") + SYNC)
    messages = client.read_until_ready()
    assert kinds(messages) == b"1tnZ"


def test_flush_sends_pending_replies_without_sync(client):
    client.send(parse("", "SELECT 1") + FLUSH)
    assert client.read() == (b"1", b"")
    client.send(SYNC)
    assert kinds(client.read_until_ready()) == b"Z"


@pytest.mark.parametrize("kind, message", [(b"D", "DESCRIBE"), (b"C", "CLOSE")])
def test_invalid_describe_or_close_subtype(client, kind, message):
    client.send(msg(kind, b"Xname\x00") + SYNC)
    messages = client.read_until_ready()
    assert error_fields(messages[0][1])["M"] == f"invalid {message} message subtype 88"


def test_empty_statement_in_extended_protocol(client):
    client.send(parse("", "") + bind("", "") + describe("P", "") + execute() + SYNC)
    assert kinds(client.read_until_ready()) == b"12nIZ"


# --- COPY -------------------------------------------------------------------------------------


def _copy_table(client, unique_name) -> str:
    name = unique_name("copy")
    client.send(query(f"CREATE TABLE {name} (id int, label text)"))
    assert kinds(client.read_until_ready()) == b"CZ"
    return name


def test_copy_from_stdin_and_to_stdout(client, unique_name):
    table = _copy_table(client, unique_name)
    client.send(query(f"COPY {table} FROM STDIN"))
    kind, body = client.read()
    assert kind == b"G"
    assert body == b"\x00" + struct.pack("!hhh", 2, 0, 0)
    client.send(msg(b"d", b"1\tone\n2\t") + msg(b"d", b"two\n") + msg(b"H") + msg(b"c"))
    messages = client.read_until_ready()
    assert messages == [(b"C", b"COPY 2\x00"), (b"Z", b"I")]
    client.send(query(f"COPY {table} TO STDOUT"))
    messages = client.read_until_ready()
    assert kinds(messages[:1]) == b"H"
    data = b"".join(body for kind, body in messages if kind == b"d")
    assert data == b"1\tone\n2\ttwo\n"
    assert kinds(messages[-3:]) == b"cCZ"


def test_copy_fail_aborts_the_copy(client, unique_name):
    table = _copy_table(client, unique_name)
    client.send(query(f"COPY {table} FROM STDIN"))
    assert client.read()[0] == b"G"
    client.send(msg(b"d", b"1\tone\n") + msg(b"f", b"client gave up\x00"))
    messages = client.read_until_ready()
    fields = error_fields(messages[0][1])
    assert (fields["C"], fields["M"]) == ("57014", "COPY from stdin failed: client gave up")
    client.send(query(f"SELECT count(*) FROM {table}"))
    assert data_values(client.read_until_ready()[1][1]) == [b"0"]


def test_copy_followed_by_more_statements_in_one_query(client, unique_name):
    table = _copy_table(client, unique_name)
    client.send(query(f"COPY {table} FROM STDIN; SELECT count(*) FROM {table}"))
    assert client.read()[0] == b"G"
    client.send(msg(b"d", b"5\tfive\n") + msg(b"c"))
    messages = client.read_until_ready()
    assert kinds(messages) == b"CTDCZ"
    assert data_values(messages[2][1]) == [b"1"]


def test_unexpected_message_during_copy(client, unique_name):
    table = _copy_table(client, unique_name)
    client.send(query(f"COPY {table} FROM STDIN"))
    assert client.read()[0] == b"G"
    client.send(query("SELECT 1"))
    messages = client.read_until_ready()
    fields = error_fields(messages[0][1])
    assert (fields["C"], fields["M"]) == ("08P01", "unexpected message type 0x51 during COPY from stdin")
    client.send(msg(b"d", b"stray") + msg(b"c") + query("SELECT 1"))
    assert kinds(client.read_until_ready()) == b"TDCZ"


# --- a prepared ANN search's round trip ------------------------------------------------------
# Bind, Describe, Execute, Sync for a prepared search is answered in one pass
# (wire/search_cycle). A Flush before the Sync makes the same messages go one by one
# through the general handler: both must answer alike, byte for byte.


def _search_table(client, name: str) -> None:
    client.send(query(f"CREATE TABLE {name} (id int8, category int4, embedding vector(3));"
                      f"INSERT INTO {name} SELECT g, g % 3, ARRAY[g, g % 7, 1]::real[]::vector(3) "
                      f"FROM generate_series(1, 60) AS g;"
                      f"CREATE INDEX ON {name} USING hnsw (embedding vector_l2_ops)"))
    assert b"E" not in kinds(client.read_until_ready())


def _cycle(bound: bytes, *, described: bool = True, flushed: bool = False) -> bytes:
    return bound + (describe("P", "") if described else b"") + execute() + (FLUSH if flushed else b"") + SYNC


@pytest.mark.parametrize("described", [True, False], ids=["psycopg-like", "asyncpg-like"])
@pytest.mark.parametrize("result_formats", [[], [1]], ids=["text", "binary"])
def test_a_prepared_search_is_answered_as_the_general_handler_answers(client, unique_name, described,
                                                                    result_formats):
    name = unique_name("cycle")
    _search_table(client, name)
    client.send(parse("s", f"SELECT id, embedding <-> $1 AS d FROM {name} WHERE category = $2 "
                           f"ORDER BY embedding <-> $1 LIMIT 5", [0, 23]) + SYNC)
    assert kinds(client.read_until_ready()) == b"1Z"
    bound = bind("", "s", [b"[10.2,3.1,1]", b"1"], result_formats=result_formats)
    client.send(_cycle(bound, described=described))
    in_one_pass = client.read_until_ready()
    client.send(_cycle(bound, described=described, flushed=True))
    one_by_one = client.read_until_ready()
    assert in_one_pass == one_by_one
    assert kinds(in_one_pass) == (b"2T" if described else b"2") + b"DDDDDCZ"
    if not result_formats:
        assert [data_values(body)[0] for kind, body in in_one_pass if kind == b"D"] == \
            [b"10", b"13", b"7", b"16", b"4"]


def test_a_prepared_search_that_fails_reports_as_the_general_handler_does(client, unique_name):
    name = unique_name("cycle")
    _search_table(client, name)
    client.send(parse("s", f"SELECT id FROM {name} ORDER BY embedding <-> $1 LIMIT 3", [0]) + SYNC)
    client.read_until_ready()
    bound = bind("", "s", [b"[1,2]"])
    client.send(_cycle(bound))
    in_one_pass = client.read_until_ready()
    client.send(_cycle(bound, flushed=True))
    assert in_one_pass == client.read_until_ready()
    assert kinds(in_one_pass) == b"2TEZ" and in_one_pass[-1][1] == b"I"
    assert error_fields(in_one_pass[2][1])["M"] == "different vector dimensions 3 and 2"
    client.send(_cycle(bind("", "s", [b"[1,1,1]"])))
    assert kinds(client.read_until_ready()) == b"2TDDDCZ"


def test_a_prepared_search_in_a_transaction_block_sees_the_blocks_writes(client, unique_name):
    name = unique_name("cycle")
    _search_table(client, name)
    client.send(parse("s", f"SELECT id FROM {name} ORDER BY embedding <-> $1 LIMIT 1", [0]) + SYNC)
    client.read_until_ready()
    client.send(query(f"BEGIN; DELETE FROM {name} WHERE id = 5"))
    client.read_until_ready()
    client.send(_cycle(bind("", "s", [b"[5,5,1]"])))
    messages = client.read_until_ready()
    assert data_values(messages[2][1]) == [b"4"] and messages[-1][1] == b"T"
    client.send(query("ROLLBACK"))
    client.read_until_ready()
    client.send(_cycle(bind("", "s", [b"[5,5,1]"])))
    assert data_values(client.read_until_ready()[2][1]) == [b"5"]


def test_the_cycle_of_a_prepared_search_is_recognised_and_answered_in_one_pass(tmp_path):
    """In-process: the one-pass answer is really taken (the socket tests above would pass
    were it never taken), and writes what the general handler writes."""
    from pgvecdb.database import Database
    from pgvecdb.wire.connection import ConnectionHandler
    from pgvecdb.wire.search_cycle import search_cycle

    class Output:
        def __init__(self) -> None:
            self.sent = b""

        def write(self, data: bytes) -> None:
            self.sent += data

        def flush(self) -> None:
            pass

    def framed(data: bytes) -> list:
        reader = MessageReader()
        reader.expect_typed()
        reader.feed(data)
        return list(iter(reader.next_message, None))

    database = Database.open(tmp_path / "data")
    try:
        output = Output()
        handler = ConnectionHandler(lambda startup: database.session(), output, (1, 2))
        handler.handle([parse_startup_packet(startup_packet({"user": "u"})[4:])])
        handler.handle(framed(query("CREATE TABLE items (id int8, embedding vector(2));"
                                    "INSERT INTO items SELECT g, ARRAY[g, 1]::real[]::vector(2) "
                                    "FROM generate_series(1, 30) AS g;"
                                    "CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)")
                              + parse("s", "SELECT id FROM items ORDER BY embedding <-> $1 LIMIT 3") + SYNC))
        bound = bind("", "s", [b"[7.2,1]"]) + describe("P", "") + execute()
        cycle = search_cycle(framed(bound + SYNC), handler._registry.statements)
        assert cycle is not None
        assert b"".join(cycle.replies(handler.session)) == b"".join(
            msg(kind, body) for kind, body in [(b"2", b""), (b"T", _row_description_of_id()),
                                               (b"D", _int8_text_row(b"7")), (b"D", _int8_text_row(b"8")),
                                               (b"D", _int8_text_row(b"6")), (b"C", b"SELECT 3\x00")])
        output.sent = b""
        handler.handle(framed(bound + SYNC))
        in_one_pass = output.sent
        output.sent = b""
        handler.handle(framed(bound + FLUSH + SYNC))
        assert in_one_pass == output.sent
    finally:
        database.close()


def _row_description_of_id() -> bytes:
    return struct.pack("!h", 1) + b"id\x00" + struct.pack("!IhIhih", 0, 0, 20, 8, -1, 0)


def _int8_text_row(text: bytes) -> bytes:
    return struct.pack("!hi", 1, len(text)) + text


# --- cancel -----------------------------------------------------------------------------------


def _send_cancel(server, process_id: int, secret: int) -> None:
    canceller = RawClient(server)
    canceller.send(struct.pack("!iiII", 16, CANCEL_REQUEST, process_id, secret))
    assert canceller.closed_by_server()  # a cancel request gets no reply
    canceller.close()


def test_cancel_request_cancels_the_running_query(server, client):
    client.send(query("SELECT pg_sleep(60)"))
    _send_cancel(server, client.backend_key[0], client.backend_key[1] ^ 1)  # wrong key: ignored
    client.sock.settimeout(1)
    messages = []
    while not messages or messages[-1][0] != b"Z":
        _send_cancel(server, *client.backend_key)  # again if it came before the query started
        try:
            while not messages or messages[-1][0] != b"Z":
                messages.append(client.read())
        except socket.timeout:
            continue
    fields = error_fields(next(body for kind, body in messages if kind == b"E"))
    assert (fields["C"], fields["M"]) == ("57014", "canceling statement due to user request")
    client.send(query("SELECT 1"))
    assert kinds(client.read_until_ready()) == b"TDCZ"
