"""One interface for content-addressed storage, and reading that proves content matches its CID.

A :class:`ContentStore` takes bytes through a :class:`StoreWriter` (write, then
``commit()`` returns the CID, or ``abort()`` leaves nothing behind) and gives them
back as a stream of chunks. Both backends return base32 CIDv1 strings that equal
what Kubo computes for the same bytes, and :func:`read_verified` recomputes the CID
of whatever a store hands back, so a store that lies is caught.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from backend.vault.atomic import SpoolFile
from backend.vault.cid import CidBuilder, normalize_cid
from backend.vault.errors import IntegrityError

READ_CHUNK = 1024 * 1024


class StoreWriter(Protocol):
    def write(self, data: bytes | memoryview) -> None: ...

    def commit(self) -> str:
        """Make the content durable and return its CID."""
        ...

    def abort(self) -> None:
        """Drop everything written; safe to call after commit or twice."""
        ...


class ContentStore(Protocol):
    #: Where the content lives, for messages (a folder or an API address).
    location: str

    def writer(self, size_hint: int | None = None) -> StoreWriter:
        """A writer for one object; ``size_hint`` (bytes) lets the store reserve space."""
        ...

    def cat(self, cid: str) -> Iterator[bytes]:
        """The content's bytes in chunks. Raises ContentNotFound or StoreUnavailable."""
        ...

    def has(self, cid: str) -> bool: ...


def add_bytes(store: ContentStore, data: bytes) -> str:
    w = store.writer(len(data))
    try:
        w.write(data)
        return w.commit()
    finally:
        w.abort()


def read_verified(store: ContentStore, cid: str, *, what: str,
                  progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """Yield the content of ``cid``; after the last chunk, raise IntegrityError if the bytes
    do not hash to ``cid``. Callers must not trust (commit) anything before the end."""
    cid = normalize_cid(cid)
    builder = CidBuilder()
    for chunk in store.cat(cid):
        builder.update(chunk)
        if progress:
            progress(len(chunk))
        yield chunk
    got = builder.finish()
    if got != cid:
        raise IntegrityError(f"{what} does not match its CID: asked for {cid}, the bytes from "
                             f"{store.location} hash to {got} ({builder.size} bytes); the copy "
                             "there is damaged or truncated")


def fetch_verified(store: ContentStore, cid: str, *, what: str, limit: int) -> bytes:
    """All of a small object (a manifest), verified against its CID; at most ``limit`` bytes."""
    out = bytearray()
    for chunk in read_verified(store, cid, what=what):
        out += chunk
        if len(out) > limit:
            raise IntegrityError(f"{what} {cid} is larger than {limit} bytes; it is not a manifest")
    return bytes(out)


class SpoolingWriter:
    """A writer that spools the bytes to a file while computing their CID; subclasses
    decide in :meth:`commit` where the spooled file goes."""

    def __init__(self, spool_dir: Path, prefix: str, size_hint: int | None) -> None:
        self._spool = SpoolFile(spool_dir, prefix, size_hint=size_hint)
        self._builder = CidBuilder()
        self._done = False

    def write(self, data: bytes | memoryview) -> None:
        self._builder.update(data)
        self._spool.write(data)

    def abort(self) -> None:
        if not self._done:
            self._spool.discard()
            self._done = True
