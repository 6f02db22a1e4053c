"""``gpubarter compile``."""

from __future__ import annotations

import time

import typer

from cli import app
from cli.commands.output import console
from gpubarter.toolchain.compiler import compile_contracts


@app.command("compile")
def compile_cmd(
    force: bool = typer.Option(False, "--force", help="Recompile even if the cache is current."),
) -> None:
    """Compile contracts/**/*.sol into ABI + bytecode artifacts under build/contracts."""
    t0 = time.perf_counter()
    result = compile_contracts(force=force)
    took = time.perf_counter() - t0
    state = "up to date (cache hit)" if result.cached else "compiled"
    console.print(f"{len(result.contracts)} contracts {state} in {took:.2f} s -> {result.artifacts_dir}")
