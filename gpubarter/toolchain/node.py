"""Install the project's Node tools from the committed lockfile, once.

``ensure_node_tools()`` is called by every command that needs anvil, forge, solc or the
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
from collections.abc import Callable
from pathlib import Path

from gpubarter import paths
from gpubarter.errors import ToolchainError
from gpubarter.file_lock import file_lock

_STAMP = ".gpubarter-lock.sha256"


def _lock_digest(folder: Path) -> str:
    lock = folder / "package-lock.json"
    if not lock.is_file():
        raise ToolchainError(f"{lock} is missing: restore it from git (git checkout {lock})")
    return hashlib.sha256(lock.read_bytes()).hexdigest()


def require_executable(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise ToolchainError(
            f"`{name}` was not found on PATH: install Node.js 20 or newer (it brings npm) "
            "and run the command again"
        )
    return found


def npm_install(folder: Path, *, what: str, installed: Callable[[Path], bool],
                quiet: bool = False, ignore_scripts: bool = True,
                extra_args: tuple[str, ...] = ()) -> Path:
    """Make ``folder/node_modules`` match ``folder/package-lock.json``; return its path.

    Runs ``npm install`` only when the lockfile changed since the last install (a
    stamp file records its digest) or ``installed(node_modules)`` says something is
    missing, and says so on stderr. Concurrent calls (two test runs, two commands) take turns:
    the second finds the first's install done.
    """
    modules = folder / "node_modules"
    stamp = modules / _STAMP
    digest = _lock_digest(folder)
    require_executable("node")

    def current() -> bool:
        return stamp.is_file() and stamp.read_text().strip() == digest and installed(modules)

    if current():
        return modules
    with file_lock(folder / ".npm-install.lock"):
        if not current():
            _install(folder, what=what, installed=installed, quiet=quiet, ignore_scripts=ignore_scripts,
                     extra_args=extra_args)
            stamp.write_text(digest + "\n")
    return modules


def _install(folder: Path, *, what: str, installed: Callable[[Path], bool], quiet: bool,
             ignore_scripts: bool, extra_args: tuple[str, ...]) -> None:
    modules = folder / "node_modules"
    npm = require_executable("npm")
    if not quiet:
        print(f"gpubarter: installing {what} from {folder / 'package-lock.json'} ...",
              file=sys.stderr, flush=True)
    cmd = [npm, "install", "--no-save", "--no-audit", "--no-fund", "--loglevel=error",
           *(["--ignore-scripts"] if ignore_scripts else []), *extra_args]
    env = {**os.environ, "npm_config_update_notifier": "false"}
    proc = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise ToolchainError(f"npm install of {what} failed (exit {proc.returncode}); check your "
                             f"network access to the npm registry. npm said:\n{tail}")
    if not installed(modules):
        raise ToolchainError(f"npm install of {what} finished but {modules} is incomplete")


def ensure_node_tools(*, quiet: bool = False) -> Path:
    """Make sure ``node_modules/`` matches ``package-lock.json``; return its path."""
    modules = npm_install(paths.project_root(), what="Node tools (anvil, forge, solc, OpenZeppelin)",
                          installed=lambda m: all(_foundry_path(m, t).is_file() for t in _FOUNDRY_TOOLS),
                          quiet=quiet)
    return modules


#: Foundry's binaries installed from npm (`@foundry-rs/<tool>`, with one package per platform).
_FOUNDRY_TOOLS = ("anvil", "forge")


def _platform_package(tool: str) -> str:
    osname = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform, sys.platform)
    machine = os.uname().machine if hasattr(os, "uname") else "x86_64"
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{tool}-{osname}-{arch}"


def _foundry_path(modules: Path, tool: str) -> Path:
    return modules / "@foundry-rs" / _platform_package(tool) / "bin" / tool


def _foundry_binary(tool: str) -> Path:
    path = _foundry_path(ensure_node_tools(), tool)
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return path


def anvil_binary() -> Path:
    """Path of the anvil binary, installing the Node tools first if needed."""
    return _foundry_binary("anvil")


def forge_binary() -> Path:
    """Path of the forge binary (the invariant suites' runner), installing the Node tools first if needed."""
    return _foundry_binary("forge")
