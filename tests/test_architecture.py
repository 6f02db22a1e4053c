"""The layers of docs/architecture.md hold: the import-linter contract in pyproject.toml is kept, and
the oracle's own entry point loads nothing of the service or of the composition layer."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_layers_contract_is_kept():
    proc = subprocess.run([str(Path(sys.executable).with_name("lint-imports"))], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def _imported_by(*args: str) -> set[str]:
    """The top-level packages of ours that ``python ARGS`` imports (``-X importtime`` lists them)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    modules = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*([\w.]+)$", proc.stderr, re.MULTILINE)
    assert modules, proc.stderr[-2000:]
    return {m.split(".")[0] for m in modules} & {"cli", "oracle", "backend", "devservers", "gpubarter"}


def test_python_m_oracle_loads_only_the_oracle_and_the_core():
    assert _imported_by("-m", "oracle", "--help") == {"oracle", "gpubarter"}


def test_the_gpubarter_command_composes_all_layers():
    """The check above can fail: the composition layer's entry point does load them all."""
    assert _imported_by("-m", "cli", "--help") == {"cli", "oracle", "backend", "devservers", "gpubarter"}
