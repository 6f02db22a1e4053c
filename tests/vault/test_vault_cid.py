"""The embedded store computes exactly the CIDs a real IPFS node gives the same bytes."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.vault.cid import CHUNK_SIZE, MAX_LINKS, CidBuilder, cid_of, normalize_cid
from backend.vault.content_store import add_bytes
from backend.vault.embedded_store import EmbeddedStore
from backend.vault.ipfs_store import IpfsStore


def pattern(size: int) -> bytes:
    """Deterministic, non-repeating-per-chunk bytes (so equal chunks cannot hide a bug)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(counter.to_bytes(8, "big")).digest() * 1024
        counter += 1
    return bytes(out[:size])


SIZES = {
    "small": 1000,
    "one byte": 1,
    "exactly one chunk": CHUNK_SIZE,
    "one chunk and a byte": CHUNK_SIZE + 1,
    "full first level (174 chunks)": MAX_LINKS * CHUNK_SIZE,
    "multi-level (> 174 chunks)": (MAX_LINKS + 1) * CHUNK_SIZE + 12345,
}


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_embedded_store_cid_equals_ipfs_node_cid(size: int, ipfs_store: IpfsStore,
                                                  embedded_store: EmbeddedStore) -> None:
    data = pattern(size)
    from_node = add_bytes(ipfs_store, data)
    from_embedded = add_bytes(embedded_store, data)
    assert from_embedded == from_node
    assert from_node.startswith("bafkrei" if size <= CHUNK_SIZE else "bafybei")
    assert b"".join(embedded_store.cat(from_embedded)) == data


def test_known_cids() -> None:
    # `ipfs add --cid-version=1 --raw-leaves` of the empty file and of "hello world\n"
    assert cid_of(b"") == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    assert cid_of(b"hello world\n") == "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"


@settings(max_examples=25, deadline=None)
@given(size=st.integers(0, 3 * CHUNK_SIZE + 7),
       cuts=st.lists(st.integers(1, CHUNK_SIZE + 3), max_size=8))
def test_cid_does_not_depend_on_how_bytes_arrive(size: int, cuts: list[int]) -> None:
    data = pattern(size)
    builder, pos = CidBuilder(), 0
    for n in cuts:
        builder.update(data[pos:pos + n])
        pos += n
    builder.update(data[pos:])
    assert builder.finish() == cid_of(data)
    assert builder.size == size


def test_normalize_cid_accepts_base58_and_refuses_cidv0() -> None:
    cid = cid_of(b"x")
    raw = b"\x01\x55\x12\x20" + hashlib.sha256(b"x").digest()
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    n, b58 = int.from_bytes(raw, "big"), ""
    while n:
        n, r = divmod(n, 58)
        b58 = alphabet[r] + b58
    assert normalize_cid("z" + b58) == cid
    assert normalize_cid(cid.upper().replace("B", "b", 1)) == cid
    with pytest.raises(ValueError, match="not a CIDv1"):
        normalize_cid("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o")
