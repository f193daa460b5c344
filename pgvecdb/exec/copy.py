"""COPY's data formats, as PostgreSQL 16 reads and writes them: text, csv and binary.

* ``parse_copy_options`` validates the options of a COPY statement with PostgreSQL's
  messages and gives a ``CopyOptions``.
* ``CopyFromStdin`` (a ``CopyIn``) takes the client's data in pieces cut anywhere, parses
  it in batches and hands each batch to a sink as an Arrow table in the storage
  representation of the target columns. Binary data whose rows share one layout is parsed
  with numpy over the whole buffer; text and csv go line by line, then column by column
  through the type codecs. Errors carry PostgreSQL's CONTEXT line (``COPY t, line 3,
  column v: "..."``) in the error's ``context`` attribute.
* ``CopyToStdout`` (a ``CopyOut``) encodes a result table (DuckDB representation).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pgvecdb.errors import (
    BadCopyFileFormat,
    CharacterNotInRepertoire,
    FeatureNotSupported,
    InvalidColumnReference,
    InvalidParameterValue,
    PgError,
    SyntaxError,
)
from pgvecdb.exec.result import ColumnInfo, CopyIn, CopyOut, Result
from pgvecdb.types.codecs import DEFAULT_OPTIONS, Codec, FormatOptions, codec_for, encode_column

BINARY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
BINARY_HEADER_FIXED = len(BINARY_SIGNATURE) + 8  # signature, flags, extension length
BINARY_TRAILER = b"\xff\xff"
BATCH_ROWS = 65_536
PARSE_THRESHOLD_BYTES = 4 << 20  # parse once this much data is waiting
MAX_COPY_DATA_DISPLAY = 100
OUTPUT_CHUNK_ROWS = 8192
FORMATS = ("text", "csv", "binary")
_TRUE_WORDS = ("true", "on", "1", "yes")
_FALSE_WORDS = ("false", "off", "0", "no")
_ENCODINGS = {"UTF8": "utf-8", "UNICODE": "utf-8", "SQL_ASCII": "utf-8", "LATIN1": "latin-1",
              "WIN1252": "cp1252", "WIN1251": "cp1251", "LATIN2": "iso8859-2", "LATIN9": "iso8859-15",
              "EUC_JP": "euc_jp", "SJIS": "shift_jis", "GBK": "gbk", "UHC": "cp949", "BIG5": "big5",
              "KOI8R": "koi8-r"}

# --- options -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CopyOptions:
    """A COPY statement's data format options, validated."""

    format: str = "text"
    delimiter: str = "\t"
    null: str = "\\N"
    header: bool = False
    header_match: bool = False
    quote: str = '"'
    escape: str = '"'
    force_quote: tuple[str, ...] = ()
    force_quote_all: bool = False
    force_not_null: tuple[str, ...] = ()
    force_null: tuple[str, ...] = ()
    encoding: str = "utf-8"

    @property
    def csv(self) -> bool:
        return self.format == "csv"

    @property
    def binary(self) -> bool:
        return self.format == "binary"


def _option_text(name: str, value: object) -> str:
    if value is None or isinstance(value, bool) or isinstance(value, (list, tuple)):
        raise SyntaxError(f"{name} requires a parameter")
    return str(value)


def _option_bool(name: str, value: object) -> bool:
    if value is None or isinstance(value, bool):
        return value is not False
    word = str(value).strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise InvalidParameterValue(f"{name} requires a Boolean value")


def _option_header(value: object) -> tuple[bool, bool]:
    """(header, match) from HEADER's argument: a Boolean or "match"."""
    if isinstance(value, str) and value.strip().lower() == "match":
        return True, True
    try:
        return _option_bool("header", value), False
    except InvalidParameterValue:
        raise InvalidParameterValue('header requires a Boolean value or "match"') from None


def _option_columns(name: str, value: object) -> tuple[str, ...] | None:
    """A column list option; None for FORCE_QUOTE's '*'."""
    if value == "*":
        return None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise SyntaxError(f'argument to option "{name}" must be a list of column names')


def parse_copy_options(options: Mapping[str, object], *, is_from: bool,
                       column_names: Sequence[str] = ()) -> CopyOptions:
    """Validate COPY options given as the statement spelled them (name -> value).

    Names are case-insensitive (``format``, ``delimiter``, ``null``, ``header``, ``quote``,
    ``escape``, ``force_quote``, ``force_not_null``, ``force_null``, ``encoding``,
    ``freeze``); a flag without a value is ``True``; column lists are lists of names and
    FORCE_QUOTE may be ``'*'``. ``column_names`` are the columns the COPY reads or writes,
    against which the FORCE_* lists are checked. Errors are PostgreSQL's.
    """
    given = {name.lower(): value for name, value in options.items()}
    fmt = "text"
    if "format" in given:
        fmt = _option_text("format", given["format"]).lower()
        if fmt not in FORMATS:
            raise InvalidParameterValue(f'COPY format "{given["format"]}" not recognized')
    binary, csv = fmt == "binary", fmt == "csv"
    values: dict[str, object] = {"format": fmt}
    for name, value in given.items():
        if name == "format":
            continue
        if name in ("delimiter", "null") and binary:
            raise SyntaxError(f"cannot specify {name.upper()} in BINARY mode")
        if name in ("delimiter", "null", "quote", "escape"):
            values[name] = _option_text(name, value)
        elif name == "header":
            values["header"], values["header_match"] = _option_header(value)
        elif name in ("force_quote", "force_not_null", "force_null"):
            columns = _option_columns(name, value)
            if columns is None and name == "force_quote":
                values["force_quote_all"] = True
            elif columns is None:
                raise SyntaxError(f'argument to option "{name}" must be a list of column names')
            else:
                values[name] = columns
        elif name == "encoding":
            values["encoding"] = _encoding(_option_text(name, value))
        elif name == "freeze":
            _option_bool(name, value)
        elif name == "default":
            raise FeatureNotSupported("COPY DEFAULT is not supported")
        else:
            raise SyntaxError(f'option "{name}" not recognized')
    values.setdefault("delimiter", "," if csv else "\t")
    values.setdefault("null", "" if csv else "\\N")
    values.setdefault("quote", '"')
    values.setdefault("escape", values["quote"])
    copy = CopyOptions(**values)  # type: ignore[arg-type]
    _check_options(copy, given, is_from)
    _check_force_columns(copy, column_names)
    return copy


def _encoding(name: str) -> str:
    key = name.upper().replace("-", "").replace("_", "")
    for pg_name, python_name in _ENCODINGS.items():
        if pg_name.replace("_", "") == key:
            return python_name
    raise InvalidParameterValue('argument to option "encoding" must be a valid encoding name')


def _check_options(copy: CopyOptions, given: Mapping[str, object], is_from: bool) -> None:
    """ProcessCopyOptions' consistency checks, in PostgreSQL's order."""
    delimiter, null = copy.delimiter, copy.null
    if len(delimiter.encode()) != 1:
        raise FeatureNotSupported("COPY delimiter must be a single one-byte character")
    if delimiter in "\r\n":
        raise InvalidParameterValue("COPY delimiter cannot be newline or carriage return")
    if "\r" in null or "\n" in null:
        raise InvalidParameterValue("COPY null representation cannot use newline or carriage return")
    if not copy.csv and delimiter in "\\.abcdefghijklmnopqrstuvwxyz0123456789":
        raise InvalidParameterValue(f'COPY delimiter cannot be "{delimiter}"')
    if copy.binary and copy.header:
        raise FeatureNotSupported("cannot specify HEADER in BINARY mode")
    if copy.header_match and not is_from:
        raise FeatureNotSupported('cannot use "match" with HEADER in COPY TO')
    if not copy.csv and "quote" in given:
        raise FeatureNotSupported("COPY quote available only in CSV mode")
    if copy.csv and len(copy.quote.encode()) != 1:
        raise FeatureNotSupported("COPY quote must be a single one-byte character")
    if copy.csv and delimiter == copy.quote:
        raise InvalidParameterValue("COPY delimiter and quote must be different")
    if not copy.csv and "escape" in given:
        raise FeatureNotSupported("COPY escape available only in CSV mode")
    if copy.csv and len(copy.escape.encode()) != 1:
        raise FeatureNotSupported("COPY escape must be a single one-byte character")
    if not copy.csv and (copy.force_quote or copy.force_quote_all):
        raise FeatureNotSupported("COPY force quote available only in CSV mode")
    if (copy.force_quote or copy.force_quote_all) and is_from:
        raise FeatureNotSupported("COPY force quote only available using COPY TO")
    if not copy.csv and copy.force_not_null:
        raise FeatureNotSupported("COPY force not null available only in CSV mode")
    if copy.force_not_null and not is_from:
        raise FeatureNotSupported("COPY force not null only available using COPY FROM")
    if not copy.csv and copy.force_null:
        raise FeatureNotSupported("COPY force null available only in CSV mode")
    if copy.force_null and not is_from:
        raise FeatureNotSupported("COPY force null only available using COPY FROM")
    if delimiter in null:
        raise InvalidParameterValue("COPY delimiter must not appear in the NULL specification")
    if copy.csv and copy.quote in null:
        raise InvalidParameterValue("CSV quote character must not appear in the NULL specification")


def _check_force_columns(copy: CopyOptions, column_names: Sequence[str]) -> None:
    names = set(column_names)
    for option, listed in (("FORCE_QUOTE", copy.force_quote), ("FORCE_NOT_NULL", copy.force_not_null),
                           ("FORCE_NULL", copy.force_null)):
        for name in listed:
            if name not in names:
                raise InvalidColumnReference(f'{option} column "{name}" not referenced by COPY')


# --- errors with PostgreSQL's CONTEXT line ---------------------------------------------------------


def limit_printout_length(text: str) -> str:
    """At most MAX_COPY_DATA_DISPLAY bytes of a value, then '...', as COPY's messages show it."""
    raw = text.encode("utf-8")
    if len(raw) <= MAX_COPY_DATA_DISPLAY:
        return text
    return raw[:MAX_COPY_DATA_DISPLAY].decode("utf-8", errors="ignore") + "..."


def _with_context(err: PgError, context: str) -> PgError:
    err.context = context
    return err


# --- text and csv line parsing -----------------------------------------------------------------------

_TEXT_ESCAPE = re.compile(rb"\\(?:([0-7]{1,3})|x([0-9a-fA-F]{1,2})|([\s\S])|$)")
_TEXT_ESCAPE_CHARS = {b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}


def _unescape_match(match: re.Match[bytes]) -> bytes:
    octal, hexa, other = match.groups()
    if octal is not None:
        return bytes([int(octal, 8) & 0xFF])
    if hexa is not None:
        return bytes([int(hexa, 16)])
    if other is None:
        return b"\\"
    return _TEXT_ESCAPE_CHARS.get(other, other)


def unescape_text_field(raw: str) -> str:
    """The value of a text-format field: backslash escapes resolved (\\n, \\t, \\123, \\x41 ...)."""
    if "\\" not in raw:
        return raw
    resolved = _TEXT_ESCAPE.sub(_unescape_match, raw.encode("utf-8"))
    try:
        return resolved.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _invalid_utf8(resolved, exc.start) from None


def _invalid_utf8(data: bytes, position: int) -> PgError:
    shown = " ".join(f"0x{b:02x}" for b in data[position: position + 2])
    return CharacterNotInRepertoire(f'invalid byte sequence for encoding "UTF8": {shown}')


class _TextLineSplitter:
    """Splits text-format lines into fields (None for the NULL marker)."""

    def __init__(self, options: CopyOptions) -> None:
        self.delimiter = options.delimiter
        self.null = options.null
        self.separators = re.compile(r"\\[\s\S]?|" + re.escape(options.delimiter))

    def fields(self, line: str) -> list[str | None]:
        null = self.null
        if "\\" not in line:
            return [None if f == null else f for f in line.split(self.delimiter)]
        raws, start = [], 0
        for match in self.separators.finditer(line):
            if match.group() == self.delimiter:
                raws.append(line[start: match.start()])
                start = match.end()
        raws.append(line[start:])
        return [None if raw == null else unescape_text_field(raw) for raw in raws]


class _CsvRecordReader:
    """Finds CSV records (which may span lines inside quotes) and splits them into fields."""

    def __init__(self, options: CopyOptions) -> None:
        d, q, e = (re.escape(c) for c in (options.delimiter, options.quote, options.escape))
        if options.quote == options.escape:
            quoted = f"{q}(?:[^{q}]|{q}{q})*{q}"
        else:
            quoted = f"{q}(?:[^{q}{e}]|{e}[\\s\\S])*{q}"
        unquoted = f"[^{d}{q}\\r\\n]+"
        field = f"(?:{quoted}|{unquoted})*"
        self.record = re.compile(f"({field}(?:{d}{field})*)(\\r\\n|\\n|\\r)")
        self.unterminated = re.compile(f"({field}(?:{d}{field})*)$")
        self.tokens = re.compile(f"({quoted})|({d})|({unquoted})")
        self.simple_fields = re.compile(f"(?:({quoted})|([^{d}{q}\\r\\n]*)){d}")
        self.options = options
        self.pairs = ((options.escape + options.quote, options.quote),
                      (options.escape + options.escape, options.escape))

    def split(self, record: str) -> list[tuple[str, bool]]:
        """(value, was quoted) for each field of a record."""
        options = self.options
        if options.quote not in record:
            return [(f, False) for f in record.split(options.delimiter)]
        pieces = self.simple_fields.findall(record + options.delimiter)
        if sum(len(quoted) + len(plain) + 1 for quoted, plain in pieces) == len(record) + 1:
            return [(self._unquote(quoted[1:-1]), True) if quoted else (plain, False) for quoted, plain in pieces]
        return self._split_tokens(record)

    def _split_tokens(self, record: str) -> list[tuple[str, bool]]:
        """Fields that mix quoted and unquoted parts ('a"b,c"d' is 'ab,cd')."""
        fields: list[tuple[str, bool]] = []
        parts: list[str] = []
        quoted = False
        for match in self.tokens.finditer(record):
            quoted_text, delimiter, plain = match.groups()
            if delimiter is not None:
                fields.append(("".join(parts), quoted))
                parts, quoted = [], False
            elif quoted_text is not None:
                parts.append(self._unquote(quoted_text[1:-1]))
                quoted = True
            else:
                parts.append(plain)
        fields.append(("".join(parts), quoted))
        return fields

    def _unquote(self, inner: str) -> str:
        options = self.options
        if options.escape not in inner:
            return inner
        if options.quote == options.escape:
            return inner.replace(options.quote * 2, options.quote)
        out, i = [], 0
        while i < len(inner):
            pair = inner[i: i + 2]
            if len(pair) == 2 and pair[0] == options.escape and pair[1] in (options.quote, options.escape):
                out.append(pair[1])
                i += 2
            else:
                out.append(inner[i])
                i += 1
        return "".join(out)


# --- COPY FROM STDIN -------------------------------------------------------------------------------------


@dataclass
class _PendingRows:
    """Parsed text/csv rows not yet converted, with the input line number of each."""

    rows: list[list[str | None]]
    lines: list[int]


class CopyFromStdin(CopyIn):
    """COPY table FROM STDIN: parse the client's data and pass storage-typed batches to ``sink``.

    ``columns`` are the target columns in the data's order (name, type OID, typmod);
    ``sink`` receives each batch as a pyarrow Table with one storage-typed column per
    target column. Data is parsed once ``parse_threshold_bytes`` are waiting, and batches
    of about ``batch_rows`` rows go to the sink. Batches already handed to the sink stay
    there when a later part of the data fails: the caller runs the COPY in a transaction
    and rolls it back on error.
    """

    def __init__(self, table_name: str, columns: list[ColumnInfo], options: CopyOptions,
                 sink: Callable[[pa.Table], None], *, format_options: FormatOptions = DEFAULT_OPTIONS,
                 batch_rows: int = BATCH_ROWS, parse_threshold_bytes: int = PARSE_THRESHOLD_BYTES) -> None:
        self.table_name = table_name
        self.columns = columns
        self.format = options.format
        self.options = options
        self.sink = sink
        self.format_options = format_options
        self.batch_rows = batch_rows
        self.parse_threshold_bytes = parse_threshold_bytes
        self.codecs: list[Codec] = [codec_for(c.type_oid) for c in columns]
        self.schema = pa.schema([pa.field(c.name, codec.storage_type(c.typmod))
                                 for c, codec in zip(columns, self.codecs)])
        self.rows_copied = 0
        self._pending = bytearray()
        self._carry = ""  # csv: the start of a record not yet complete
        self._line = 0  # input lines (text, csv) or tuples (binary) read so far
        self._done = False  # the end-of-data marker was seen
        self._header_pending = options.header
        self._text_rows = _PendingRows([], [])
        self._tables: list[pa.Table] = []
        self._table_rows = 0
        self._binary = _BinaryReader(self) if options.binary else None
        self._splitter = _TextLineSplitter(options) if options.format == "text" else None
        self._csv = _CsvRecordReader(options) if options.csv else None

    # CopyIn interface
    def write(self, data: bytes) -> None:
        if self._done and not self.options.binary:
            return
        self._pending += data
        if len(self._pending) >= self.parse_threshold_bytes:
            self._parse_pending(final=False)

    def finish(self) -> Result:
        self._parse_pending(final=True)
        self._flush_text_rows()
        self._flush_tables(force=True)
        return Result(tag=f"COPY {self.rows_copied}")

    def abort(self, message: str) -> None:
        self._pending = bytearray()
        self._tables.clear()
        self._text_rows = _PendingRows([], [])

    # dispatch
    def _parse_pending(self, final: bool) -> None:
        if self._binary is not None:
            consumed = self._binary.parse(self._pending, final)
            self._pending = self._pending[consumed:]
            return
        if self._done:
            self._pending = bytearray()
            return
        text = self._decode_complete_lines(final)
        if self._csv is not None:
            self._parse_csv(self._carry + text, final)
        else:
            self._parse_text(text)

    def _decode_complete_lines(self, final: bool) -> str:
        """Decode the pending bytes up to the last newline (all of them at the end)."""
        end = len(self._pending) if final else self._pending.rfind(b"\n") + 1
        chunk = bytes(self._pending[:end])
        self._pending = self._pending[end:]
        try:
            return chunk.decode(self.options.encoding)
        except UnicodeDecodeError as exc:
            line = self._line + chunk.count(b"\n", 0, exc.start) + 1
            raise _with_context(_invalid_utf8(chunk, exc.start), f"COPY {self.table_name}, line {line}") from None

    # text format
    def _parse_text(self, text: str) -> None:
        if not text:
            return
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        for line in lines:
            self._line += 1
            if line.endswith("\r"):
                line = line[:-1]
            if line == "\\.":
                self._done = True
                self._pending = bytearray()
                break
            if self._header_pending:
                self._take_header(self._splitter.fields(line), line)  # type: ignore[union-attr]
                continue
            self._add_row(self._splitter.fields(line), line)  # type: ignore[union-attr]
        self._flush_text_rows_if_full()

    # csv format
    def _parse_csv(self, text: str, final: bool) -> None:
        reader = self._csv
        assert reader is not None
        position = 0
        while position < len(text):
            match = reader.record.match(text, position)
            if match is None:
                break
            position = match.end()
            if not self._csv_record(match.group(1)):
                self._done = True
                self._pending = bytearray()
                self._carry = ""
                return
        rest = text[position:]
        if final and rest:
            tail = reader.unterminated.match(rest)
            if tail is None:
                self._line += 1
                raise _with_context(BadCopyFileFormat("unterminated CSV quoted field"),
                                    f'COPY {self.table_name}, line {self._line}: "{limit_printout_length(rest)}"')
            self._csv_record(rest)
            rest = ""
        self._carry = rest
        self._flush_text_rows_if_full()

    def _csv_record(self, record: str) -> bool:
        """Take one csv record; False at the end-of-data marker."""
        self._line += 1 + record.count("\n")
        if record == "\\.":
            return False
        fields = self._csv.split(record)  # type: ignore[union-attr]
        if self._header_pending:
            self._take_header([value for value, _ in fields], record)
            return True
        self._add_row(self._csv_values(fields), record)
        return True

    def _csv_values(self, fields: list[tuple[str, bool]]) -> list[str | None]:
        options = self.options
        null = options.null
        if not options.force_not_null and not options.force_null:
            return [None if value == null and not quoted else value for value, quoted in fields]
        values: list[str | None] = []
        for index, (value, quoted) in enumerate(fields):
            name = self.columns[index].name if index < len(self.columns) else ""
            if not quoted and value == null and name not in options.force_not_null:
                values.append(None)
            elif quoted and value == null and name in options.force_null:
                values.append(None)
            else:
                values.append(value)
        return values

    # rows -> columns
    def _take_header(self, names: list[str | None], line: str) -> None:
        self._header_pending = False
        if not self.options.header_match:
            return
        context = f"COPY {self.table_name}, line {self._line}: \"{limit_printout_length(line)}\""
        if len(names) != len(self.columns):
            raise _with_context(BadCopyFileFormat(
                f"wrong number of fields in header line: got {len(names)}, expected {len(self.columns)}"), context)
        for number, (name, column) in enumerate(zip(names, self.columns), start=1):
            if name is None:
                raise _with_context(BadCopyFileFormat(
                    f'column name mismatch in header line field {number}: got null value '
                    f'("{self.options.null}"), expected "{column.name}"'), context)
            if name != column.name:
                raise _with_context(BadCopyFileFormat(
                    f'column name mismatch in header line field {number}: got "{name}", '
                    f'expected "{column.name}"'), context)

    def _add_row(self, fields: list[str | None], line: str) -> None:
        expected = len(self.columns)
        if len(fields) != expected:
            if len(fields) > expected:
                err = BadCopyFileFormat("extra data after last expected column")
            else:
                err = BadCopyFileFormat(f'missing data for column "{self.columns[len(fields)].name}"')
            raise _with_context(err, f'COPY {self.table_name}, line {self._line}: "{limit_printout_length(line)}"')
        pending = self._text_rows
        pending.rows.append(fields)
        pending.lines.append(self._line)

    def _flush_text_rows_if_full(self) -> None:
        if len(self._text_rows.rows) >= self.batch_rows:
            self._flush_text_rows()

    def _flush_text_rows(self) -> None:
        pending = self._text_rows
        if not pending.rows:
            return
        self._text_rows = _PendingRows([], [])
        arrays = []
        for index, (column, codec) in enumerate(zip(self.columns, self.codecs)):
            values = [row[index] for row in pending.rows]
            arrays.append(self._parse_text_values(codec, column, values, pending.lines))
        self._add_table(pa.Table.from_arrays(arrays, schema=self.schema))
        self._flush_tables(force=False)

    def _parse_text_values(self, codec: Codec, column: ColumnInfo, values: list[str | None],
                           lines: list[int]) -> pa.Array:
        try:
            return codec.parse_text_column(values, column.typmod, options=self.format_options)
        except PgError:
            for value, line in zip(values, lines):
                try:
                    codec.parse_text_column([value], column.typmod, options=self.format_options)
                except PgError as err:
                    shown = "null input" if value is None else f'"{limit_printout_length(value)}"'
                    raise _with_context(err, f"COPY {self.table_name}, line {line}, column {column.name}: {shown}")
            raise

    # batches -> sink
    def _add_table(self, table: pa.Table) -> None:
        self._tables.append(table)
        self._table_rows += table.num_rows

    def _flush_tables(self, force: bool) -> None:
        if not self._tables or (not force and self._table_rows < self.batch_rows):
            return
        tables, self._tables = self._tables, []
        batch = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        self._table_rows = 0
        if batch.num_rows:
            self.sink(batch)
            self.rows_copied += batch.num_rows


# --- binary format ----------------------------------------------------------------------------------------

MIN_VECTORISED_ROWS = 8
SLOW_ROWS_BEFORE_RETRY = 256
_INT16 = struct.Struct(">h")
_INT32 = struct.Struct(">i")


class _BinaryReader:
    """Parses PGCOPY data: runs of rows with one layout by numpy, other rows one at a time."""

    def __init__(self, copy: CopyFromStdin) -> None:
        self.copy = copy
        self.ncolumns = len(copy.columns)
        self.header_done = False
        self.eof = False
        self.slow_budget = 0
        self.slow_fields: list[list[bytes | None]] = [[] for _ in copy.columns]
        self.slow_rows = 0
        self.slow_first_line = 0

    def error(self, message: str, column: str | None = None) -> PgError:
        line = self.copy._line
        where = f"COPY {self.copy.table_name}, line {line}" + (f", column {column}" if column else "")
        return _with_context(BadCopyFileFormat(message), where)

    def parse(self, data: bytearray, final: bool) -> int:
        """Parse what ``data`` holds of whole rows; returns the number of bytes consumed."""
        position = 0
        if not self.header_done:
            position = self.read_header(data, final)
            if not self.header_done:
                return 0
        while position < len(data):
            if self.eof:
                raise self.error("received copy data after EOF marker")
            position = self.read_rows(data, position)
            if position < 0:  # an incomplete row: wait for more data
                position = -position - 1
                break
        self.flush_slow_rows()
        if final and position < len(data):
            self.copy._line += 1
            raise self.error("unexpected EOF in COPY data")
        if final and not self.eof:
            if not self.header_done:
                raise self.error("COPY file signature not recognized")
        return position

    def read_header(self, data: bytearray, final: bool) -> int:
        if len(data) < BINARY_HEADER_FIXED:
            if data[: len(BINARY_SIGNATURE)] != BINARY_SIGNATURE[: len(data)]:
                raise self.error("COPY file signature not recognized")
            if final:
                raise self.error("COPY file signature not recognized" if len(data) < len(BINARY_SIGNATURE)
                                 else "invalid COPY file header (missing flags)")
            return 0
        if bytes(data[: len(BINARY_SIGNATURE)]) != BINARY_SIGNATURE:
            raise self.error("COPY file signature not recognized")
        (flags,) = _INT32.unpack_from(data, len(BINARY_SIGNATURE))
        if flags & (1 << 16):
            raise self.error("invalid COPY file header (WITH OIDS)")
        if flags & ~0x1FFFF & 0xFFFFFFFF:
            raise self.error("unrecognized critical flags in COPY file header")
        (extension,) = _INT32.unpack_from(data, len(BINARY_SIGNATURE) + 4)
        if extension < 0:
            raise self.error("invalid COPY file header (missing length)")
        if len(data) < BINARY_HEADER_FIXED + extension:
            if final:
                raise self.error("invalid COPY file header (wrong length)")
            return 0
        self.header_done = True
        return BINARY_HEADER_FIXED + extension

    def read_rows(self, data: bytearray, position: int) -> int:
        """Read one row, or a run of rows with its layout; -(position + 1) when incomplete."""
        row = self.read_one_row(data, position)
        if row is None:
            return -position - 1
        fields, end = row
        if fields is None:  # the trailer
            self.eof = True
            return end
        if self.slow_budget > 0 or any(f is None for f in fields):
            self.slow_budget = max(self.slow_budget - 1, 0)
            self.add_slow_row(fields)
            return end
        run = self.vectorised_run(data, position, end - position, fields)
        if run < MIN_VECTORISED_ROWS:
            self.slow_budget = SLOW_ROWS_BEFORE_RETRY
            self.add_slow_row(fields)
            return end
        return position + run * (end - position)

    def read_one_row(self, data: bytearray, position: int) -> tuple[list[bytes | None] | None, int] | None:
        """The fields of the row at ``position`` and where it ends; None if the row is incomplete."""
        if position + 2 > len(data):
            return None
        (count,) = _INT16.unpack_from(data, position)
        position += 2
        if count == -1:
            return None, position
        if count != self.ncolumns:
            self.copy._line += 1
            raise self.error(f"row field count is {count}, expected {self.ncolumns}")
        fields: list[bytes | None] = []
        for _ in range(count):
            if position + 4 > len(data):
                return None
            (length,) = _INT32.unpack_from(data, position)
            position += 4
            if length == -1:
                fields.append(None)
                continue
            if length < 0:
                self.copy._line += 1
                raise self.error("invalid field size")
            if position + length > len(data):
                return None
            fields.append(bytes(data[position: position + length]))
            position += length
        return fields, position

    def add_slow_row(self, fields: list[bytes | None]) -> None:
        if not self.slow_rows:
            self.slow_first_line = self.copy._line + 1
        self.slow_rows += 1
        self.copy._line += 1
        for column, value in zip(self.slow_fields, fields):
            column.append(value)

    def flush_slow_rows(self) -> None:
        if not self.slow_rows:
            return
        columns, self.slow_fields = self.slow_fields, [[] for _ in self.copy.columns]
        self.slow_rows = 0
        arrays = [self.parse_values(index, values) for index, values in enumerate(columns)]
        self.copy._add_table(pa.Table.from_arrays(arrays, schema=self.copy.schema))
        self.copy._flush_tables(force=False)

    def parse_values(self, index: int, values: list[bytes | None]) -> pa.Array:
        codec, column = self.copy.codecs[index], self.copy.columns[index]
        try:
            return codec.parse_binary_column(values, column.typmod)
        except PgError as err:
            raise self.locate(index, values, self.slow_first_line, err) from None

    def locate(self, index: int, values: Sequence[bytes | None], first_line: int, err: PgError) -> PgError:
        """The error of the first value that fails, with its line's context."""
        codec, column = self.copy.codecs[index], self.copy.columns[index]
        for offset, value in enumerate(values):
            try:
                codec.parse_binary_column([value], column.typmod)
            except PgError as row_err:
                return _with_context(row_err, f"COPY {self.copy.table_name}, line {first_line + offset}, "
                                              f"column {column.name}")
        return _with_context(err, f"COPY {self.copy.table_name}, line {first_line}, column {column.name}")

    def vectorised_run(self, data: bytearray, position: int, row_size: int, fields: list[bytes | None]) -> int:
        """Parse the rows from ``position`` that share the first row's layout; returns their count."""
        available = (len(data) - position) // row_size
        if available < MIN_VECTORISED_ROWS:
            return 0
        matrix = np.frombuffer(data, dtype=np.uint8, count=available * row_size, offset=position)
        matrix = matrix.reshape(available, row_size)
        header_bytes, data_spans = _layout(fields)
        expected = matrix[0, header_bytes]
        matches = (matrix[:, header_bytes] == expected).all(axis=1)
        run = available if matches.all() else int(np.argmin(matches))
        if run < MIN_VECTORISED_ROWS:
            return run
        first_line = self.copy._line + 1
        self.flush_slow_rows()
        rows = matrix[:run]
        arrays = []
        for index, (start, stop) in enumerate(data_spans):
            codec, column = self.copy.codecs[index], self.copy.columns[index]
            block = rows[:, start:stop]
            try:
                arrays.append(codec.parse_binary_fixed(block, column.typmod))
            except PgError as err:
                raise self.locate(index, [r.tobytes() for r in block], first_line, err) from None
        self.copy._line += run
        self.copy._add_table(pa.Table.from_arrays(arrays, schema=self.copy.schema))
        self.copy._flush_tables(force=False)
        return run


def _layout(fields: list[bytes | None]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Byte positions of a row's count and length words, and each field's data span."""
    header = [0, 1]
    spans = []
    offset = 2
    for value in fields:
        header.extend(range(offset, offset + 4))
        offset += 4
        length = len(value) if value is not None else 0
        spans.append((offset, offset + length))
        offset += length
    return np.array(header, dtype=np.intp), spans


# --- COPY TO STDOUT ------------------------------------------------------------------------------------------

_TEXT_OUTPUT_ESCAPES = ((b"\\", b"\\\\"), (b"\b", b"\\b"), (b"\f", b"\\f"), (b"\n", b"\\n"), (b"\r", b"\\r"),
                        (b"\t", b"\\t"), (b"\v", b"\\v"))


class CopyToStdout(CopyOut):
    """COPY ... TO STDOUT: ``chunks()`` yields the data of ``table`` (DuckDB representation),
    one row per chunk as PostgreSQL sends one row per CopyData message (psycopg's
    ``Copy.rows()`` relies on it); rows are encoded a batch at a time."""

    def __init__(self, table: pa.Table, columns: list[ColumnInfo], options: CopyOptions, *,
                 format_options: FormatOptions = DEFAULT_OPTIONS, chunk_rows: int = OUTPUT_CHUNK_ROWS) -> None:
        self.table = table
        self.columns = columns
        self.format = options.format
        self.options = options
        self.format_options = format_options
        self.chunk_rows = chunk_rows
        self.tag = f"COPY {table.num_rows}"

    def chunks(self) -> Iterator[bytes]:
        """The binary header travels with the first row (or the trailer), as PostgreSQL sends it."""
        options = self.options
        pending = b""
        if options.binary:
            pending = BINARY_SIGNATURE + struct.pack(">ii", 0, 0)
        elif options.header:
            yield self.header_line()
        for start in range(0, self.table.num_rows, self.chunk_rows):
            batch = self.table.slice(start, self.chunk_rows)
            if options.binary:
                rows = self.binary_rows(batch)
            elif options.csv:
                rows = self.csv_rows(batch)
            else:
                rows = self.text_rows(batch)
            for row in rows:
                yield pending + row
                pending = b""
        if options.binary:
            yield pending + BINARY_TRAILER

    def encode(self, batch: pa.Table, fmt: int) -> list[list[bytes | None]]:
        return [encode_column(batch.column(i), column.type_oid, fmt, options=self.format_options)
                for i, column in enumerate(self.columns)]

    def header_line(self) -> bytes:
        names = [c.name.encode("utf-8") for c in self.columns]
        if self.options.csv:
            fields = [self.csv_field(name, False) for name in names]
        else:
            fields = [_text_escape_value(name, self.options.delimiter.encode()) for name in names]
        return self.options.delimiter.encode().join(fields) + b"\n"

    def text_rows(self, batch: pa.Table) -> list[bytes]:
        delimiter = self.options.delimiter.encode()
        null = self.options.null.encode("utf-8")
        columns = []
        for values in self.encode(batch, 0):
            escaped = _text_escape_column(pa.array(values, pa.binary()), delimiter)
            columns.append(escaped.fill_null(null))
        if not columns:
            return [b"\n"] * batch.num_rows
        rows = pc.binary_join_element_wise(*columns, delimiter) if len(columns) > 1 else columns[0]
        return [row + b"\n" for row in rows.to_pylist()]

    def csv_rows(self, batch: pa.Table) -> list[bytes]:
        options = self.options
        delimiter = options.delimiter.encode()
        null = options.null.encode("utf-8")
        forced = [options.force_quote_all or c.name in options.force_quote for c in self.columns]
        encoded = self.encode(batch, 0)
        single = len(self.columns) == 1
        lines = []
        for row in zip(*encoded):
            lines.append(delimiter.join(null if v is None else self.csv_field(v, force, single)
                                        for v, force in zip(row, forced)))
        return [line + b"\n" for line in lines]

    def csv_field(self, value: bytes, force: bool, single: bool = False) -> bytes:
        """CopyAttributeOutCSV: quote when forced, when equal to NULL, or holding special characters."""
        options = self.options
        quote, escape = options.quote.encode(), options.escape.encode()
        use_quote = force or value == options.null.encode("utf-8")
        if not use_quote:
            use_quote = (single and value == b"\\.") or any(
                c in value for c in (options.delimiter.encode(), quote, b"\n", b"\r"))
        if not use_quote:
            return value
        if quote == escape:
            inner = value.replace(quote, quote + quote)
        else:
            inner = value.replace(escape, escape + escape).replace(quote, escape + quote)
        return quote + inner + quote

    def binary_rows(self, batch: pa.Table) -> list[bytes]:
        count = _INT16.pack(len(self.columns))
        if not self.columns:
            return [count] * batch.num_rows
        return [count + b"".join(b"\xff\xff\xff\xff" if value is None else _INT32.pack(len(value)) + value
                                 for value in row)
                for row in zip(*self.encode(batch, 1))]


def _text_escape_column(values: pa.Array, delimiter: bytes) -> pa.Array:
    """CopyAttributeOutText over a column: backslash-escape specials and the delimiter."""
    for plain, escaped in _TEXT_OUTPUT_ESCAPES + _delimiter_escape(delimiter):
        if pc.any(pc.match_substring(values, plain)).as_py():
            values = pc.replace_substring(values, plain, escaped)
    return values


def _text_escape_value(value: bytes, delimiter: bytes) -> bytes:
    for plain, escaped in _TEXT_OUTPUT_ESCAPES + _delimiter_escape(delimiter):
        value = value.replace(plain, escaped)
    return value


def _delimiter_escape(delimiter: bytes) -> tuple[tuple[bytes, bytes], ...]:
    if any(delimiter == plain for plain, _ in _TEXT_OUTPUT_ESCAPES):
        return ()
    return ((delimiter, b"\\" + delimiter),)
