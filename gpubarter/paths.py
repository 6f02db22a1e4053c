"""Where the project keeps its files.

The project root is the folder holding ``pyproject.toml`` and ``package.json``;
``GPUBARTER_ROOT`` overrides it. Generated state lives under the root:
``node_modules/`` (Node tools), ``build/`` (compiled artifacts), ``.gpubarter/``
(runtime state such as a running local node) and ``deployments/``; the ``paths`` section of
:mod:`gpubarter.settings` moves each.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from gpubarter.settings import settings


@cache
def project_root() -> Path:
    root = settings().paths.root
    if root:
        return root.resolve()
    here = Path(__file__).resolve().parent
    for candidate in (here, *here.parents):
        if (candidate / "package.json").is_file() and (candidate / "pyproject.toml").is_file():
            return candidate
    return Path.cwd()


def node_modules() -> Path:
    return project_root() / "node_modules"


def contracts_dir() -> Path:
    return project_root() / "contracts"


def build_dir() -> Path:
    return settings().paths.build_dir or project_root() / "build"


def state_dir() -> Path:
    return settings().paths.state_dir or project_root() / ".gpubarter"


def deployments_dir() -> Path:
    return settings().paths.deployments_dir or project_root() / "deployments"
