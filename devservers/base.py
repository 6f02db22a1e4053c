"""What every development server has: one child process on loopback, a context manager."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from types import TracebackType
from typing import Self

from gpubarter.process import ChildProcess


class LocalServer(ABC):
    """A server started as one child process (:class:`~gpubarter.process.ChildProcess`), tied to
    this process. ``with server:`` starts it unless it runs and stops it at the end."""

    def __init__(self, name: str, *, log_path: Path | None = None) -> None:
        self._process = ChildProcess(name, log_path=log_path)

    @property
    def pid(self) -> int | None:
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process.running

    @abstractmethod
    def start(self, *, timeout: float) -> Self:
        """Start the server; return when it answers (or raise, leaving nothing behind)."""

    @abstractmethod
    def stop(self) -> None:
        """Stop the server and remove what it kept on disk for this run."""

    def __enter__(self) -> Self:
        return self if self.running else self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
