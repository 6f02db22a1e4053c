"""The Python side of sealed key release agrees with the EVM's alt_bn128 precompiles and with
the escrow's byte encoding; bad inputs are refused."""

from __future__ import annotations

import os

import pytest
from eth_abi import encode
from hypothesis import given, settings
from hypothesis import strategies as st
from py_ecc.bn128 import curve_order
from web3 import Web3

from gpubarter.protocol import sealing

EC_ADD, EC_MUL = "0x" + "00" * 19 + "06", "0x" + "00" * 19 + "07"

scalars = st.integers(min_value=1, max_value=curve_order - 1)


def ec_mul(w3: Web3, point: sealing.Point, scalar: int) -> sealing.Point:
    out = w3.eth.call({"to": EC_MUL, "data": encode(["uint256"] * 3, [*point, scalar])})
    return int.from_bytes(out[:32], "big"), int.from_bytes(out[32:], "big")


def test_seal_then_open_returns_the_key() -> None:
    pair = sealing.keygen()
    key = os.urandom(32)
    for step in (1, 2, 7):
        sealed = sealing.seal(key, pair.public, step)
        assert sealing.open_sealed(pair.secret, sealed, step) == key
        assert sealing.open_sealed(pair.secret, sealed, step + 1) != key  # the step is bound in


@settings(max_examples=10, deadline=None)
@given(r=scalars, d=scalars)
def test_shared_point_is_the_same_from_both_sides(r: int, d: int) -> None:
    pub = sealing.public_key(d)
    assert sealing.scalar_mul(pub, r) == sealing.scalar_mul(sealing.scalar_mul(sealing.GENERATOR, r), d)


def test_python_scalar_multiplication_equals_the_ecmul_precompile(w3: Web3) -> None:
    for scalar in (1, 2, 12345, curve_order - 1, int.from_bytes(os.urandom(32), "big") % curve_order):
        assert ec_mul(w3, sealing.GENERATOR, scalar) == sealing.scalar_mul(sealing.GENERATOR, scalar)
    pair = sealing.keygen()
    r = 987654321
    assert ec_mul(w3, pair.public, r) == sealing.scalar_mul(pair.public, r)


def test_the_precompile_refuses_points_python_refuses(w3: Web3) -> None:
    with pytest.raises(Exception):  # noqa: B017 - web3 raises its own RPC error types
        w3.eth.call({"to": EC_ADD, "data": encode(["uint256"] * 4, [1, 3, 0, 0])})
    with pytest.raises(sealing.SealingError):
        sealing.scalar_mul((1, 3), 2)


def test_mask_and_hashes_follow_the_documented_byte_layout() -> None:
    shared, step = (5, 6), 3
    expected = Web3.keccak(encode(["uint256", "uint256", "uint256"], [5, 6, 3]))
    assert sealing.mask(shared, step) == expected
    sealed = sealing.SealedKey((7, 8), b"\x09" * 32)
    layout = encode(["uint256", "uint256", "bytes32"], [7, 8, b"\x09" * 32])
    assert sealing.release_hash(sealed) == Web3.keccak(layout)
    assert sealing.key_hash((7, 8)) == Web3.keccak(encode(["uint256", "uint256"], [7, 8]))


@pytest.mark.parametrize(
    "call",
    [
        lambda: sealing.seal(b"short", sealing.keygen().public, 1),
        lambda: sealing.seal(os.urandom(32), (1, 3), 1),
        lambda: sealing.seal(os.urandom(32), sealing.keygen().public, 0),
        lambda: sealing.open_sealed(1, sealing.SealedKey(sealing.GENERATOR, b"x"), 1),
        lambda: sealing.public_key(0),
        lambda: sealing.public_key(curve_order),
    ],
)
def test_bad_inputs_are_refused(call) -> None:
    with pytest.raises(sealing.SealingError):
        call()


def test_key_pair_repr_never_shows_the_secret() -> None:
    pair = sealing.keygen()
    assert str(pair.secret) not in repr(pair)
