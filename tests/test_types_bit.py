"""PostgreSQL bit strings: input, typmods, casts, storage packing and the wire formats."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from pgvector import Bit

from pgvecdb.errors import PgError
from pgvecdb.types import registry
from pgvecdb.types.bit import bits_from_binary, bits_to_binary, cast_bit, pack_bits, parse_bit, unpack_bits
from pgvecdb.types.codecs import codec_for

BIT = registry.TYPES["bit"].oid
VARBIT = registry.TYPES["varbit"].oid


@pytest.mark.parametrize(
    "text, bits",
    [("0101", "0101"), ("B0101", "0101"), ("b1", "1"), ("X1F", "00011111"), ("xa", "1010"), ("", "")],
)
def test_bit_input(text: str, bits: str) -> None:
    assert parse_bit(text) == bits


@pytest.mark.parametrize(
    "args, sqlstate, message",
    [
        (("012",), "22P02", '"2" is not a valid binary digit'),
        (("xG1",), "22P02", '"G" is not a valid hexadecimal digit'),
        (("101", 3), None, None),
        (("101", 2), "22026", "bit string length 3 does not match type bit(2)"),
        (("10", 3), "22026", "bit string length 2 does not match type bit(3)"),
        (("101", 4, True), None, None),
        (("10101", 4, True), "22001", "bit string too long for type bit varying(4)"),
    ],
)
def test_bit_input_errors_and_typmods(args: tuple, sqlstate: str | None, message: str | None) -> None:
    if sqlstate is None:
        assert parse_bit(*args) == args[0]
        return
    with pytest.raises(PgError) as info:
        parse_bit(*args)
    assert (info.value.sqlstate, info.value.message) == (sqlstate, message)


def test_explicit_casts_pad_and_truncate_implicit_ones_check() -> None:
    assert cast_bit("101", 2, varying=False, explicit=True) == "10"
    assert cast_bit("101", 5, varying=False, explicit=True) == "10100"
    assert cast_bit("101", 2, varying=True, explicit=True) == "10"
    assert cast_bit("101", 5, varying=True, explicit=False) == "101"
    with pytest.raises(PgError, match=r"bit string length 3 does not match type bit\(2\)"):
        cast_bit("101", 2, varying=False, explicit=False)
    with pytest.raises(PgError, match=r"bit string too long for type bit varying\(2\)"):
        cast_bit("101", 2, varying=True, explicit=False)


@pytest.mark.parametrize("bits", ["1", "0101", "10000000", "111111111", "1" * 1001])
def test_packing_matches_pgvector_python(bits: str) -> None:
    assert pack_bits(bits) == Bit(bits).to_binary()[4:]
    assert unpack_bits(pack_bits(bits), len(bits)) == bits
    assert bits_to_binary(bits) == Bit(bits).to_binary()
    assert bits_from_binary(Bit(bits).to_binary()) == bits
    assert Bit.from_binary(bits_to_binary(bits)).to_text() == bits


def test_binary_input_errors() -> None:
    with pytest.raises(PgError, match="invalid length in external bit string"):
        bits_from_binary(b"\xff\xff\xff\xff")
    with pytest.raises(PgError, match=r"bit string length 4 does not match type bit\(3\)"):
        bits_from_binary(Bit("0101").to_binary(), 3)


def _duck(codec, bit_strings):
    return pa.array([None if b is None else {"__bit": b} for b in bit_strings], type=codec.duck_arrow_type())


def test_fixed_length_storage_is_packed_bytes() -> None:
    codec = codec_for(BIT)
    duck = _duck(codec, ["0101", None, "1111"])
    storage = codec.from_duck(duck, 4)
    assert storage.type == pa.binary(1)
    assert storage.to_pylist() == [b"\x50", None, b"\xf0"]
    assert codec.to_duck(storage, 4).equals(duck)
    assert codec.to_duck(storage.slice(2), 4).to_pylist() == [{"__bit": "1111"}]
    with pytest.raises(PgError, match=r"bit string length 4 does not match type bit\(5\)"):
        codec.from_duck(duck, 5)


def test_varying_storage_keeps_lengths() -> None:
    codec = codec_for(VARBIT)
    duck = _duck(codec, ["0101", None, "111111111", ""])
    storage = codec.from_duck(duck)
    assert storage.to_pylist() == [
        {"length": 4, "data": b"\x50"}, None, {"length": 9, "data": b"\xff\x80"}, {"length": 0, "data": b""}]
    assert codec.to_duck(storage).equals(duck)
    with pytest.raises(PgError, match=r"bit string too long for type bit varying\(5\)"):
        codec.from_duck(duck, 5)


def test_storage_rejects_characters_other_than_bits() -> None:
    with pytest.raises(PgError, match='"2" is not a valid binary digit'):
        codec_for(BIT).from_duck(_duck(codec_for(BIT), ["0121"]), 4)


def test_wire_formats() -> None:
    codec = codec_for(BIT)
    duck = _duck(codec, ["101", None])
    assert codec.encode_text(duck) == [b"101", None]
    assert codec.encode_binary(duck) == [Bit("101").to_binary(), None]
    assert codec.decode_binary(Bit("101").to_binary(), 3) == {"__bit": "101"}
    assert codec.decode_text("X5", 4) == {"__bit": "0101"}


def test_copy_columns() -> None:
    codec = codec_for(BIT)
    assert codec.parse_text_column(["101", None, "B011"], 3).to_pylist() == [b"\xa0", None, b"\x60"]
    assert codec.parse_binary_column([Bit("11").to_binary()], 2).to_pylist() == [b"\xc0"]
    varying = codec_for(VARBIT)
    assert varying.parse_text_column(["1", "x0f"]).to_pylist() == [
        {"length": 1, "data": b"\x80"}, {"length": 8, "data": b"\x0f"}]


def test_empty_bit_string() -> None:
    assert pack_bits("") == b""
    assert bits_to_binary("") == b"\x00\x00\x00\x00"
    assert bits_from_binary(b"\x00\x00\x00\x00") == ""


def test_binary_copy_fields_of_fixed_width() -> None:
    codec = codec_for(BIT)
    fields = np.frombuffer(Bit("101").to_binary() + b"\x00\x00\x00\x03\xff", dtype=np.uint8).reshape(2, 5)
    assert codec.parse_binary_fixed(fields, 3).to_pylist() == [b"\xa0", b"\xe0"]
    with pytest.raises(PgError, match=r"bit string length 3 does not match type bit\(4\)"):
        codec.parse_binary_fixed(fields, 4)
    varying = codec_for(VARBIT).parse_binary_fixed(fields, -1)
    assert varying.to_pylist() == [{"length": 3, "data": b"\xa0"}, {"length": 3, "data": b"\xe0"}]
