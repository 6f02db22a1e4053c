"""Start and stop a local anvil chain on a loopback port.

``LocalChain`` picks a free port (or checks the one asked for), starts anvil, waits
until it answers JSON-RPC and stops it on ``stop()``, on interpreter exit, and --
through ``PR_SET_PDEATHSIG`` on Linux -- when the parent process dies for any
reason, SIGKILL included, so no orphan anvil outlives a test run.
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from devservers.base import LocalServer
from gpubarter.chain.accounts import DEV_MNEMONIC
from gpubarter.errors import NodeStartError
from gpubarter.owned_tempdirs import owned_tempdir
from gpubarter.process import free_port, port_in_use
from gpubarter.toolchain.node import anvil_binary

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


class LocalChain(LocalServer):
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
        super().__init__("anvil", log_path=log_path)
        self._cache: Path | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise NodeStartError("the local chain is not running")
        return f"http://{self.host}:{self.port}"

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
            # Keep past blocks' states in memory only (anvil's default window). Otherwise anvil moves
            # older states to ~/.foundry/anvil/tmp and a killed anvil leaves them there: a day of
            # tests and benches left 79 GB and CI ran out of disk. Nothing here reads old state. Its
            # (then empty) cache folder is a scratch dir of ours, so none is left in ~/.foundry.
            "--max-persisted-states", "0", "--cache-path", str(self._cache_dir()),
            *(["--block-time", str(self.block_time)] if self.block_time else []),
            *self.extra_args,
        ]
        try:
            self._process.start(cmd, ready=lambda: rpc_answers(self.url, timeout=0.2) == self.chain_id,
                                timeout=timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _cache_dir(self) -> Path:
        if self._cache is None:
            self._cache = owned_tempdir("gpubarter-anvil-")
        return self._cache

    def stop(self) -> None:
        self._process.stop()
        if self._cache is not None:
            shutil.rmtree(self._cache, ignore_errors=True)
            self._cache = None
