"""The one bitset type of pgvecdb: a set of row positions within a segment.

A set bit means the row is EXCLUDED — deleted, or filtered out of a search. This is the
convention of Milvus's Knowhere, so a segment's delete bitmap and a query's filter combine
with a plain OR before they reach an index search.

Bits are packed eight to a byte in little bit order (position ``i`` is bit ``i % 8`` of byte
``i // 8``), the layout of faiss's ``IDSelectorBitmap`` (which reads a set bit as *selected*:
pass ``invert().packed``). Operations that return a Bitset never modify their operands;
``set`` is the only in-place mutation and is meant for a fresh ``copy``. A bitset
remembers its count: delete bitmaps and cached filters are asked for it on every search.
"""

from __future__ import annotations

import numpy as np


class Bitset:
    __slots__ = ("size", "packed", "_count")

    def __init__(self, size: int, packed: np.ndarray | None = None) -> None:
        self.size = int(size)
        nbytes = (self.size + 7) // 8
        if packed is None:
            packed = np.zeros(nbytes, dtype=np.uint8)
        elif packed.dtype != np.uint8 or packed.shape != (nbytes,):
            raise ValueError(f"a bitset of {size} bits needs {nbytes} packed bytes")
        self.packed = packed
        self._count: int | None = None

    @classmethod
    def from_mask(cls, mask: np.ndarray) -> "Bitset":
        """A bitset whose bit ``i`` is ``mask[i]`` (True: excluded)."""
        mask = np.asarray(mask, dtype=bool)
        return cls(mask.size, np.packbits(mask, bitorder="little"))

    @classmethod
    def from_positions(cls, size: int, positions: np.ndarray) -> "Bitset":
        bits = cls(size)
        bits.set(positions)
        return bits

    @classmethod
    def from_bytes(cls, size: int, data: bytes) -> "Bitset":
        return cls(size, np.frombuffer(data, dtype=np.uint8).copy())

    def to_bytes(self) -> bytes:
        return self.packed.tobytes()

    def to_mask(self) -> np.ndarray:
        """One bool per row, True where the row is excluded."""
        return np.unpackbits(self.packed, count=self.size, bitorder="little").view(bool)

    def positions(self) -> np.ndarray:
        """The excluded positions, ascending (int64)."""
        return np.flatnonzero(self.to_mask())

    def count(self) -> int:
        if self._count is None:
            self._count = int(np.bitwise_count(self.packed).sum())
        return self._count

    def any(self) -> bool:
        if self._count is not None:
            return self._count > 0
        return bool(self.packed.any())

    def test(self, position: int) -> bool:
        return bool(self.packed[position >> 3] >> (position & 7) & 1)

    def test_many(self, positions: np.ndarray) -> np.ndarray:
        """One bool per position: True where its bit is set (excluded)."""
        positions = np.asarray(positions, dtype=np.int64)
        return (self.packed[positions >> 3] >> (positions & 7) & 1).astype(bool)

    def copy(self) -> "Bitset":
        return Bitset(self.size, self.packed.copy())

    def resized(self, size: int) -> "Bitset":
        """A copy holding ``size`` bits: new positions are clear, cut ones are dropped."""
        packed = np.zeros((size + 7) // 8, dtype=np.uint8)
        keep = min(packed.size, self.packed.size)
        packed[:keep] = self.packed[:keep]
        if size < self.size and size % 8:
            packed[-1] &= (1 << (size % 8)) - 1
        return Bitset(size, packed)

    def set(self, positions: np.ndarray) -> None:
        """Set the bits at ``positions`` (in place)."""
        positions = np.asarray(positions, dtype=np.int64)
        if positions.size and (positions.min() < 0 or positions.max() >= self.size):
            raise IndexError(f"position out of range for a bitset of {self.size} bits")
        np.bitwise_or.at(self.packed, positions >> 3, (1 << (positions & 7)).astype(np.uint8))
        self._count = None

    def union(self, other: "Bitset") -> "Bitset":
        self._check_size(other)
        return Bitset(self.size, self.packed | other.packed)

    def intersection(self, other: "Bitset") -> "Bitset":
        self._check_size(other)
        return Bitset(self.size, self.packed & other.packed)

    def difference(self, other: "Bitset") -> "Bitset":
        """Bits set here and clear in ``other``."""
        self._check_size(other)
        return Bitset(self.size, self.packed & ~other.packed)

    def invert(self) -> "Bitset":
        packed = ~self.packed
        if self.size % 8:
            packed[-1] &= (1 << (self.size % 8)) - 1
        return Bitset(self.size, packed)

    def _check_size(self, other: "Bitset") -> None:
        if other.size != self.size:
            raise ValueError(f"bitsets of {self.size} and {other.size} bits do not combine")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Bitset) and self.size == other.size and np.array_equal(self.packed, other.packed)

    def __repr__(self) -> str:
        return f"Bitset(size={self.size}, excluded={self.count()})"
