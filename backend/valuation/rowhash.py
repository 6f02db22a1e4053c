"""Vectorised 64-bit row hashes of Arrow record batches, for counting duplicate rows.

Each column is hashed with numpy (strings and binaries byte by byte with position
weights, fixed-width values through their bits), nulls get their own value, and the
columns are folded into one hash per row with the splitmix64 finaliser. Columns of
other types (lists, structs, decimals) fall back to Python's hash of their values.
Hashes only need to agree within one run; two different rows collide with a
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
_ROW_MULT = U64(0x100000001B3)


def splitmix64(x: np.ndarray) -> np.ndarray:
    z = x + _GOLDEN
    z = (z ^ (z >> U64(30))) * _M1
    z = (z ^ (z >> U64(27))) * _M2
    return z ^ (z >> U64(31))


_weights = np.empty(0, dtype=U64)


def _position_weights(n: int) -> np.ndarray:
    """Odd 64-bit weights of byte positions 0..n-1 (a pure function of the position)."""
    global _weights
    if len(_weights) < n:
        _weights = splitmix64(np.arange(max(n, 2 * len(_weights), 4096), dtype=U64)) | U64(1)
    return _weights


def _binary_hash(arr: pa.Array) -> np.ndarray:
    large = pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type)
    offsets_buf, data_buf = arr.buffers()[1], arr.buffers()[2]
    offsets = np.frombuffer(offsets_buf, dtype=np.int64 if large else np.int32)
    offsets = offsets[arr.offset: arr.offset + len(arr) + 1].astype(np.int64)
    first, last = int(offsets[0]), int(offsets[-1])
    lengths = np.diff(offsets)
    starts = offsets[:-1] - first
    if last == first:  # only empty values
        per_value = np.zeros(len(arr), dtype=U64)
    else:
        data = np.frombuffer(data_buf, dtype=np.uint8)[first:last].astype(U64)
        position = np.arange(last - first, dtype=np.int64) - np.repeat(starts, lengths)
        weights = _position_weights(int(lengths.max()))[position]
        data *= weights
        sums = np.concatenate(([U64(0)], np.cumsum(data, dtype=U64)))
        per_value = sums[offsets[1:] - first] - sums[starts]
    return splitmix64(per_value ^ splitmix64(lengths.astype(U64)))


def _python_hash(arr: pa.Array) -> np.ndarray:
    def key(v: Any) -> Any:
        return json.dumps(v, sort_keys=True, default=str) if isinstance(v, dict | list) else v

    return np.fromiter((hash(key(v)) for v in arr.to_pylist()), dtype=np.int64,
                       count=len(arr)).view(U64)


def column_hash(arr: pa.Array) -> np.ndarray:
    """One 64-bit hash per value of ``arr``; every null hashes alike."""
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.dictionary_decode()
        t = arr.type
    if (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t)
            or pa.types.is_large_binary(t)):
        h = _binary_hash(arr)
    elif pa.types.is_floating(t):
        h = splitmix64(arr.cast(pa.float64()).fill_null(0).to_numpy().view(U64))
    elif pa.types.is_integer(t) or pa.types.is_boolean(t):
        h = splitmix64(arr.cast(pa.int64()).fill_null(0).to_numpy().view(U64))
    elif pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_time(t) \
            or pa.types.is_duration(t):
        width = pa.int64() if t.bit_width == 64 else pa.int32()
        h = splitmix64(arr.view(width).cast(pa.int64()).fill_null(0).to_numpy().view(U64))
    else:
        h = _python_hash(arr)
    if arr.null_count:
        h = np.where(arr.is_null().to_numpy(zero_copy_only=False), _NULL, h)
    return h


def row_hashes(columns: list[pa.Array]) -> np.ndarray:
    """One 64-bit hash per row over all ``columns`` (same length), as int64."""
    if not columns:
        return np.empty(0, dtype=np.int64)
    h = np.zeros(len(columns[0]), dtype=U64)
    for col in columns:
        h = splitmix64(h * _ROW_MULT + column_hash(col))
    return h.view(np.int64)
