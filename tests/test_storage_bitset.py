"""engine.bitset.Bitset, the one bitset of deletes and filters (set bit = row excluded)."""

from __future__ import annotations

import numpy as np
import pytest

from pgvecdb.engine.bitset import Bitset


def test_positions_mask_and_count_agree():
    mask = np.random.default_rng(1).random(1003) < 0.3
    bits = Bitset.from_mask(mask)
    assert bits.size == 1003
    assert bits.count() == mask.sum()
    assert np.array_equal(bits.to_mask(), mask)
    assert np.array_equal(bits.positions(), np.flatnonzero(mask))
    assert Bitset.from_positions(1003, np.flatnonzero(mask)) == bits


def test_layout_is_little_bit_order_bytes():
    bits = Bitset.from_positions(20, np.array([0, 9, 19]))
    assert bits.to_bytes() == bytes([0b00000001, 0b00000010, 0b00001000])
    assert [bits.test(i) for i in (0, 1, 9, 19)] == [True, False, True, True]
    assert Bitset.from_bytes(20, bits.to_bytes()) == bits


def test_set_operations_do_not_touch_their_operands():
    a = Bitset.from_positions(10, np.array([1, 2, 3]))
    b = Bitset.from_positions(10, np.array([3, 4]))
    assert a.union(b).positions().tolist() == [1, 2, 3, 4]
    assert a.intersection(b).positions().tolist() == [3]
    assert a.difference(b).positions().tolist() == [1, 2]
    assert a.positions().tolist() == [1, 2, 3] and b.positions().tolist() == [3, 4]
    with pytest.raises(ValueError):
        a.union(Bitset(11))


def test_invert_and_resize_keep_bits_past_the_end_clear():
    bits = Bitset.from_positions(11, np.array([0, 10]))
    inverted = bits.invert()
    assert inverted.count() == 9
    assert inverted.resized(16).count() == 9
    assert bits.resized(5).positions().tolist() == [0]
    assert bits.resized(5).resized(11).positions().tolist() == [0]


def test_set_rejects_positions_out_of_range():
    with pytest.raises(IndexError):
        Bitset(8).set(np.array([8]))
    empty = Bitset(0)
    assert not empty.any() and empty.count() == 0 and empty.positions().size == 0
