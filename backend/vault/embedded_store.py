"""The embedded content-addressed store: the default when no IPFS node is configured.

Each object is one file ``objects/<cid>`` holding its bytes, where ``<cid>`` is the
CID Kubo would compute for them (see :mod:`backend.vault.cid`). A writer streams into
``tmp/`` while the CID is computed, then renames the file into place, so an object is
either whole or absent; adding the same bytes twice keeps one copy.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from backend.vault.atomic import discard, open_spool
from backend.vault.cid import CidBuilder, normalize_cid
from backend.vault.errors import ContentNotFound, StoreUnavailable
from backend.vault.store import READ_CHUNK


class EmbeddedWriter:
    def __init__(self, store: EmbeddedStore) -> None:
        self._store = store
        self._file, self._path = open_spool(store.root / "tmp", "add-")
        self._builder = CidBuilder()
        self._done = False

    def write(self, data: bytes | memoryview) -> None:
        self._builder.update(data)
        self._file.write(data)

    def commit(self) -> str:
        cid = self._builder.finish()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        target = self._store.path_of(cid)
        if target.exists():  # same bytes already held
            discard(self._path)
        else:
            os.replace(self._path, target)
        self._done = True
        return cid

    def abort(self) -> None:
        if not self._done:
            self._file.close()
            discard(self._path)
            self._done = True


class EmbeddedStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.location = str(self.root)
        try:
            (self.root / "objects").mkdir(parents=True, exist_ok=True)
            (self.root / "tmp").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"cannot use {self.root} as the embedded store: "
                                   f"{exc.strerror}") from None

    def path_of(self, cid: str) -> Path:
        return self.root / "objects" / normalize_cid(cid)

    def writer(self) -> EmbeddedWriter:
        return EmbeddedWriter(self)

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
