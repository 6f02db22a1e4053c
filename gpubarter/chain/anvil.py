"""Start and stop a local anvil chain on a loopback port.

``LocalChain`` picks a free port (or checks the one asked for), starts anvil, waits
until it answers JSON-RPC and stops it on ``stop()``, on interpreter exit, and --
through ``PR_SET_PDEATHSIG`` on Linux -- when the parent process dies for any
reason, SIGKILL included, so no orphan anvil outlives a test run.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from gpubarter.errors import NodeStartError
from gpubarter.process import Supervised, free_port, port_in_use
from gpubarter.toolchain.node import anvil_binary

__all__ = ["DEV_MNEMONIC", "LOCAL_CHAIN_ID", "LocalChain", "free_port", "increase_time",
           "port_in_use", "rpc_answers"]

DEV_MNEMONIC = "test test test test test test test test test test test junk"
LOCAL_CHAIN_ID = 31337


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
        self._process = Supervised("anvil", log_path=log_path)

    @property
    def url(self) -> str:
        if self.port is None:
            raise NodeStartError("the local chain is not running")
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process.running

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
        self._process.start(cmd, ready=lambda: rpc_answers(self.url, timeout=0.2) == self.chain_id,
                            timeout=timeout)
        return self

    def stop(self) -> None:
        self._process.stop()

    def __enter__(self) -> LocalChain:
        return self.start() if not self._process.running else self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
