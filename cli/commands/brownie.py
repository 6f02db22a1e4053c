"""``gpubarter brownie ARGS...``: brownie in its own environment, built on first use."""

from __future__ import annotations

from typing import Annotated

import typer

from cli import app
from gpubarter.toolchain.brownie_env import run_brownie


@app.command("brownie", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def brownie_cmd(
    args: Annotated[list[str] | None, typer.Argument(
        help="brownie's arguments, e.g. `compile` or `run scripts/deploy.py`.",
    )] = None,
) -> None:
    """Run brownie (eth-brownie 1.22, which pins web3 7) in a separate environment.

    Built once under .gpubarter/ (about a minute), with its own HOME:
    your ~/.brownie and ~/.solcx are left alone.

    Uses the project's pinned solc and its anvil (start `gpubarter node` first).

    Put brownie's own options after `--`: `gpubarter brownie -- run --help`.
    """
    run_brownie(args or ["--help"])
