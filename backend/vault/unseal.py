"""Open and verify sealed shards.

Opening a shard checks, in order: the key against the manifest's commitment (a wrong
key is refused before anything is fetched), then while streaming, the ciphertext
against its CID and the GCM tag, and at the end the plaintext's SHA-256 against the
manifest. The plaintext goes to a temporary file that becomes the output only when
every check passed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from backend.vault.aead import ShardDecryptor, key_commitment, shard_aad
from backend.vault.content_store import ContentStore, read_verified
from backend.vault.errors import IntegrityError, VaultError, WrongKeyError
from backend.vault.manifest import Manifest, ShardEntry, load_manifest
from gpubarter.private_files import atomic_output

Progress = Callable[[int], None]


def check_key(manifest: Manifest, index: int, key: bytes) -> ShardEntry:
    entry = manifest.shard(index)
    if key_commitment(key) != entry.key_commitment:
        raise WrongKeyError(f"that key is not the key of shard {index}: keccak256(key) does not "
                            f"match the commitment {entry.key_commitment} in the manifest")
    return entry


def decrypt_shard(store: ContentStore, manifest: Manifest, index: int, key: bytes,
                  sink: BinaryIO | None, *, progress: Progress | None = None) -> None:
    """Stream shard ``index`` through every check, writing plaintext to ``sink``."""
    entry = check_key(manifest, index, key)
    what = f"shard {index} ({entry.cid})"
    dec = ShardDecryptor(key, bytes.fromhex(entry.nonce), shard_aad(index, manifest.k), what=what)
    digest = hashlib.sha256()
    size = 0
    for chunk in read_verified(store, entry.cid, what=what, progress=progress):
        plain = dec.update(chunk)
        digest.update(plain)
        size += len(plain)
        if sink is not None:
            sink.write(plain)
    tail = dec.finish()
    digest.update(tail)
    if sink is not None:
        sink.write(tail)
    if digest.hexdigest() != entry.plaintext_sha256 or size + len(tail) != entry.plaintext_bytes:
        raise IntegrityError(f"{what} decrypted, but its plaintext does not match the manifest's "
                             "SHA-256; the manifest and the shard do not belong together")


def open_shard(store: ContentStore, manifest_cid: str, index: int, key: bytes, out: Path, *,
               progress: Progress | None = None) -> ShardEntry:
    """Decrypt shard ``index`` of the dataset ``manifest_cid`` into ``out`` (atomically)."""
    manifest = load_manifest(store, manifest_cid)
    entry = check_key(manifest, index, key)
    with atomic_output(Path(out), mode=0o600) as f:
        decrypt_shard(store, manifest, index, key, f, progress=progress)
    return entry


@dataclass(frozen=True)
class ShardCheck:
    index: int
    cid: str
    ok: bool
    checked: str  # what was checked: "cid" or "cid, tag, sha256"
    problem: str = ""


def verify_dataset(store: ContentStore, manifest_cid: str, keys: list[bytes] | None = None, *,
                   progress: Progress | None = None) -> tuple[Manifest, list[ShardCheck]]:
    """Check the manifest against its CID and Merkle root, every shard against its CID and
    size, and -- where keys are given -- every tag and plaintext hash."""
    manifest = load_manifest(store, manifest_cid)
    checks = []
    for entry in manifest.shards:
        try:
            if keys is not None:
                decrypt_shard(store, manifest, entry.index, keys[entry.index], None,
                              progress=progress)
                checked = "cid, key, tag, sha256"
            else:
                size = sum(len(c) for c in read_verified(store, entry.cid, progress=progress,
                                                          what=f"shard {entry.index}"))
                if size != entry.ciphertext_bytes:
                    raise IntegrityError(f"shard {entry.index} is {size} bytes, the manifest "
                                         f"says {entry.ciphertext_bytes}")
                checked = "cid, size"
            checks.append(ShardCheck(entry.index, entry.cid, True, checked))
        except VaultError as exc:
            checks.append(ShardCheck(entry.index, entry.cid, False, "", str(exc)))
    return manifest, checks
