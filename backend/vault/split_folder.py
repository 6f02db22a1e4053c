"""Folders: whole files per shard, contiguous in sorted path order and balanced by size.

Each shard's plaintext is an uncompressed POSIX (pax) tar archive of its files,
generated on the fly with fixed metadata (mtime 0, uid/gid 0, mode 0644) so the
same folder always gives the same shard bytes.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from pathlib import Path

from backend.vault.errors import DatasetInputError
from backend.vault.sharding import ShardPlan, ShardSource, check_k, read_range, stat_input

_BLOCK = tarfile.BLOCKSIZE


def _tar_header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, 0, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="surrogateescape")


def _pad(size: int) -> int:
    return -size % _BLOCK


def _tar(files: list[tuple[Path, str, int]]) -> Iterator[bytes]:
    for path, name, size in files:
        yield _tar_header(name, size)
        yield from read_range(path, 0, size)
        if _pad(size):
            yield b"\0" * _pad(size)
    yield b"\0" * (2 * _BLOCK)


def _tar_size(files: list[tuple[Path, str, int]]) -> int:
    return sum(len(_tar_header(n, s)) + s + _pad(s) for _, n, s in files) + 2 * _BLOCK


def plan_folder(root: Path, k: int) -> ShardPlan:
    try:
        paths = sorted(p for p in root.rglob("*") if p.is_file())
    except OSError as exc:
        raise DatasetInputError(f"cannot list {root}: {exc.strerror}") from None
    files = [(p, p.relative_to(root).as_posix(), stat_input(p)) for p in paths]
    if not files:
        raise DatasetInputError(f"{root} holds no files; there is nothing to seal")
    check_k(k, len(files), "files", root)
    total = sum(s for _, _, s in files)
    groups: list[list[tuple[Path, str, int]]] = [[] for _ in range(k)]
    done, shard = 0, 0
    for i, item in enumerate(files):
        files_left = len(files) - i
        past_target = done + item[2] / 2 > total * (shard + 1) / k  # most of it lies beyond
        if groups[shard] and (files_left == k - shard - 1 or past_target):
            shard += 1  # this shard is full enough (or the rest need one file each)
        groups[shard].append(item)
        done += item[2]
    listing = [{"path": n, "bytes": s, "shard": i} for i, g in enumerate(groups) for _, n, s in g]
    sources = [ShardSource(i, _tar_size(g), len(g), lambda g=g: _tar(g))
               for i, g in enumerate(groups)]
    return ShardPlan("folder", {"format": "tar (pax) per shard", "files": listing}, sources, total)
