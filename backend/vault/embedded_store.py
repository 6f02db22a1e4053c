"""The embedded content-addressed store: the default when no IPFS node is configured.

Each object is one file ``objects/<cid>`` holding its bytes, where ``<cid>`` is the
CID Kubo would compute for them (see :mod:`backend.vault.cid`). A writer streams into
``tmp/`` (space reserved up front when the size is known) while the CID is computed,
then renames the file into place, so an object is either whole or absent; adding the
same bytes twice keeps one copy.

Objects are not fsynced one by one unless ``fsync=True``: the store holds ciphertext
derived from a dataset its owner still has, and every read re-computes the CID, so an
object torn by a crash is detected and refused, never served. (The key store, which
holds the only copy of the keys, always fsyncs.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from backend.vault.cid import normalize_cid
from backend.vault.content_store import READ_CHUNK, SpoolingWriter
from backend.vault.errors import ContentNotFound, StoreUnavailable


class EmbeddedWriter(SpoolingWriter):
    def __init__(self, store: EmbeddedStore, size_hint: int | None) -> None:
        super().__init__(store.root / "tmp", "add-", size_hint)
        self._store = store

    def commit(self) -> str:
        cid = self._builder.finish()
        self._spool.close(fsync=self._store.fsync)
        target = self._store.path_of(cid)
        if target.exists():  # same bytes already held
            self._spool.discard()
        else:
            os.replace(self._spool.path, target)
        self._done = True
        return cid


class EmbeddedStore:
    def __init__(self, root: Path, *, fsync: bool = False) -> None:
        self.root = Path(root)
        self.fsync = fsync
        self.location = str(self.root)
        try:
            (self.root / "objects").mkdir(parents=True, exist_ok=True)
            (self.root / "tmp").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"cannot use {self.root} as the embedded store: "
                                   f"{exc.strerror}") from None

    def path_of(self, cid: str) -> Path:
        return self.root / "objects" / normalize_cid(cid)

    def writer(self, size_hint: int | None = None) -> EmbeddedWriter:
        return EmbeddedWriter(self, size_hint)

    def has(self, cid: str) -> bool:
        return self.path_of(cid).is_file()

    def cat(self, cid: str) -> Iterator[bytes]:
        path = self.path_of(cid)
        try:
            f = path.open("rb")
        except FileNotFoundError:
            raise ContentNotFound(f"{cid} is not in the embedded store at {self.root}; seal "
                                  "the dataset here or point --ipfs-api at the node that holds "
                                  "it") from None
        with f:
            while chunk := f.read(READ_CHUNK):
                yield chunk

    def __repr__(self) -> str:
        return f"EmbeddedStore({self.root})"
