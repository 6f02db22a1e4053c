"""Seal a dataset: split into K shards, encrypt each with its own key, store, manifest.

For each shard: a fresh random AES-256-GCM key and nonce, the plaintext streamed
through SHA-256 and the encryptor, the ciphertext and tag streamed into the store.
Shards are independent, so they are sealed on as many threads as there are cores
(SHA-256, AES-GCM and file I/O release the GIL); each thread holds about two chunks,
so memory stays flat in the dataset's size.
Then the manifest goes into the store, and only then are the keys written -- to the
owner's key store and nowhere else. A failure anywhere leaves no partial object and
no key file; what was already stored is complete content that a retry reuses.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from backend.vault.aead import (
    TAG_BYTES,
    ShardEncryptor,
    key_commitment,
    new_key,
    new_nonce,
    shard_aad,
)
from backend.vault.content_store import ContentStore, add_bytes
from backend.vault.keystore import KeyStore
from backend.vault.manifest import Licence, Manifest, ShardEntry
from backend.vault.merkle import merkle_root
from backend.vault.shard_plan import plan_shards
from backend.vault.sharding import READ_CHUNK, ShardPlan, ShardSource

Progress = Callable[[int], None]


@dataclass(frozen=True)
class SealResult:
    manifest_cid: str
    manifest: Manifest
    commitments: list[str]  # keccak256(key_i), 0x-hex, one per release step
    key_file: Path


def seal_shard(source: ShardSource, count: int, store: ContentStore, *,
               progress: Progress | None = None) -> tuple[ShardEntry, bytes]:
    """Encrypt and store one shard; return its manifest entry and its key."""
    key, nonce = new_key(), new_nonce()
    enc = ShardEncryptor(key, nonce, shard_aad(source.index, count))
    digest = hashlib.sha256()
    size = 0
    writer = store.writer(source.size_hint + TAG_BYTES)
    out = bytearray(READ_CHUNK + 15)  # reused: no allocation per chunk
    try:
        for chunk in source.produce():
            if len(chunk) > READ_CHUNK:
                chunk = bytes(chunk)
                writer.write(enc.update(chunk))
            else:
                writer.write(enc.update_into(chunk, out))
            digest.update(chunk)
            size += len(chunk)
            if progress:
                progress(len(chunk))
        writer.write(enc.finish())
        cid = writer.commit()
    finally:
        writer.abort()
    entry = ShardEntry(index=source.index, cid=cid, ciphertext_bytes=size + TAG_BYTES,
                       plaintext_bytes=size, plaintext_sha256=digest.hexdigest(), nonce=nonce.hex(),
                       key_commitment=key_commitment(key), rows=source.rows)
    return entry, key


def seal_plan(plan: ShardPlan, store: ContentStore, keystore: KeyStore, *, name: str,
              licence: Licence, progress: Progress | None = None) -> SealResult:
    count = len(plan.sources)
    with ThreadPoolExecutor(max_workers=min(count, os.cpu_count() or 1),
                            thread_name_prefix="vault-seal") as pool:
        futures = [pool.submit(seal_shard, s, count, store, progress=progress)
                   for s in plan.sources]
        try:
            sealed = [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    entries = [entry for entry, _ in sealed]
    keys = [key for _, key in sealed]
    root = merkle_root([bytes.fromhex(e.plaintext_sha256) for e in entries])
    manifest = Manifest(name=name, kind=plan.kind, schema=plan.schema,
                        source_bytes=plan.source_bytes, licence=licence, shards=entries,
                        merkle_root="0x" + root.hex())
    manifest_cid = add_bytes(store, manifest.to_bytes())
    key_file = keystore.save(manifest_cid, keys)
    return SealResult(manifest_cid, manifest, [e.key_commitment for e in entries], key_file)


def seal_dataset(path: Path, k: int, store: ContentStore, keystore: KeyStore, *,
                 kind: str | None = None, name: str | None = None,
                 licence: Licence | None = None, spool_dir: Path | None = None,
                 progress: Progress | None = None) -> SealResult:
    """Seal ``path`` (a file or a folder) into ``k`` shards in ``store``."""
    plan = plan_shards(path, k, kind=kind, spool_dir=spool_dir)
    return seal_plan(plan, store, keystore, name=name or Path(path).name,
                     licence=licence or Licence(id="proprietary"), progress=progress)
