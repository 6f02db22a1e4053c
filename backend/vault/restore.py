"""Restore a sealed dataset's plaintext from its shards, for the owner who holds the keys
(the backend does this to appraise an uploaded dataset).

Every shard passes every check of :func:`backend.vault.unseal.decrypt_shard` (key
commitment, CID, GCM tag, plaintext SHA-256). CSV and JSON Lines come back as the one
original file (the CSV header that each shard repeats is kept once), byte for byte;
Parquet shards (re-encoded row groups) as a folder of ``part-NNNNN.parquet`` files; a
folder as the folder. Raw bytes have no rows to appraise and are refused.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
from pathlib import Path
from typing import BinaryIO

from backend.vault.content_store import ContentStore
from backend.vault.errors import DatasetInputError
from backend.vault.manifest import Manifest
from backend.vault.split_text import header_row
from backend.vault.unseal import decrypt_shard


class _SkipFirst:
    """A sink that drops the first ``n`` bytes written to it."""

    def __init__(self, sink: BinaryIO, n: int) -> None:
        self.sink, self.left = sink, n

    def write(self, data: bytes) -> int:
        drop = min(self.left, len(data))
        self.left -= drop
        self.sink.write(data[drop:])
        return len(data)


def restore_dataset(store: ContentStore, manifest: Manifest, keys: list[bytes], out_dir: Path,
                    name: str, *, mtime: float | None = None) -> Path:
    """Write the plaintext into ``out_dir / name`` (a file or a folder) and return that path.

    ``mtime`` (e.g. when the dataset was sealed) is given to every restored file, so what
    reads file times (the appraisal's freshness without a timestamp column) sees the
    same time on every restore."""
    target = _restore(store, manifest, keys, out_dir, name)
    if mtime is not None:
        for path in [target, *target.rglob("*")]:
            os.utime(path, (mtime, mtime))
    return target


def _restore(store: ContentStore, manifest: Manifest, keys: list[bytes], out_dir: Path,
             name: str) -> Path:
    if manifest.kind == "bytes":
        raise DatasetInputError("this dataset was sealed as raw bytes: there are no rows to "
                                "appraise; upload it as csv, jsonl or parquet")
    target = out_dir / name
    if manifest.kind in ("csv", "jsonl"):
        with target.open("wb") as f:
            decrypt_shard(store, manifest, 0, keys[0], f)
        skip = len(header_row(target, True)) if manifest.kind == "csv" else 0
        with target.open("ab") as f:
            for i in range(1, manifest.k):
                decrypt_shard(store, manifest, i, keys[i], _SkipFirst(f, skip))  # type: ignore[arg-type]
        return target
    target.mkdir()
    for i in range(manifest.k):
        fd, name_of_part = tempfile.mkstemp(prefix=".shard-", dir=out_dir)  # never ``target``
        part = Path(name_of_part)
        with os.fdopen(fd, "wb") as f:
            decrypt_shard(store, manifest, i, keys[i], f)
        if manifest.kind == "parquet":
            part.rename(target / f"part-{i:05d}.parquet")
        else:
            with tarfile.open(part) as tar:
                tar.extractall(target, filter="data")
            part.unlink()
    return target
