"""Files only their owner may read (per-deal secrets, agent state) and files that appear whole or not
at all: write to a temporary name beside the target, flush and fsync, then ``os.replace``."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from gpubarter.errors import ConfigError


class PrivateFileError(ConfigError):
    """A private file or folder others can read, or one that is not what it should be."""


@contextlib.contextmanager
def atomic_output(target: Path, *, mode: int = 0o644) -> Iterator[BinaryIO]:
    """Yield a binary file; on a clean exit it becomes ``target`` (created with ``mode``). On any
    error the temporary file is removed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write(target: Path, data: bytes, *, mode: int = 0o644) -> None:
    with atomic_output(target, mode=mode) as f:
        f.write(data)


def private_dir(path: Path) -> Path:
    """``path`` created (0700) when missing; refused when other users can enter it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise PrivateFileError(f"{path} can be read by other users (mode {mode:o}); run `chmod 700 {path}`")
    return path


def read_private_json(path: Path) -> dict[str, Any]:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise PrivateFileError(f"{path} can be read by other users (mode {mode:o}); run `chmod 600 {path}`")
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise PrivateFileError(f"{path} is not a readable agent file: {exc}") from None
    if not isinstance(doc, dict):
        raise PrivateFileError(f"{path} is not a readable agent file")
    return doc


def write_private_json(path: Path, doc: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(doc, indent=1).encode() + b"\n", mode=0o600)
