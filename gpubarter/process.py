"""ChildProcess helper processes on loopback: free ports, start, wait until ready, stop.

:class:`ChildProcess` starts a command whose output goes to a log file, polls a
readiness check, and stops the process on ``stop()``, at interpreter exit and --
through ``PR_SET_PDEATHSIG`` on Linux -- when the parent dies for any reason,
SIGKILL included, so no helper (anvil, an IPFS node) outlives its owner.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

from gpubarter.errors import NodeStartError

#: How much of a child's log an error message quotes from (its last lines).
LOG_TAIL_BYTES = 64 * 1024
_PR_SET_PDEATHSIG = 1


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
        return False


def die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    os.setpgrp()  # a Ctrl-C to the terminal reaches us, and we stop the child in order


def child_setup(run_as: tuple[int, int] | None = None) -> Callable[[], None]:
    """The ``preexec_fn`` of a supervised child, optionally dropping to (uid, gid) first
    (changing credentials clears the parent-death signal, so it is set afterwards)."""
    if run_as is None:
        return die_with_parent

    def setup() -> None:
        os.setgid(run_as[1])
        os.setuid(run_as[0])
        die_with_parent()

    return setup


class ChildProcess:
    """One child process tied to this one. ``name`` is used in messages."""

    def __init__(self, name: str, *, log_path: Path | None = None) -> None:
        self.name = name
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._stop_signal: int = signal.SIGTERM

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def returncode(self) -> int | None:
        """The exit status of a child that has exited, else None."""
        return self._proc.poll() if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, cmd: Sequence[str], *, ready: Callable[[], bool], timeout: float,
              env: Mapping[str, str] | None = None, cwd: Path | None = None,
              poll_s: float = 0.01, run_as: tuple[int, int] | None = None,
              stop_signal: int = signal.SIGTERM) -> None:
        """Start ``cmd`` and return once ``ready()`` is true; stop it and raise otherwise.
        Output is appended to ``log_path``, so a restarted child's log keeps the earlier runs."""
        self.launch(cmd, env=env, cwd=cwd, run_as=run_as, stop_signal=stop_signal)
        self.wait_ready(ready, timeout=timeout, poll_s=poll_s)

    def launch(self, cmd: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None,
               run_as: tuple[int, int] | None = None, stop_signal: int = signal.SIGTERM) -> None:
        """Start ``cmd`` without waiting (call :meth:`wait_ready` next), e.g. to start several at
        once. Call it from a thread that outlives the child: the parent-death signal follows the
        thread that forked."""
        # Without a log path the output goes to a file with no name (O_TMPFILE): the kernel frees it
        # when the last holder closes it, so even a SIGKILLed parent leaves nothing in /tmp.
        # "a+b": appended to, and read back by log_tail
        log = open(self.log_path, "a+b") if self.log_path else tempfile.TemporaryFile()  # noqa: SIM115
        self._log_file = log
        self._stop_signal = stop_signal
        self._proc = subprocess.Popen(list(cmd), stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, preexec_fn=child_setup(run_as),
                                      env=dict(env) if env is not None else None, cwd=cwd)
        atexit.register(self.stop)

    def wait_ready(self, ready: Callable[[], bool], *, timeout: float, poll_s: float = 0.01) -> None:
        """Return once ``ready()`` is true; stop the child and raise if it exits or times out."""
        if self._proc is None:
            raise NodeStartError(f"{self.name} was not started")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                code, output = self._proc.returncode, self.log_tail()
                self.stop()
                raise NodeStartError(f"{self.name} exited at start (code {code}): {output}")
            if ready():
                return
            time.sleep(poll_s)
        output = self.log_tail()
        self.stop()
        raise NodeStartError(f"{self.name} was not ready within {timeout:.0f} s: {output}")

    def log_tail(self, lines: int = 3) -> str:
        if not self._log_file:
            return ""
        with contextlib.suppress(OSError):
            self._log_file.flush()
            fd = self._log_file.fileno()
            tail = os.pread(fd, LOG_TAIL_BYTES, max(0, os.fstat(fd).st_size - LOG_TAIL_BYTES))
            text = tail.decode(errors="replace").strip()
            return " ".join(text.splitlines()[-lines:])
        return ""

    def signal(self, sig: int) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(sig)

    def stop(self, grace_s: float = 5.0) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(OSError):
                proc.send_signal(signal.SIGCONT)  # a paused child cannot act on SIGTERM
            proc.send_signal(self._stop_signal)
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log_file is not None:
            with contextlib.suppress(OSError):
                self._log_file.close()
            self._log_file = None
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
