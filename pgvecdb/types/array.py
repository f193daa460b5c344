"""Arrays of any type: ``ArrayCodec`` wraps the codec of the element type.

Arrays are Arrow lists in storage and DuckDB (nested lists for multidimensional arrays in
DuckDB results; table columns hold one-dimensional arrays). Elements are converted by the
element codec a whole column at a time, so an array of vectors is encoded by the vector
codec: ``{"[1,2,3]","[4,5,6]"}``.

Text form: ``{a,b,c}`` with PostgreSQL's quoting (an element is double-quoted when it is
empty, is ``NULL`` in any case, or holds braces, quotes, the delimiter, backslashes or
white space; inside quotes ``"`` and ``\\`` are backslash-escaped). Binary form: ndim,
has-null flag, element OID, (length, lower bound) per dimension, then length-prefixed
elements (-1 for NULL), all big-endian.
"""

from __future__ import annotations

import re
import struct
from typing import Callable, Sequence

import pyarrow as pa

from pgvecdb.errors import (
    ArraySubscriptError,
    FeatureNotSupported,
    InvalidBinaryRepresentation,
    InvalidTextRepresentation,
    ProgramLimitExceeded,
)
from pgvecdb.types.codecs import DEFAULT_OPTIONS, Codec, FormatOptions, register
from pgvecdb.types.registry import TYPES, PgType

MAXDIM = 6
_NEEDS_QUOTES = re.compile(rb'[{}",\\ \t\n\r\v\f]')
_NESTED = (pa.types.is_list, pa.types.is_large_list)

Nested = list  # a nested list of element values; depth = number of dimensions


def quote_element(text: bytes, delimiter: bytes = b",") -> bytes:
    """An element's text as it appears inside an array literal."""
    if text and not _NEEDS_QUOTES.search(text) and delimiter not in text and text.upper() != b"NULL":
        return text
    return b'"' + text.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


# --- array literal parsing -----------------------------------------------------------------


class _LiteralParser:
    """ReadArrayStr: nested braces of elements, quoting, backslash escapes, unquoted NULL."""

    def __init__(self, text: str, delimiter: str) -> None:
        self.text = text
        self.delimiter = delimiter
        self.pos = 0

    def error(self, detail: str) -> InvalidTextRepresentation:
        return InvalidTextRepresentation(f'malformed array literal: "{self.text}"', detail=detail)

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def parse(self) -> Nested:
        self.skip_dimensions()
        self.skip_space()
        if self.pos >= len(self.text) or self.text[self.pos] != "{":
            raise self.error('Array value must start with "{" or dimension information.')
        value = self.parse_braces(1)
        self.skip_space()
        if self.pos != len(self.text):
            raise self.error("Junk after closing right brace.")
        return value

    def skip_dimensions(self) -> None:
        """Drop '[1:3]=' decorations; lower bounds are not kept."""
        self.skip_space()
        if self.pos < len(self.text) and self.text[self.pos] == "[":
            match = re.compile(r"(\s*\[\s*[+-]?\d+\s*(?::\s*[+-]?\d+\s*)?\])+\s*=").match(self.text, self.pos)
            if match is None:
                raise self.error('Missing "]" after array dimensions.')
            self.pos = match.end()

    def parse_braces(self, depth: int) -> Nested:
        if depth > MAXDIM:
            raise ProgramLimitExceeded(f"number of array dimensions exceeds the maximum allowed ({MAXDIM})")
        self.pos += 1  # '{'
        items: list = []
        kinds: set[bool] = set()
        self.skip_space()
        if self.pos < len(self.text) and self.text[self.pos] == "}":
            self.pos += 1
            return items
        while True:
            self.skip_space()
            if self.pos >= len(self.text):
                raise self.error("Unexpected end of input.")
            if self.text[self.pos] == "{":
                items.append(self.parse_braces(depth + 1))
                kinds.add(True)
            else:
                items.append(self.parse_element())
                kinds.add(False)
            self.skip_space()
            if self.pos >= len(self.text):
                raise self.error("Unexpected end of input.")
            char = self.text[self.pos]
            self.pos += 1
            if char == "}":
                break
            if char != self.delimiter:
                raise self.error(f'Unexpected "{char}" character.')
        if len(kinds) > 1:
            raise self.error("Unexpected array element.")
        if True in kinds and len({_shape(item) for item in items}) > 1:
            raise self.error("Multidimensional arrays must have sub-arrays with matching dimensions.")
        return items

    def parse_element(self) -> str | None:
        out: list[str] = []
        quoted_any = False
        trailing_space_start: int | None = None
        text, delimiter = self.text, self.delimiter
        while self.pos < len(text):
            char = text[self.pos]
            if char == '"':
                quoted_any = True
                self.pos += 1
                while True:
                    if self.pos >= len(text):
                        raise self.error("Unexpected end of input.")
                    char = text[self.pos]
                    if char == "\\":
                        self.pos += 1
                        if self.pos >= len(text):
                            raise self.error("Unexpected end of input.")
                        out.append(text[self.pos])
                    elif char == '"':
                        break
                    else:
                        out.append(char)
                    self.pos += 1
                self.pos += 1
                trailing_space_start = None
                continue
            if char == "\\":
                self.pos += 1
                if self.pos >= len(text):
                    raise self.error("Unexpected end of input.")
                out.append(text[self.pos])
                quoted_any = True
                self.pos += 1
                trailing_space_start = None
                continue
            if char in (delimiter, "}"):
                break
            if char == "{":
                raise self.error('Unexpected "{" character.')
            if char.isspace():
                if trailing_space_start is None:
                    trailing_space_start = len(out)
            else:
                trailing_space_start = None
            out.append(char)
            self.pos += 1
        if trailing_space_start is not None:
            del out[trailing_space_start:]
        value = "".join(out)
        if not quoted_any:
            if not value:
                raise self.error(f'Unexpected "{text[self.pos] if self.pos < len(text) else ""}" character.')
            if value.upper() == "NULL":
                return None
        return value


def _shape(item: object) -> tuple:
    if isinstance(item, list):
        return (len(item),) + (_shape(item[0]) if item else ())
    return ()


def parse_array_text(text: str, delimiter: str = ",") -> Nested:
    """An array literal as nested lists of element texts (None for NULL)."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}") and not any(c in body[1:-1] for c in '{}"\\'):
        inner = body[1:-1]
        if not inner.strip():
            return []
        items = [item.strip() for item in inner.split(delimiter)]
        if all(items):
            return [None if item.upper() == "NULL" else item for item in items]
    return _LiteralParser(text, delimiter).parse()


def array_depth(value: Nested) -> int:
    depth = 1
    while value and isinstance(value[0], list):
        value = value[0]
        depth += 1
    return depth


def flatten_leaves(value: Nested) -> list:
    if value and isinstance(value[0], list):
        return [leaf for item in value for leaf in flatten_leaves(item)]
    return list(value)


def rebuild_nested(leaves: list, shape_of: Nested) -> Nested:
    """Put decoded leaves back in the nesting of ``shape_of``."""
    iterator = iter(leaves)

    def build(node: Nested) -> Nested:
        if node and isinstance(node[0], list):
            return [build(child) for child in node]
        return [next(iterator) for _ in node]

    return build(shape_of)


# --- binary format --------------------------------------------------------------------------


def array_send(dims: list[int], element_oid: int, elements: Sequence[bytes | None]) -> bytes:
    """PostgreSQL's array_send for a rectangular array of encoded elements (lower bounds 1)."""
    has_null = any(e is None for e in elements)
    if not elements or 0 in dims:
        return struct.pack(">iii", 0, 0, element_oid)
    parts = [struct.pack(">iii", len(dims), int(has_null), element_oid)]
    parts.extend(struct.pack(">ii", size, 1) for size in dims)
    for element in elements:
        parts.append(b"\xff\xff\xff\xff" if element is None else struct.pack(">i", len(element)) + element)
    return b"".join(parts)


def array_recv(data: bytes, decode: Callable[[bytes], object]) -> Nested:
    """Nested lists of decoded elements from PostgreSQL's binary array format."""
    if len(data) < 12:
        raise InvalidBinaryRepresentation("insufficient data left in message")
    ndim, flags, _element_oid = struct.unpack_from(">iii", data)
    if ndim < 0 or ndim > MAXDIM:
        raise InvalidBinaryRepresentation(f"invalid number of dimensions: {ndim}")
    if flags not in (0, 1):
        raise InvalidBinaryRepresentation("invalid array flags")
    position = 12
    dims = []
    for _ in range(ndim):
        if position + 8 > len(data):
            raise InvalidBinaryRepresentation("insufficient data left in message")
        size, _lower = struct.unpack_from(">ii", data, position)
        dims.append(size)
        position += 8
    count = 1
    for size in dims:
        count *= size
    leaves = []
    for _ in range(count if ndim else 0):
        if position + 4 > len(data):
            raise InvalidBinaryRepresentation("insufficient data left in message")
        (length,) = struct.unpack_from(">i", data, position)
        position += 4
        if length == -1:
            leaves.append(None)
            continue
        if length < 0 or position + length > len(data):
            raise InvalidBinaryRepresentation("insufficient data left in message")
        leaves.append(decode(data[position: position + length]))
        position += length
    if position != len(data):
        raise InvalidBinaryRepresentation("incorrect binary data format")
    return _shape_leaves(leaves, dims)


def _shape_leaves(leaves: list, dims: list[int]) -> Nested:
    if not dims:
        return []
    if len(dims) == 1:
        return leaves
    step = len(leaves) // dims[0] if dims[0] else 0
    return [_shape_leaves(leaves[i * step: (i + 1) * step], dims[1:]) for i in range(dims[0])]


# --- the codec -----------------------------------------------------------------------------------


class ArrayCodec(Codec):
    """An array type over the codec of its element type."""

    delimiter = b","

    def __init__(self, pgtype: PgType, element: Codec) -> None:
        super().__init__(pgtype)
        self.element = element

    # storage <-> DuckDB
    def storage_type(self, typmod: int = -1) -> pa.DataType:
        return pa.list_(self.element.storage_type(typmod))

    def duck_arrow_type(self) -> pa.DataType:
        return pa.list_(self.element.duck_arrow_type())

    def to_duck(self, column: pa.Array, typmod: int = -1) -> pa.Array:
        return self._map_leaves(column, lambda leaves: self.element.to_duck(leaves, typmod),
                                self.element.storage_type(typmod))

    def from_duck(self, column: pa.Array, typmod: int = -1) -> pa.Array:
        if pa.types.is_string(column.type):
            return self.parse_text_column(column.to_pylist(), typmod)
        column = column.cast(self._duck_list_type(column))
        if _is_nested_list(column.type.value_type, self.element.duck_arrow_type()):
            raise FeatureNotSupported("multidimensional arrays are not supported in table columns")
        return self._map_leaves(column, lambda leaves: self.element.from_duck(leaves, typmod),
                                self.element.duck_arrow_type())

    @staticmethod
    def _map_leaves(column: pa.Array, convert: Callable[[pa.Array], pa.Array], leaf_type: pa.DataType) -> pa.Array:
        """Apply ``convert`` to the leaf values of a (possibly nested) list column."""
        values = column.values
        if _is_nested_list(values.type, leaf_type):
            converted = ArrayCodec._map_leaves(values, convert, leaf_type)
        else:
            converted = convert(values)
        return pa.ListArray.from_arrays(column.offsets, converted,
                                        mask=column.is_null() if column.null_count else None)

    # DuckDB -> wire
    def _leaf_structure(self, column: pa.Array) -> tuple[pa.Array, list[pa.Array]]:
        """The leaf values of a list column and the list levels above them, outermost first."""
        levels = [column]
        values = column.values
        while _is_nested_list(values.type, self.element.duck_arrow_type()):
            levels.append(values)
            values = values.values
        return values, levels

    def _encoded_rows(self, column: pa.Array, encode: Callable[[pa.Array], list]) -> list[Nested | None]:
        column = column.cast(self._duck_list_type(column))
        values, levels = self._leaf_structure(column)
        offsets = levels[-1].offsets
        first, last = offsets[0].as_py(), offsets[-1].as_py()
        leaves = encode(values.slice(first, last - first))
        return self._rows_from_leaves(levels, leaves, first)

    @staticmethod
    def _rows_from_leaves(levels: list[pa.Array], leaves: list, first: int) -> list[Nested | None]:
        nodes: list = leaves
        base = first
        for level in reversed(levels):
            offsets = level.offsets.to_numpy(zero_copy_only=False)
            valid = level.is_valid().to_numpy(zero_copy_only=False)
            nodes = [nodes[offsets[i] - base: offsets[i + 1] - base] if valid[i] else None
                     for i in range(len(level))]
            base = 0
        return nodes

    def _duck_list_type(self, column: pa.Array) -> pa.DataType:
        """The column's own type when it is a list (DuckDB's fixed-size ARRAY becomes a list)."""
        if pa.types.is_fixed_size_list(column.type):
            return pa.list_(column.type.value_type)
        return column.type

    def encode_text(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        delimiter = self.delimiter

        def encode(leaves: pa.Array) -> list[bytes]:
            texts = self.element.encode_text(leaves, options=options)
            return [b"NULL" if t is None else quote_element(t, delimiter) for t in texts]

        return [None if row is None else self._literal(row) for row in self._encoded_rows(column, encode)]

    def _literal(self, row: Nested) -> bytes:
        if row and isinstance(row[0], list):
            return b"{" + self.delimiter.join(self._literal(item) for item in row) + b"}"
        return b"{" + self.delimiter.join(row) + b"}"

    def encode_binary(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        def encode(leaves: pa.Array) -> list[bytes | None]:
            return self.element.encode_binary(leaves, options=options)

        oid = self.element.pgtype.oid
        out: list[bytes | None] = []
        for row in self._encoded_rows(column, encode):
            if row is None:
                out.append(None)
                continue
            dims = _rectangular_dims(row)
            out.append(array_send(dims, oid, flatten_leaves(row)))
        return out

    # wire -> DuckDB parameter
    def decode_text(self, text: str, typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS) -> Nested:
        nested = parse_array_text(text, self.delimiter.decode())
        leaves = [None if v is None else self.element.decode_text(v, typmod, options=options)
                  for v in flatten_leaves(nested)]
        return rebuild_nested(leaves, nested)

    def decode_binary(self, data: bytes, typmod: int = -1) -> Nested:
        return array_recv(data, lambda raw: self.element.decode_binary(raw, typmod))

    # COPY -> storage
    def parse_text_column(
        self, values: Sequence[str | None], typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS
    ) -> pa.Array:
        delimiter = self.delimiter.decode()
        arrays = [None if v is None else parse_array_text(v, delimiter) for v in values]
        return self._storage_column(
            arrays, lambda leaves: self.element.parse_text_column(leaves, typmod, options=options), typmod)

    def parse_binary_column(self, values: Sequence[bytes | None], typmod: int = -1) -> pa.Array:
        arrays = [None if v is None else array_recv(v, bytes) for v in values]
        return self._storage_column(arrays, lambda leaves: self.element.parse_binary_column(leaves, typmod), typmod)

    def _storage_column(self, arrays: list[Nested | None], parse_leaves: Callable[[list], pa.Array],
                        typmod: int) -> pa.Array:
        offsets = [0]
        leaves: list = []
        for array in arrays:
            if array is not None:
                if array and isinstance(array[0], list):
                    raise FeatureNotSupported("multidimensional arrays are not supported in table columns")
                leaves.extend(array)
            offsets.append(len(leaves))
        parsed = parse_leaves(leaves) if leaves else pa.array([], self.element.storage_type(typmod))
        mask = pa.array([a is None for a in arrays]) if any(a is None for a in arrays) else None
        return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), parsed, mask=mask)


def _is_nested_list(value_type: pa.DataType, leaf_type: pa.DataType) -> bool:
    return value_type != leaf_type and any(check(value_type) for check in _NESTED)


def _rectangular_dims(row: Nested) -> list[int]:
    """The dimensions of a nested list, which must be rectangular as PostgreSQL arrays are."""
    dims = []
    level: list = [row]
    while level and all(isinstance(item, list) for item in level):
        sizes = {len(item) for item in level}
        if len(sizes) > 1:
            raise ArraySubscriptError("multidimensional arrays must have array expressions with matching dimensions")
        size = sizes.pop()
        dims.append(size)
        level = [child for item in level for child in item]
        if size == 0:
            break
    return dims


class IntVectorCodec(ArrayCodec):
    """int2vector and oidvector: one-dimensional, written '1 2 3' without braces."""

    delimiter = b" "

    def encode_text(self, column: pa.Array, *, options: FormatOptions = DEFAULT_OPTIONS) -> list[bytes | None]:
        return [None if text is None else text[1:-1] for text in super().encode_text(column, options=options)]

    def decode_text(self, text: str, typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS) -> Nested:
        return [self.element.decode_text(item, typmod) for item in text.split()]

    def parse_text_column(
        self, values: Sequence[str | None], typmod: int = -1, *, options: FormatOptions = DEFAULT_OPTIONS
    ) -> pa.Array:
        return super().parse_text_column([None if v is None else "{" + v + "}" for v in values], typmod,
                                         options=options)


def _register_int_vectors() -> None:
    from pgvecdb.types.codecs import codec_for

    register(IntVectorCodec(TYPES["int2vector"], codec_for(TYPES["int2"].oid)))
    register(IntVectorCodec(TYPES["oidvector"], codec_for(TYPES["oid"].oid)))


_register_int_vectors()
