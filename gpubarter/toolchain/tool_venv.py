"""Python tools that live in their own virtual environments, built once with uv and then reused.

brownie pins web3 6 and slither its own crytic-compile, neither of which can share the project's
environment (web3 8), so each gets a venv under its root folder, marked by a stamp file that names
what was installed: a changed stamp (a new version, another Python) rebuilds it. Building is
safe with concurrent callers (pytest-xdist workers, two test runs): the first builds under a file
lock, the others wait and then find it built.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gpubarter import paths
from gpubarter.errors import ToolchainError
from gpubarter.file_lock import file_lock


@dataclass(frozen=True)
class ToolVenv:
    """The folder of one tool: its venv and the stamp of what the venv holds."""

    root: Path

    @property
    def venv(self) -> Path:
        return self.root / "venv"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def stamp(self) -> Path:
        return self.root / "installed"

    def environ(self, *, drop: Iterable[str] = (), path_first: Iterable[Path] = ()) -> dict[str, str]:
        """The caller's environment for a process of the tool: no ``PYTHONPATH``/``PYTHONHOME`` (nor
        the variables in ``drop``), the venv's ``bin`` (then ``path_first``) ahead on ``PATH``, the
        venv as ``VIRTUAL_ENV`` and the project's node_modules as ``GPUBARTER_NODE_MODULES``."""
        dropped = {"PYTHONPATH", "PYTHONHOME", *drop}
        env = {k: v for k, v in os.environ.items() if k not in dropped}
        path = [str(self.venv / "bin"), *map(str, path_first), env.get("PATH", os.defpath)]
        env.update(
            VIRTUAL_ENV=str(self.venv),
            PATH=os.pathsep.join(path),
            PYTHONUNBUFFERED="1",
            GPUBARTER_NODE_MODULES=str(paths.node_modules()),
        )
        return env

    def is_installed(self, stamp: str, *also: Path) -> bool:
        """Whether the venv holds what ``stamp`` says, with its python and the files ``also``."""
        return (
            self.stamp.is_file()
            and self.stamp.read_text() == stamp
            and all(path.is_file() for path in (self.python, *also))
        )


def find_uv(tool: str, error: type[ToolchainError]) -> str:
    """The uv that builds the tools' venvs (``$UV`` or on ``PATH``), or ``error`` saying what to do."""
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        raise error(
            f"`uv` was not found on PATH; {tool}'s environment is built with uv: "
            "install it (https://docs.astral.sh/uv/) and run the command again"
        )
    return found


def build_once(
    root: Path,
    installed: Callable[[], bool],
    install: Callable[[str], None],
    *,
    tool: str,
    error: type[ToolchainError],
) -> None:
    """Run ``install(uv)`` unless ``installed()``; under a lock in ``root``, checking again once held."""
    if installed():
        return
    uv = find_uv(tool, error)
    with file_lock(root / ".lock"):  # another process may be building it right now
        if not installed():
            install(uv)


def create_venv(
    env: ToolVenv,
    uv: str,
    requirements: Sequence[str],
    stamp: str,
    *,
    tool: str,
    error: type[ToolchainError],
    note: str = "once",
    quiet: bool = False,
    without_dependencies: Sequence[str] = (),
) -> None:
    """(Re)create ``env``'s venv with this Python, pip-install ``requirements`` (arguments of
    ``uv pip install``), then ``without_dependencies`` with ``--no-deps`` (a package whose declared
    dependencies the tool's exact pins refuse, though it runs on them), then write ``stamp``; a
    failed step raises ``error`` with uv's last words."""
    if not quiet:
        print(
            f"gpubarter: installing {tool} into its own environment at {env.venv} ({note}) ...",
            file=sys.stderr,
            flush=True,
        )
    env.stamp.unlink(missing_ok=True)
    _run_step(
        f"creating {tool}'s virtual environment",
        [uv, "venv", "--quiet", "--clear", "--python", sys.executable, str(env.venv)],
        error,
    )
    _run_step(
        f"installing {tool} (check access to PyPI)",
        [uv, "pip", "install", "--quiet", "--python", str(env.python), *requirements],
        error,
    )
    if without_dependencies:
        _run_step(
            f"installing {', '.join(without_dependencies)} next to {tool}",
            [uv, "pip", "install", "--quiet", "--no-deps", "--python", str(env.python),
             *without_dependencies],
            error,
        )
    env.stamp.write_text(stamp)


def _run_step(what: str, cmd: Sequence[str], error: type[ToolchainError]) -> None:
    proc = subprocess.run(list(cmd), capture_output=True, text=True)
    if proc.returncode != 0:
        raise error(f"{what} failed (exit {proc.returncode}): {tail(proc.stderr, 5)}")


def write_if_changed(path: Path, text: str, *, mode: int = 0o644) -> None:
    """Write ``path`` unless it already holds ``text``: atomically, as other processes may be
    running what it holds (a compiler shim, a tool's config)."""
    if path.is_file() and path.read_text() == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # unique per thread too
    with os.fdopen(fd, "w") as file:
        file.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def tail(output: str, lines: int) -> str:
    """The last ``lines`` non-blank lines of ``output``."""
    kept = [line.rstrip() for line in output.strip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:]) or "no output"
