"""Start and stop a local anvil chain on a loopback port.

``LocalChain`` picks a free port (or checks the one asked for), starts anvil, waits
until it answers JSON-RPC and stops it on ``stop()``, on interpreter exit, and --
through ``PR_SET_PDEATHSIG`` on Linux -- when the parent process dies for any
reason, SIGKILL included, so no orphan anvil outlives a test run.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from gpubarter.errors import NodeStartError
from gpubarter.toolchain.node import anvil_binary

DEV_MNEMONIC = "test test test test test test test test test test test junk"
LOCAL_CHAIN_ID = 31337
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


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    os.setpgrp()  # a Ctrl-C to the terminal reaches us, and we stop anvil in order


def rpc_answers(url: str, timeout: float = 0.5) -> int | None:
    """Chain id if ``url`` answers ``eth_chainId``, else None."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return int(json.loads(resp.read())["result"], 16)
    except (OSError, ValueError, KeyError, urllib.error.URLError):
        return None


def increase_time(w3: Any, seconds: int) -> None:
    """Move a dev chain's clock forward by ``seconds`` and mine a block."""
    w3.provider.make_request("evm_increaseTime", [seconds])
    w3.provider.make_request("evm_mine", [])


class LocalChain:
    """An anvil process on 127.0.0.1. Use as a context manager or call start/stop."""

    def __init__(
        self,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        chain_id: int = LOCAL_CHAIN_ID,
        accounts: int = 10,
        balance_eth: int = 10_000,
        block_time: float | None = None,
        extra_args: tuple[str, ...] = (),
        log_path: Path | None = None,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.port: int | None = None
        self.chain_id = chain_id
        self.accounts = accounts
        self.balance_eth = balance_eth
        self.block_time = block_time
        self.extra_args = extra_args
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: tempfile._TemporaryFileWrapper[bytes] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise NodeStartError("the local chain is not running")
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self, *, timeout: float = 15.0) -> LocalChain:
        binary = anvil_binary()
        if self.requested_port is not None:
            if port_in_use(self.host, self.requested_port):
                raise NodeStartError(
                    f"port {self.requested_port} on {self.host} is in use: stop whatever listens "
                    "there or choose another port with --port"
                )
            self.port = self.requested_port
        else:
            self.port = free_port(self.host)
        cmd = [
            str(binary), "--host", self.host, "--port", str(self.port),
            "--chain-id", str(self.chain_id), "--accounts", str(self.accounts),
            "--balance", str(self.balance_eth), "--mnemonic", DEV_MNEMONIC,
            *(["--block-time", str(self.block_time)] if self.block_time else []),
            *self.extra_args,
        ]
        log = open(self.log_path, "wb") if self.log_path else tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix="anvil-", suffix=".log")
        self._log_file = log  # type: ignore[assignment]
        self._proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                output = self._read_log()
                self.stop()
                raise NodeStartError(f"anvil exited at start (code {self._proc.returncode}): {output}")
            if rpc_answers(self.url, timeout=0.2) == self.chain_id:
                return self
            time.sleep(0.01)
        self.stop()
        raise NodeStartError(f"anvil did not answer on {self.host}:{self.port} within {timeout:.0f} s")

    def _read_log(self) -> str:
        if not self._log_file:
            return ""
        with contextlib.suppress(OSError):
            self._log_file.flush()
            text = Path(self._log_file.name).read_text(errors="replace").strip()
            return " ".join(text.splitlines()[-3:])
        return ""

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log_file is not None:
            with contextlib.suppress(OSError):
                self._log_file.close()
            self._log_file = None
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)

    def __enter__(self) -> LocalChain:
        return self.start() if self._proc is None else self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
