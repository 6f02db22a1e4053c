"""A two-stage pipeline: the caller encrypts and hashes while a worker thread hands the
ciphertext to the store (which hashes it into its CID and writes it). SHA-256 and
AES-GCM both release the GIL on large buffers, so the two stages use two cores. The
queue is bounded, so memory stays flat whatever the size of the shard."""

from __future__ import annotations

import queue
import threading

from backend.vault.store import StoreWriter

_DEPTH = 8
_STOP = object()


class BackgroundWriter:
    def __init__(self, inner: StoreWriter) -> None:
        self._inner = inner
        self._queue: queue.Queue[object] = queue.Queue(maxsize=_DEPTH)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="vault-store-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not _STOP:
            if self._error is None:
                try:
                    self._inner.write(item)  # type: ignore[arg-type]
                except BaseException as exc:  # handed to the caller on its next call
                    self._error = exc

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def write(self, data: bytes) -> None:
        self._raise_if_failed()
        self._queue.put(data)

    def _drain(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def commit(self) -> str:
        self._drain()
        self._raise_if_failed()
        return self._inner.commit()

    def abort(self) -> None:
        self._error = self._error or RuntimeError("aborted")
        self._drain()
        self._inner.abort()
