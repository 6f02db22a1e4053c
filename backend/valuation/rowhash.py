"""64-bit row hashes of Arrow record batches, for counting duplicate rows.

Fixed-width columns (numbers, booleans, dates, times) are hashed with numpy through
their bits, so NaN equals NaN and every null hashes alike; other columns (text,
binary, lists, structs) go through Python's own hashing of their values, which
measured faster than hashing strings byte by byte in numpy. A row's hash is Python's
hash of the tuple of its column hashes/values. Hashes only need to agree within one
run (Python salts string hashes per process); two different rows collide with a
probability of about 2^-64.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa

U64 = np.uint64
_GOLDEN = U64(0x9E3779B97F4A7C15)
_M1, _M2 = U64(0xBF58476D1CE4E5B9), U64(0x94D049BB133111EB)
_NULL = U64(0x6A09E667F3BCC909)


def splitmix64(x: np.ndarray) -> np.ndarray:
    z = x + _GOLDEN
    z = (z ^ (z >> U64(30))) * _M1
    z = (z ^ (z >> U64(27))) * _M2
    return z ^ (z >> U64(31))


def _fixed_width_bits(arr: pa.Array) -> np.ndarray | None:
    """The values' bits as uint64 (nulls as 0), or None for variable-width types."""
    t = arr.type
    if pa.types.is_floating(t):
        return arr.cast(pa.float64()).fill_null(0).to_numpy().view(U64)
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        return arr.cast(pa.int64()).fill_null(0).to_numpy().view(U64)
    if pa.types.is_temporal(t) and not pa.types.is_interval(t):
        width = pa.int64() if t.bit_width == 64 else pa.int32()
        return arr.view(width).cast(pa.int64()).fill_null(0).to_numpy().view(U64)
    return None


def _key(value: Any) -> Any:
    return json.dumps(value, sort_keys=True, default=str) if isinstance(value, dict | list) \
        else value


def column_keys(arr: pa.Array) -> list[Any]:
    """One hashable key per value of ``arr``; equal values give equal keys."""
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    bits = _fixed_width_bits(arr)
    if bits is not None:
        h = splitmix64(bits)
        if arr.null_count:
            h = np.where(arr.is_null().to_numpy(zero_copy_only=False), _NULL, h)
        return h.tolist()
    values = arr.to_pylist()
    if pa.types.is_nested(arr.type):
        values = [_key(v) for v in values]
    return values


def row_hashes(columns: list[pa.Array]) -> np.ndarray:
    """One 64-bit hash per row over all ``columns`` (same length), as int64."""
    if not columns:
        return np.empty(0, dtype=np.int64)
    keys = [column_keys(c) for c in columns]
    return np.fromiter(map(hash, zip(*keys, strict=True)), dtype=np.int64,
                       count=len(columns[0]))
