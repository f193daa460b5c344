"""vector, halfvec and sparsevec values and codecs, against pgvector's own outputs and
pgvector-python."""

from __future__ import annotations

import re
import struct

import numpy as np
import pyarrow as pa
import pytest
from pgvector import HalfVector, Vector
from pgvector import SparseVector as PythonSparseVector

from pgvecdb.errors import PgError
from pgvecdb.types import registry
from pgvecdb.types.registry import VECTOR_TAG
from pgvecdb.types.codecs import codec_for
from pgvecdb.types.halfvec import format_halfvec, parse_halfvec
from pgvecdb.types.sparsevec import SparseVector, format_sparsevec, parse_sparsevec
from pgvecdb.types.vector import float4_texts, format_float4, format_vector, parse_vector

# (input, output) pairs from pgvector's test/expected/vector_type.out
VECTOR_OUTPUTS = [
    ("[1,2,3]", "[1,2,3]"),
    ("[-1,-2,-3]", "[-1,-2,-3]"),
    ("[1.,2.,3.]", "[1,2,3]"),
    (" [ 1,  2 ,    3  ] ", "[1,2,3]"),
    ("[1.23456]", "[1.23456]"),
    ("[1.5e38,-1.5e38]", "[1.5e+38,-1.5e+38]"),
    ("[1.5e+38,-1.5e+38]", "[1.5e+38,-1.5e+38]"),
    ("[1.5e-38,-1.5e-38]", "[1.5e-38,-1.5e-38]"),
    ("[1e-46,1]", "[0,1]"),
    ("[-1e-46,1]", "[-0,1]"),
]

# (input, SQLSTATE, message, detail) from vector_type.out
VECTOR_ERRORS = [
    ("[hello,1]", "22P02", 'invalid input syntax for type vector: "[hello,1]"', None),
    ("[NaN,1]", "22000", "NaN not allowed in vector", None),
    ("[Infinity,1]", "22000", "infinite value not allowed in vector", None),
    ("[-Infinity,1]", "22000", "infinite value not allowed in vector", None),
    ("[4e38,1]", "22003", '"4e38" is out of range for type vector', None),
    ("[-4e38,1]", "22003", '"-4e38" is out of range for type vector', None),
    ("[1,2,3", "22P02", 'invalid input syntax for type vector: "[1,2,3"', None),
    ("[1,2,3]9", "22P02", 'invalid input syntax for type vector: "[1,2,3]9"', "Junk after closing right brace."),
    ("1,2,3", "22P02", 'invalid input syntax for type vector: "1,2,3"', 'Vector contents must start with "[".'),
    ("", "22P02", 'invalid input syntax for type vector: ""', 'Vector contents must start with "[".'),
    ("[", "22P02", 'invalid input syntax for type vector: "["', None),
    ("[ ", "22P02", 'invalid input syntax for type vector: "[ "', None),
    ("[,", "22P02", 'invalid input syntax for type vector: "[,"', None),
    ("[]", "22000", "vector must have at least 1 dimension", None),
    ("[ ]", "22000", "vector must have at least 1 dimension", None),
    ("[,]", "22P02", 'invalid input syntax for type vector: "[,]"', None),
    ("[1,]", "22P02", 'invalid input syntax for type vector: "[1,]"', None),
    ("[1a]", "22P02", 'invalid input syntax for type vector: "[1a]"', None),
    ("[1,,3]", "22P02", 'invalid input syntax for type vector: "[1,,3]"', None),
    ("[1, ,3]", "22P02", 'invalid input syntax for type vector: "[1, ,3]"', None),
]

# from halfvec.out
HALFVEC_OUTPUTS = [
    ("[1,2,3]", "[1,2,3]"),
    ("[1.23456]", "[1.234375]"),
    ("[65519,-65519]", "[65504,-65504]"),
    ("[1e-8,-1e-8]", "[0,-0]"),
    ("[1e-46,1]", "[0,1]"),
]

HALFVEC_ERRORS = [
    ("[hello,1]", "22P02", 'invalid input syntax for type halfvec: "[hello,1]"'),
    ("[NaN,1]", "22000", "NaN not allowed in halfvec"),
    ("[Infinity,1]", "22000", "infinite value not allowed in halfvec"),
    ("[65520,-65520]", "22003", '"65520" is out of range for type halfvec'),
    ("[4e38,1]", "22003", '"4e38" is out of range for type halfvec'),
    ("[]", "22000", "halfvec must have at least 1 dimension"),
    ("1,2,3", "22P02", 'invalid input syntax for type halfvec: "1,2,3"'),
]


@pytest.mark.parametrize("text, expected", VECTOR_OUTPUTS)
def test_vector_text_round_trip(text: str, expected: str) -> None:
    assert format_vector(parse_vector(text)) == expected


@pytest.mark.parametrize("text, sqlstate, message, detail", VECTOR_ERRORS)
def test_vector_input_errors(text: str, sqlstate: str, message: str, detail: str | None) -> None:
    with pytest.raises(PgError) as info:
        parse_vector(text)
    assert (info.value.sqlstate, info.value.message, info.value.detail) == (sqlstate, message, detail)


@pytest.mark.parametrize("text, expected", HALFVEC_OUTPUTS)
def test_halfvec_text_round_trip(text: str, expected: str) -> None:
    assert format_halfvec(parse_halfvec(text)) == expected


@pytest.mark.parametrize("text, sqlstate, message", HALFVEC_ERRORS)
def test_halfvec_input_errors(text: str, sqlstate: str, message: str) -> None:
    with pytest.raises(PgError) as info:
        parse_halfvec(text)
    assert (info.value.sqlstate, info.value.message) == (sqlstate, message)


def test_typmod_mismatch_and_dimension_limit() -> None:
    with pytest.raises(PgError, match="expected 2 dimensions, not 3") as info:
        parse_vector("[1,2,3]", 2)
    assert info.value.sqlstate == "22000"
    assert len(parse_vector("[1,2,3]", 3)) == 3
    with pytest.raises(PgError, match="vector cannot have more than 16000 dimensions") as info:
        parse_vector("[" + ",".join(["1"] * 16001) + "]")
    assert info.value.sqlstate == "54000"


@pytest.mark.parametrize(
    "value, text",
    [(1.0, "1"), (0.0001, "0.0001"), (1e-5, "1e-05"), (123456.7, "123456.7"), (1e6, "1e+06"),
     (1234567.0, "1.234567e+06"), (0.1, "0.1"), (-0.0, "-0"), (3.4028235e38, "3.4028235e+38"),
     (1e-45, "1e-45")],
)
def test_float4_output_matches_postgresql(value: float, text: str) -> None:
    assert format_float4(value) == text


def test_strtof_rounding_of_a_double_midpoint() -> None:
    # This decimal is just above the midpoint of float4 1 and 1 + 2**-23; as a double
    # it rounds onto the midpoint, and rounding that to float4 again would give 1.
    text = "1.00000005960464477539930799592"
    assert parse_vector(f"[{text}]")[0] == np.float32(1 + 2**-23)


def test_strtof_forms() -> None:
    assert parse_vector("[0x10,+.5,-2.e1,1e+2]").tolist() == [16.0, 0.5, -20.0, 100.0]


def _codec(oid: int):
    return codec_for(oid)


@pytest.mark.parametrize(
    "oid, python_type, values",
    [
        (registry.VECTOR_OID, Vector, [1.5, -2.0, 3.25]),
        (registry.HALFVEC_OID, HalfVector, [1.5, -2.0, 65504.0]),
    ],
)
def test_binary_round_trip_with_pgvector_python(oid: int, python_type: type, values: list[float]) -> None:
    codec = _codec(oid)
    tag = codec.duck_arrow_type().field(0).name
    wire = python_type(values).to_binary()
    decoded = codec.decode_binary(wire)
    assert decoded[tag].tolist() == values
    duck = pa.array([decoded, None], type=codec.duck_arrow_type())
    encoded = codec.encode_binary(duck)
    assert encoded[1] is None
    assert encoded[0] == wire
    assert python_type.from_binary(encoded[0]).to_list() == values


def test_text_codec_encodes_and_decodes() -> None:
    codec = _codec(registry.VECTOR_OID)
    duck = pa.array([codec.decode_text("[1, 2.5 ,3]"), None], type=codec.duck_arrow_type())
    assert codec.encode_text(duck) == [b"[1,2.5,3]", None]
    assert Vector.from_text("[1,2.5,3]").to_list() == [1.0, 2.5, 3.0]


def test_binary_input_errors() -> None:
    codec = _codec(registry.VECTOR_OID)
    with pytest.raises(PgError, match="expected unused to be 0, not 1"):
        codec.decode_binary(b"\x00\x01\x00\x01" + np.float32(1).astype(">f4").tobytes())
    with pytest.raises(PgError, match="expected 2 dimensions, not 1"):
        codec.decode_binary(Vector([1.0]).to_binary(), 2)
    with pytest.raises(PgError, match="NaN not allowed in vector"):
        codec.decode_binary(Vector([float("nan")]).to_binary())
    with pytest.raises(PgError, match="vector must have at least 1 dimension"):
        codec.decode_binary(b"\x00\x00\x00\x00")


def test_storage_round_trip_with_typmod_and_nulls() -> None:
    codec = _codec(registry.VECTOR_OID)
    storage = pa.array([[1, 2, 3], None, [4, 5, 6]], type=pa.list_(pa.float32(), 3))
    duck = codec.to_duck(storage, 3)
    assert duck.type == codec.duck_arrow_type()
    assert duck.to_pylist() == [{"__vector": [1, 2, 3]}, None, {"__vector": [4, 5, 6]}]
    assert codec.from_duck(duck, 3).equals(storage)
    assert codec.from_duck(duck).type == pa.list_(pa.float32())
    with pytest.raises(PgError, match="expected 2 dimensions, not 3"):
        codec.from_duck(duck, 2)


def test_from_duck_of_a_sliced_column() -> None:
    codec = _codec(registry.VECTOR_OID)
    duck = pa.array([{"__vector": [1.0]}, {"__vector": [2.0, 3.0]}, {"__vector": [4.0, 5.0]}],
                    type=codec.duck_arrow_type()).slice(1)
    assert codec.from_duck(duck, 2).to_pylist() == [[2.0, 3.0], [4.0, 5.0]]
    assert codec.encode_text(duck) == [b"[2,3]", b"[4,5]"]


def test_halfvec_storage_is_float16_and_checks_range() -> None:
    codec = _codec(registry.HALFVEC_OID)
    duck = pa.array([{"__halfvec": [1.0, 65504.0]}], type=codec.duck_arrow_type())
    storage = codec.from_duck(duck, 2)
    assert storage.type == pa.list_(pa.float16(), 2)
    assert codec.to_duck(storage, 2).to_pylist() == [{"__halfvec": [1.0, 65504.0]}]
    too_big = pa.array([{"__halfvec": [70000.0]}], type=codec.duck_arrow_type())
    with pytest.raises(PgError, match='"70000" is out of range for type halfvec'):
        codec.from_duck(too_big)


def test_copy_columns_text_and_binary() -> None:
    codec = _codec(registry.VECTOR_OID)
    rng = np.random.default_rng(7)
    matrix = rng.standard_normal((50, 8)).astype(np.float32)
    texts = [format_vector(row) for row in matrix]
    column = codec.parse_text_column(texts + [None], 8)
    assert column.null_count == 1
    assert np.array_equal(np.stack(column.to_pylist()[:50]).astype(np.float32), matrix)
    binaries = [Vector(row).to_binary() for row in matrix]
    column = codec.parse_binary_column([None] + binaries, 8)
    assert np.array_equal(np.stack(column.to_pylist()[1:]).astype(np.float32), matrix)
    with pytest.raises(PgError, match="expected 9 dimensions, not 8"):
        codec.parse_binary_column(binaries, 9)
    with pytest.raises(PgError, match='invalid input syntax for type vector: "\\[1,x\\]"'):
        codec.parse_text_column(texts[:3] + ["[1,x]"], -1)


def test_copy_binary_rows_of_different_dimensions() -> None:
    codec = _codec(registry.HALFVEC_OID)
    column = codec.parse_binary_column([HalfVector([1.0]).to_binary(), HalfVector([2.0, 3.0]).to_binary()])
    assert column.type == pa.list_(pa.float16())
    assert column.to_pylist() == [[1.0], [2.0, 3.0]]


def test_large_column_round_trip_is_vectorised() -> None:
    codec = _codec(registry.VECTOR_OID)
    matrix = np.arange(200_000 * 16, dtype=np.float32).reshape(200_000, 16)
    storage = pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), 16)
    assert codec.from_duck(codec.to_duck(storage, 16), 16).equals(storage)


# ---------------------------------------------------------------------------------------
# sparsevec
# ---------------------------------------------------------------------------------------

# (input, output or error message) from pgvector's test/expected/sparsevec.out
SPARSEVEC_CASES = [
    ("{1:1.5,3:3.5}/5", "{1:1.5,3:3.5}/5"),
    ("{1:-2,3:-4}/5", "{1:-2,3:-4}/5"),
    ("{1:2.,3:4.}/5", "{1:2,3:4}/5"),
    (" { 1 : 1.5 ,  3  :  3.5  } / 5 ", "{1:1.5,3:3.5}/5"),
    ("{1:1.5e38,2:-1.5e38}/2", "{1:1.5e+38,2:-1.5e+38}/2"),
    ("{1:1.5e-38,2:-1.5e-38}/2", "{1:1.5e-38,2:-1.5e-38}/2"),
    ("{1:hello,2:1}/2", 'ERROR: invalid input syntax for type sparsevec: "{1:hello,2:1}/2"'),
    ("{1:NaN,2:1}/2", "ERROR: NaN not allowed in sparsevec"),
    ("{1:-Infinity,2:1}/2", "ERROR: infinite value not allowed in sparsevec"),
    ("{1:4e38,2:1}/2", 'ERROR: "4e38" is out of range for type sparsevec'),
    ("{1:-1e-46,2:1}/2", 'ERROR: "-1e-46" is out of range for type sparsevec'),
    ("", 'ERROR: invalid input syntax for type sparsevec: ""'),
    ("{", 'ERROR: invalid input syntax for type sparsevec: "{"'),
    ("{:", 'ERROR: invalid input syntax for type sparsevec: "{:"'),
    ("{}", 'ERROR: invalid input syntax for type sparsevec: "{}"'),
    ("{}/", 'ERROR: invalid input syntax for type sparsevec: "{}/"'),
    ("{}/1", "{}/1"),
    ("{}/1a", 'ERROR: invalid input syntax for type sparsevec: "{}/1a"'),
    ("{ }/1", "{}/1"),
    ("{1,}/1", 'ERROR: invalid input syntax for type sparsevec: "{1,}/1"'),
    ("{1:}/1", 'ERROR: invalid input syntax for type sparsevec: "{1:}/1"'),
    ("{1:1,}/1", 'ERROR: invalid input syntax for type sparsevec: "{1:1,}/1"'),
    ("{1:0,2:1,3:0}/3", "{2:1}/3"),
    ("{2:1,1:1}/2", "{1:1,2:1}/2"),
    ("{1:1,2:1,1:1}/2", "ERROR: sparsevec indices must not contain duplicates"),
    ("{}/-1", "ERROR: sparsevec must have at least 1 dimension"),
    ("{}/1000000000", "{}/1000000000"),
    ("{}/2147483648", "ERROR: sparsevec cannot have more than 1000000000 dimensions"),
    ("{}/-9223372036854775809", "ERROR: sparsevec must have at least 1 dimension"),
    ("{2147483648:1}/1", "ERROR: sparsevec index out of bounds"),
    ("{-2147483649:1}/1", "ERROR: sparsevec index out of bounds"),
    ("{0:1}/1", "ERROR: sparsevec index out of bounds"),
]


@pytest.mark.parametrize("text, expected", SPARSEVEC_CASES)
def test_sparsevec_text(text: str, expected: str) -> None:
    try:
        got = format_sparsevec(parse_sparsevec(text))
    except PgError as err:
        got = f"ERROR: {err.message}"
    assert got == expected


def test_sparsevec_details_and_typmod() -> None:
    with pytest.raises(PgError) as info:
        parse_sparsevec("{}")
    assert info.value.detail == "Unexpected end of input."
    with pytest.raises(PgError) as info:
        parse_sparsevec("{}/1a")
    assert info.value.detail == "Junk after closing."
    with pytest.raises(PgError, match="expected 2 dimensions, not 3"):
        parse_sparsevec("{}/3", 2)
    vector = parse_sparsevec("{3:2,1:1}/4")
    assert vector.indices.tolist() == [0, 2]
    assert vector.to_dense().tolist() == [1, 0, 2, 0]
    assert SparseVector.from_dense(vector.to_dense()) == vector


def test_sparsevec_binary_matches_pgvector_python() -> None:
    codec = _codec(registry.SPARSEVEC_OID)
    wire = PythonSparseVector({0: 1.5, 2: 3.5}, 5).to_binary()
    value = codec.decode_binary(wire)
    assert value["__sparsevec"]["dim"] == 5
    duck = pa.array([value, None, codec.decode_text("{}/3")], type=codec.duck_arrow_type())
    assert codec.encode_binary(duck)[:2] == [wire, None]
    assert PythonSparseVector.from_binary(codec.encode_binary(duck)[2]).dimensions() == 3
    assert codec.encode_text(duck) == [b"{1:1.5,3:3.5}/5", None, b"{}/3"]


@pytest.mark.parametrize(
    "wire, message",
    [
        (struct.pack(">iii", 3, 1, 0) + struct.pack(">i", 3) + struct.pack(">f", 1), "sparsevec index out of bounds"),
        (struct.pack(">iii", 3, 2, 0) + struct.pack(">ii", 1, 0) + struct.pack(">ff", 1, 1),
         "sparsevec indices must be in ascending order"),
        (struct.pack(">iii", 3, 1, 0) + struct.pack(">i", 0) + struct.pack(">f", 0),
         "binary representation of sparsevec cannot contain zero values"),
        (struct.pack(">iii", 3, 4, 0), "sparsevec cannot have more elements than dimensions"),
        (struct.pack(">iii", 3, 0, 7), "expected unused to be 0, not 7"),
    ],
)
def test_sparsevec_binary_errors(wire: bytes, message: str) -> None:
    with pytest.raises(PgError, match=message):
        _codec(registry.SPARSEVEC_OID).decode_binary(wire)


def test_sparsevec_storage_round_trip_and_checks() -> None:
    codec = _codec(registry.SPARSEVEC_OID)
    duck = pa.array([codec.decode_text("{1:1,3:2}/3"), None, codec.decode_text("{}/3")],
                    type=codec.duck_arrow_type())
    storage = codec.from_duck(duck, 3)
    assert storage.type == codec.storage_type(3)
    assert codec.to_duck(storage, 3).equals(duck)
    with pytest.raises(PgError, match="expected 4 dimensions, not 3"):
        codec.from_duck(duck, 4)
    unsorted = pa.array([{"__sparsevec": {"dim": 3, "indices": [2, 1], "values": [1.0, 2.0]}}],
                        type=codec.duck_arrow_type())
    with pytest.raises(PgError, match="sparsevec indices must be in ascending order"):
        codec.from_duck(unsorted)
    assert codec.parse_text_column(["{2:1}/3", None], 3).to_pylist() == [
        {"dim": 3, "indices": [1], "values": [1.0]}, None]


def test_binary_copy_fields_of_fixed_width() -> None:
    codec = _codec(registry.VECTOR_OID)
    rows = [Vector([1.0, 2.0]).to_binary(), Vector([3.0, -4.5]).to_binary()]
    buffer = np.frombuffer(b"".join(b"\x00\x02" + r for r in rows), dtype=np.uint8).reshape(2, -1)
    fields = buffer[:, 2:]  # strided, as the COPY reader hands them over
    assert codec.parse_binary_fixed(fields, 2).to_pylist() == [[1.0, 2.0], [3.0, -4.5]]
    with pytest.raises(PgError, match="expected 3 dimensions, not 2"):
        codec.parse_binary_fixed(fields, 3)
    with pytest.raises(PgError, match="expected unused to be 0, not 1"):
        codec.parse_binary_fixed(np.frombuffer(b"\x00\x01\x00\x01" + bytes(4), dtype=np.uint8).reshape(1, 8))


def test_the_first_non_finite_value_names_the_error() -> None:
    codec = _codec(registry.VECTOR_OID)
    wire = Vector([float("inf"), float("nan")]).to_binary()
    with pytest.raises(PgError, match="infinite value not allowed in vector"):
        codec.decode_binary(wire)


def test_finite_values_whose_sum_overflows_are_accepted() -> None:
    codec = _codec(registry.VECTOR_OID)
    big = 3.0e38  # float4's largest values: two of them sum to infinity
    assert codec.decode_binary(Vector([big, big, -big]).to_binary())[VECTOR_TAG].tolist() == \
        pytest.approx([big, big, -big], rel=1e-7)
    with pytest.raises(PgError, match="infinite value not allowed in vector"):
        codec.decode_binary(Vector([big, float("-inf"), big]).to_binary())


def _numpy_in_postgres_notation(values: np.ndarray) -> list[str]:
    """numpy's shortest digits (Dragon4) as PostgreSQL writes them: no ``.0`` on integral
    values, and fixed notation for decimal exponent -4 (numpy writes ``1.5e-04``)."""
    texts = []
    for text in values.astype(str).tolist():
        text = text[:-2] if text.endswith(".0") else text
        match = re.fullmatch(r"(-?)([0-9])(?:\.([0-9]+))?e-04", text)
        texts.append(f"{match[1]}0.000{match[2]}{match[3] or ''}" if match else text)
    return texts


def test_float4_texts_agree_with_numpy_shortest_digits_in_postgres_notation():
    """Vector elements are written by Arrow's shortest formatting; numpy's Dragon4 is the
    independent reference for the digits."""
    rng = np.random.default_rng(4)
    values = np.concatenate([
        rng.standard_normal(20_000).astype(np.float32) * (10.0 ** rng.integers(-8, 9, 20_000)).astype(np.float32),
        np.array([0, -0.0, 1, 1e-4, 9.99e-5, 1.0001e-4, 1e6, 999999, 123456, 1234567, 3.4028235e38, 1.4e-45,
                  0.1, 1 / 3], dtype=np.float32),
    ])
    for start in range(0, len(values), 100):
        chunk = values[start:start + 100]
        assert float4_texts(chunk) == _numpy_in_postgres_notation(chunk)
