"""The composition layer: the ``gpubarter`` command line, the development stack (``gpubarter up``),
the demo story and the benchmarks. It sits on top of everything else: the core (``gpubarter``),
the metering oracle (``oracle``) and the service (``backend``); nothing imports it.

Each command group lives in its own module of :mod:`cli.commands` and registers on :data:`app`;
the oracle's group is the oracle's own command line (:mod:`oracle.cli`). Errors a user can act on
print as one line on stderr with exit status 1 (:func:`gpubarter.command.run_app`).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import cli.commands as commands
import oracle.cli
from gpubarter.command import new_app, run_app

app = new_app("gpubarter", "GPU Barter: data pays for GPU compute. Compile, deploy and run the protocol.")
app.add_typer(oracle.cli.app, name="oracle")


def _register() -> None:
    """Import every module of :mod:`cli.commands`: each registers its commands on ``app``."""
    for mod in pkgutil.iter_modules(commands.__path__):
        importlib.import_module(f"cli.commands.{mod.name}")


def main(argv: list[str] | None = None) -> int:
    _register()
    return run_app(app, argv, "gpubarter")


if __name__ == "__main__":
    sys.exit(main())
