"""Streaming AES-256-GCM for shards: one fresh random key and nonce per shard.

A sealed shard is ``ciphertext || tag`` (16-byte tag); the nonce and the additional
data live in the manifest. A key is used for exactly one shard, so a nonce is never
reused under a key. Encryption and decryption run chunk by chunk through
``cryptography``'s ``Cipher(AES(key), GCM(nonce))`` so memory stays flat; decryption
holds back the last 16 bytes (the tag) and releases nothing as valid until
:meth:`ShardDecryptor.finish` has checked the tag.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from eth_utils import keccak

from backend.vault.errors import IntegrityError

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
ALGORITHM = "AES-256-GCM"


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def new_nonce() -> bytes:
    return os.urandom(NONCE_BYTES)


def key_commitment(key: bytes) -> str:
    """``keccak256(key)`` as 0x-hex: what the registry stores for each release step."""
    return "0x" + keccak(key).hex()


def shard_aad(index: int, count: int) -> bytes:
    """Additional data binding a ciphertext to its place in the dataset."""
    return f"gpubarter/vault/v1 shard {index} of {count}".encode()


class ShardEncryptor:
    def __init__(self, key: bytes, nonce: bytes, aad: bytes) -> None:
        if len(key) != KEY_BYTES or len(nonce) != NONCE_BYTES:
            raise ValueError("AES-256-GCM needs a 32-byte key and a 12-byte nonce")
        self._ctx = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
        self._ctx.authenticate_additional_data(aad)

    def update(self, plaintext: bytes | memoryview) -> bytes:
        return self._ctx.update(plaintext)

    def update_into(self, plaintext: bytes | memoryview, out: bytearray) -> memoryview:
        """Encrypt into ``out`` (at least ``len(plaintext) + 15`` bytes); a view of the result."""
        n = self._ctx.update_into(plaintext, out)
        return memoryview(out)[:n]

    def finish(self) -> bytes:
        """The last ciphertext bytes (none for GCM) followed by the tag."""
        tail = self._ctx.finalize()
        return tail + self._ctx.tag


class ShardDecryptor:
    def __init__(self, key: bytes, nonce: bytes, aad: bytes, *, what: str) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("an AES-256-GCM key is 32 bytes")
        self._ctx = Cipher(algorithms.AES(key), modes.GCM(nonce)).decryptor()
        self._ctx.authenticate_additional_data(aad)
        self._held = b""
        self._what = what

    def update(self, data: bytes | memoryview) -> bytes:
        """Plaintext for all but the last 16 bytes seen so far (those may be the tag)."""
        data = self._held + bytes(data) if self._held else bytes(data)
        if len(data) <= TAG_BYTES:
            self._held = data
            return b""
        self._held = data[-TAG_BYTES:]
        return self._ctx.update(memoryview(data)[:-TAG_BYTES])

    def finish(self) -> bytes:
        if len(self._held) != TAG_BYTES:
            raise IntegrityError(f"{self._what} is truncated: shorter than its 16-byte GCM tag")
        try:
            return self._ctx.finalize_with_tag(self._held)
        except InvalidTag:
            raise IntegrityError(f"{self._what} failed AES-GCM authentication: the ciphertext "
                                 "was altered or truncated, or sealed with another key") from None
