"""A real IPFS node on loopback for tests, the bench and local experiments.

No Kubo binary can be installed from the registries this project may use, so the node
is js-ipfs (npm ``ipfs@0.66.1``), which serves the same ``/api/v0`` RPC. It lives in
its own folder, ``tools/ipfs/``, with its own lockfile (resolved with
``--before=2024-12-14``; see TOOLCHAIN.md) and is installed there on first use.

:class:`LocalIpfsNode` initialises an isolated repository with ``--profile test``
(no bootstrap peers, no MDNS), moves the API and gateway to free 127.0.0.1 ports,
turns off every other transport, runs the daemon offline and stops it with its owner
(see :mod:`gpubarter.process`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from devservers.base import LocalServer
from gpubarter import paths
from gpubarter.errors import NodeStartError
from gpubarter.owned_tempdirs import owned_tempdir
from gpubarter.process import free_port
from gpubarter.toolchain.node import npm_install, require_executable


def ipfs_tools_dir() -> Path:
    return paths.project_root() / "tools" / "ipfs"


def _jsipfs(modules: Path) -> Path:
    return modules / "ipfs" / "src" / "cli.js"


def ensure_ipfs_node(*, quiet: bool = False) -> Path:
    """Install js-ipfs into ``tools/ipfs/node_modules`` if needed; return its CLI script."""
    modules = npm_install(ipfs_tools_dir(), what="the IPFS node (js-ipfs 0.66.1, about 2 min)",
                          installed=lambda m: _jsipfs(m).is_file(), quiet=quiet,
                          ignore_scripts=False)
    return _jsipfs(modules)


def api_answers(url: str, timeout: float = 0.5) -> bool:
    req = urllib.request.Request(f"{url}/api/v0/id", data=b"", method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status == 200 and b"ID" in resp.read()
    except (OSError, urllib.error.URLError):
        return False


class LocalIpfsNode(LocalServer):
    """js-ipfs in its own repository on 127.0.0.1. A context manager, or start/stop."""

    def __init__(self, *, repo: Path | None = None, host: str = "127.0.0.1") -> None:
        self.host = host
        self._own_repo = repo is None
        self.repo = Path(repo) if repo else owned_tempdir("gpubarter-ipfs-")
        self.api_port: int | None = None
        super().__init__("ipfs node")

    @property
    def api_url(self) -> str:
        if self.api_port is None:
            raise NodeStartError("the IPFS node is not running")
        return f"http://{self.host}:{self.api_port}"

    def _env(self) -> dict[str, str]:
        return {**os.environ, "IPFS_PATH": str(self.repo), "DEBUG": ""}

    def _init_repo(self, node: str, cli: Path) -> None:
        if not (self.repo / "config").is_file():
            proc = subprocess.run([node, str(cli), "init", "--profile", "test"], env=self._env(),
                                  capture_output=True, text=True, timeout=120)
            if proc.returncode != 0:
                tail = proc.stderr.strip()[-400:]
                raise NodeStartError(f"ipfs init failed in {self.repo}: {tail}")
        config_path = self.repo / "config"
        config = json.loads(config_path.read_text())
        self.api_port = free_port(self.host)
        config["Addresses"] = {"API": f"/ip4/{self.host}/tcp/{self.api_port}",
                               "Gateway": f"/ip4/{self.host}/tcp/{free_port(self.host)}",
                               "RPC": f"/ip4/{self.host}/tcp/{free_port(self.host)}",
                               "Swarm": [], "Announce": [], "NoAnnounce": [], "Delegates": []}
        config["Bootstrap"] = []
        config.setdefault("Discovery", {})["MDNS"] = {"Enabled": False}
        config["Discovery"]["webRTCStar"] = {"Enabled": False}
        config_path.write_text(json.dumps(config, indent=2))

    def start(self, *, timeout: float = 60.0) -> LocalIpfsNode:
        cli = ensure_ipfs_node()
        node = require_executable("node")
        self.repo.mkdir(parents=True, exist_ok=True)
        self._init_repo(node, cli)
        (self.repo / "api").unlink(missing_ok=True)  # left by a daemon that was killed
        (self.repo / "repo.lock").unlink(missing_ok=True)
        self._process.start([node, str(cli), "daemon", "--offline"], env=self._env(),
                            ready=lambda: api_answers(self.api_url, timeout=0.5),
                            timeout=timeout, poll_s=0.1)
        return self

    def pause(self) -> None:
        """SIGSTOP the node: it keeps its sockets but answers nothing (a slow node)."""
        self._process.signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._process.signal(signal.SIGCONT)

    def stop(self) -> None:
        self._process.stop()
        if self._own_repo:
            shutil.rmtree(self.repo, ignore_errors=True)
