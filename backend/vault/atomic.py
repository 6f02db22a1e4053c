"""Spool files the vault streams into. (Files that appear whole or not at all:
:mod:`gpubarter.private_files`.)"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO


def discard(path: str | os.PathLike[str] | None) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def open_spool(directory: Path, prefix: str) -> tuple[BinaryIO, str]:
    """A new temporary file in ``directory`` (created if needed): (file, path)."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix=prefix, suffix=".part", dir=directory)
    return os.fdopen(fd, "w+b"), path


class SpoolFile:
    """A temporary file written through its descriptor (no extra buffer copy).

    ``size_hint`` is accepted and not used: space is deliberately not reserved with
    ``posix_fallocate``. On ext4 (the bench machine's file system) buffered writes into
    fallocated (unwritten) extents cost 3-4x the kernel CPU of plain appends -- 0.8-1.1
    against 0.26-0.32 CPU s/GiB, measured for 256 MiB and 1 GiB files -- because each
    write converts unwritten extents; that was a third of sealing's CPU time.
    """

    def __init__(self, directory: Path, prefix: str, *, size_hint: int | None = None) -> None:
        del size_hint
        directory.mkdir(parents=True, exist_ok=True)
        self.fd, self.path = tempfile.mkstemp(prefix=prefix, suffix=".part", dir=directory)
        self.size = 0

    def write(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]
            self.size += n

    def close(self, *, fsync: bool = False) -> None:
        """Optionally fsync, and close."""
        if self.fd < 0:
            return
        try:
            if fsync:
                os.fsync(self.fd)
        finally:
            os.close(self.fd)
            self.fd = -1

    def discard(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        discard(self.path)
