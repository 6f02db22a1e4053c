"""Temp dirs that name their owner, so that a killed run does not leave them behind for good.

A server this project starts (PostgreSQL, a js-ipfs node, anvil's state cache) keeps its data in a
fresh temp folder and removes it when it stops. A run that is SIGKILLed cannot, and a database
cluster is hundreds of MB. So each such folder names its owner's pid, and making a new one first
removes those of the same kind whose owner has died.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

#: The file in a scratch folder that holds the pid of the process that made it.
OWNER_FILE = ".owner-pid"


def owned_tempdir(prefix: str) -> Path:
    """A fresh folder ``<temp dir>/<prefix>…`` owned by this process; dead owners' ones go first."""
    sweep(prefix)
    path = Path(tempfile.mkdtemp(prefix=prefix))
    (path / OWNER_FILE).write_text(str(os.getpid()))
    return path


def sweep(prefix: str) -> list[Path]:
    """Remove the scratch folders named ``prefix…`` whose owner process is gone; return them."""
    removed = []
    for path in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        try:
            owner = int((path / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # not a scratch folder, or one still being made
        if not _alive(owner):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True
