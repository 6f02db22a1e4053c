"""``gpubarter bench toolchain``: compile (cold and cached), anvil start, test start-up.

Baselines measured in the same run: a bare ``node`` start (what any compiler run
pays at least), anvil's own ``--version`` (the binary's start without a chain) and a
pytest session with one empty test (pytest's own start-up).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from cli.bench import Measurement
from cli.bench._timing import median_of, run_seconds, timed
from devservers.anvil import LocalChain
from gpubarter import paths
from gpubarter.toolchain.compiler import compile_contracts
from gpubarter.toolchain.node import anvil_binary, ensure_node_tools


def _compile_times() -> tuple[float, float]:
    old = os.environ.get("GPUBARTER_BUILD_DIR")
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        os.environ["GPUBARTER_BUILD_DIR"] = tmp
        try:
            cold, _ = timed(lambda: compile_contracts())
            cached = median_of(compile_contracts, repeat=5)
        finally:
            if old is None:
                os.environ.pop("GPUBARTER_BUILD_DIR", None)
            else:
                os.environ["GPUBARTER_BUILD_DIR"] = old
    return cold, cached


def _anvil_start() -> float:
    def once() -> None:
        LocalChain().start().stop()

    once()  # warm the page cache
    return median_of(once, repeat=5)


def _pytest_seconds(args: list[str], cwd: Path) -> float:
    return run_seconds([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                       cwd=cwd)


def run() -> list[Measurement]:
    ensure_node_tools()
    root = paths.project_root()
    node_start = median_of(lambda: run_seconds(["node", "-e", "0"]), repeat=5)
    cold, cached = _compile_times()
    anvil_version = median_of(lambda: run_seconds([str(anvil_binary()), "--version"]), repeat=5)
    anvil_ready = _anvil_start()

    with tempfile.TemporaryDirectory(prefix="bench-pytest-") as tmp:
        (Path(tmp) / "test_empty.py").write_text("def test_empty():\n    pass\n")
        bare = _pytest_seconds([str(Path(tmp) / "test_empty.py")], cwd=Path(tmp))
    cli_cached = median_of(lambda: run_seconds([sys.executable, "-m", "cli", "compile"], cwd=root),
                           repeat=3)
    import_web3 = median_of(lambda: run_seconds([sys.executable, "-c", "import web3"]), repeat=3)
    harness = _pytest_seconds(["tests/test_harness.py::test_session_starts_chain_and_deploys"], cwd=root)

    return [
        Measurement("cold compile (all contracts)", cold, "s", "node start", node_start),
        Measurement("cached compile (no source change)", cached, "s", "cold compile", cold,
                    budget="< 1 s", ok=cached < 1.0),
        Measurement("`gpubarter compile` cached, whole command", cli_cached, "s",
                    "python -c 'import web3'", import_web3),
        Measurement("anvil ready (start to first answer)", anvil_ready, "s", "anvil --version",
                    anvil_version, budget="< 1 s", ok=anvil_ready < 1.0),
        Measurement("test session start-up (chain + deploy + 1 test)", harness, "s",
                    "pytest with one empty test", bare),
    ]
