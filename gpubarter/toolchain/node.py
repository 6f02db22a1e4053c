"""Install the project's Node tools from the committed lockfile, once.

``ensure_node_tools()`` is called by every command that needs anvil, solc or the
OpenZeppelin sources. It runs ``npm install`` from ``package-lock.json`` into the
project's own ``node_modules/`` when the tools are missing or the lockfile changed,
and says so on stderr. (``npm ci`` is not used: npm 11 leaves the other platforms'
optional anvil packages out of the lockfile and ``npm ci`` then refuses it.)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from gpubarter import paths
from gpubarter.errors import ToolchainError

_STAMP = ".gpubarter-lock.sha256"


def _lock_digest() -> str:
    lock = paths.project_root() / "package-lock.json"
    if not lock.is_file():
        raise ToolchainError(f"{lock} is missing: restore it from git (git checkout package-lock.json)")
    return hashlib.sha256(lock.read_bytes()).hexdigest()


def require_executable(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise ToolchainError(
            f"`{name}` was not found on PATH: install Node.js 20 or newer (it brings npm) "
            "and run the command again"
        )
    return found


def ensure_node_tools(*, quiet: bool = False) -> Path:
    """Make sure ``node_modules/`` matches ``package-lock.json``; return its path."""
    modules = paths.node_modules()
    stamp = modules / _STAMP
    digest = _lock_digest()
    if stamp.is_file() and stamp.read_text().strip() == digest and _anvil_path(modules).is_file():
        require_executable("node")
        return modules
    require_executable("node")
    npm = require_executable("npm")
    if not quiet:
        print("gpubarter: installing Node tools (anvil, solc, OpenZeppelin) from package-lock.json ...",
              file=sys.stderr, flush=True)
    cmd = [npm, "install", "--no-save", "--ignore-scripts", "--no-audit", "--no-fund",
           "--loglevel=error"]
    env = {**os.environ, "npm_config_update_notifier": "false"}
    proc = subprocess.run(cmd, cwd=paths.project_root(), env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise ToolchainError(f"npm install failed (exit {proc.returncode}); check your network "
                             f"access to the npm registry. npm said:\n{tail}")
    if not _anvil_path(modules).is_file():
        raise ToolchainError("npm install finished but no anvil binary for this platform was "
                             f"installed under {modules}/@foundry-rs; supported: linux/darwin amd64/arm64")
    stamp.write_text(digest + "\n")
    return modules


def _platform_package() -> str:
    osname = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform, sys.platform)
    machine = os.uname().machine if hasattr(os, "uname") else "x86_64"
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"anvil-{osname}-{arch}"


def _anvil_path(modules: Path) -> Path:
    return modules / "@foundry-rs" / _platform_package() / "bin" / "anvil"


def anvil_binary() -> Path:
    """Path of the anvil binary, installing the Node tools first if needed."""
    path = _anvil_path(ensure_node_tools())
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return path
