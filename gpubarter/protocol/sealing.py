"""Sealed key release on alt_bn128: the provider's per-deal key pair, sealing and opening keys.

Byte for byte what ``contracts/interfaces/IBarterEscrow.sol`` specifies (integers are 32-byte
big-endian words, G = (1, 2)):

- ``P = d·G``; the escrow stores ``keccak256(P.x || P.y)``;
- to release step ``i`` (1-based) the cooperative picks ``r``, posts ``R = r·G`` and
  ``c = key_i XOR keccak256(S.x || S.y || i)`` with ``S = r·P``;
- the provider computes ``S = d·R`` and recovers ``key_i`` the same way; the key is right when
  ``keccak256(key_i)`` equals the registry's commitment of step ``i - 1``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from eth_utils import keccak
from py_ecc.bn128 import G1, add, curve_order, field_modulus, is_on_curve, multiply
from py_ecc.bn128 import b as CURVE_B
from py_ecc.fields import bn128_FQ as FQ

from gpubarter.errors import GpuBarterError

KEY_BYTES = 32

Point = tuple[int, int]


class SealingError(GpuBarterError):
    """A key, point or sealed value that is not what the sealing scheme expects."""


@dataclass(frozen=True)
class KeyPair:
    """A per-deal key pair. ``secret`` is the provider's d: keep it private (never log it)."""

    secret: int
    public: Point

    def __repr__(self) -> str:  # never show the secret
        return f"KeyPair(public={self.public})"


@dataclass(frozen=True)
class SealedKey:
    """What the cooperative posts on-chain for one step: R and c."""

    r_point: Point
    c: bytes


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _to_point(point: Point) -> tuple[FQ, FQ]:
    x, y = point
    if not (0 <= x < field_modulus and 0 <= y < field_modulus) or (x, y) == (0, 0):
        raise SealingError(f"({x}, {y}) is not a point of alt_bn128")
    p = (FQ(x), FQ(y))
    if not is_on_curve(p, CURVE_B):
        raise SealingError(f"({x}, {y}) is not a point of alt_bn128")
    return p


def _from_point(p: tuple[FQ, FQ] | None) -> Point:
    if p is None:
        raise SealingError("the point at infinity cannot be used")
    return int(p[0]), int(p[1])


def scalar_mul(point: Point, scalar: int) -> Point:
    """``scalar·point`` on alt_bn128 (as the ecMul precompile computes it)."""
    return _from_point(multiply(_to_point(point), scalar % curve_order))


def point_add(a: Point, b: Point) -> Point:
    return _from_point(add(_to_point(a), _to_point(b)))


GENERATOR: Point = (int(G1[0]), int(G1[1]))


def public_key(secret: int) -> Point:
    if not 0 < secret < curve_order:
        raise SealingError("the secret must be a scalar in [1, n - 1]")
    return scalar_mul(GENERATOR, secret)


def keygen() -> KeyPair:
    """A fresh per-deal key pair (d uniformly random in [1, n - 1])."""
    secret = secrets.randbelow(curve_order - 1) + 1
    return KeyPair(secret, public_key(secret))


def key_hash(public: Point) -> bytes:
    """``keccak256(abi.encode(P.x, P.y))``: how the escrow remembers a deal's public key."""
    return keccak(_word(public[0]) + _word(public[1]))


def mask(shared: Point, step: int) -> bytes:
    """``keccak256(abi.encodePacked(S.x, S.y, uint256(step)))``."""
    if step < 1:
        raise SealingError(f"steps count from 1, got {step}")
    return keccak(_word(shared[0]) + _word(shared[1]) + _word(step))


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise SealingError(f"a key is {KEY_BYTES} bytes, got {len(key)}")


def seal(key: bytes, public: Point, step: int, *, r: int | None = None) -> SealedKey:
    """Seals ``key`` of ``step`` to the provider's per-deal public key (fresh random r unless given)."""
    _check_key(key)
    r = secrets.randbelow(curve_order - 1) + 1 if r is None else r
    shared = scalar_mul(public, r)
    return SealedKey(scalar_mul(GENERATOR, r), _xor(key, mask(shared, step)))


def open_sealed(secret: int, sealed: SealedKey, step: int) -> bytes:
    """Recovers the key of ``step`` with the per-deal secret d."""
    if len(sealed.c) != KEY_BYTES:
        raise SealingError(f"a sealed key is {KEY_BYTES} bytes, got {len(sealed.c)}")
    return _xor(sealed.c, mask(scalar_mul(sealed.r_point, secret), step))


def commitment(key: bytes) -> bytes:
    """``keccak256(key)``: the registry's commitment to a key."""
    _check_key(key)
    return keccak(key)


def release_hash(sealed: SealedKey) -> bytes:
    """``keccak256(abi.encode(R.x, R.y, c))``: what the escrow stores per released step."""
    return keccak(_word(sealed.r_point[0]) + _word(sealed.r_point[1]) + sealed.c)
