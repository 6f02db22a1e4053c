"""Node tool bootstrap, the solc wrapper and the cached, reproducible compile."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import solcx
from packaging.version import Version

from gpubarter import paths
from gpubarter.errors import CompileError
from gpubarter.toolchain import compiler
from gpubarter.toolchain.solc import SOLC_VERSION, solc_wrapper

SIMPLE = """// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
contract Simple { function v() external pure returns (uint256) { return Math.max(%d, 0); } }
"""


@pytest.fixture
def scratch_project(tmp_path, monkeypatch):
    """A contracts/ folder and build/ folder of our own, compiled with the real toolchain."""
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    (contracts / "Simple.sol").write_text(SIMPLE % 1)
    monkeypatch.setattr(paths, "contracts_dir", lambda: contracts)
    monkeypatch.setenv("GPUBARTER_BUILD_DIR", str(tmp_path / "build"))
    return contracts


def test_wrapper_answers_version_like_native_solc():
    out = subprocess.run([str(solc_wrapper()), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1].startswith(f"Version: {SOLC_VERSION}+commit.")
    assert out.stdout.strip().endswith(".Linux.g++")
    assert solcx.wrapper.get_solc_version(solc_wrapper()) == Version(SOLC_VERSION)


def test_wrapper_prints_only_json_for_standard_json():
    source = {"language": "Solidity",
              "sources": {"a.sol": {"content": "pragma solidity ^0.8.0; contract A {}"}},
              "settings": {"outputSelection": {"*": {"*": ["abi"]}}}}
    out = subprocess.run([str(solc_wrapper()), "--standard-json"], input=json.dumps(source),
                         capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["contracts"]["a.sol"]["A"]["abi"] == []


def test_cached_compile_starts_no_compiler(scratch_project, monkeypatch):
    first = compiler.compile_contracts()
    assert not first.cached and first.contracts == ("Simple",)

    def no_compiler(*_a, **_k):
        raise AssertionError("the compiler was started on a cache hit")

    monkeypatch.setattr(compiler, "_run_solc", no_compiler)
    second = compiler.compile_contracts()
    assert second.cached and second.contracts == ("Simple",)


def test_source_change_invalidates_cache(scratch_project):
    compiler.compile_contracts()
    before = (compiler.artifacts_dir() / "Simple.json").read_text()
    (scratch_project / "Simple.sol").write_text(SIMPLE % 2)
    result = compiler.compile_contracts()
    assert not result.cached
    assert (compiler.artifacts_dir() / "Simple.json").read_text() != before


def test_compile_is_reproducible(scratch_project):
    compiler.compile_contracts()
    first = (compiler.artifacts_dir() / "Simple.json").read_bytes()
    compiler.compile_contracts(force=True)
    assert (compiler.artifacts_dir() / "Simple.json").read_bytes() == first


def test_compile_error_is_one_clear_message_and_keeps_old_build(scratch_project):
    compiler.compile_contracts()
    good = (compiler.artifacts_dir() / "Simple.json").read_text()
    (scratch_project / "Simple.sol").write_text("pragma solidity 0.8.30; contract Simple { uint x = ; }")
    with pytest.raises(CompileError) as info:
        compiler.compile_contracts()
    assert "ParserError" in str(info.value) and "Simple.sol" in str(info.value)
    assert (compiler.artifacts_dir() / "Simple.json").read_text() == good


def test_missing_node_gives_one_clear_line(tmp_path):
    # an empty PATH folder: no node, no npm; --force so that the compiler must start
    env = {**os.environ, "PATH": str(tmp_path), "GPUBARTER_BUILD_DIR": str(tmp_path / "build")}
    proc = subprocess.run([sys.executable, "-m", "cli", "compile", "--force"], env=env,
                          capture_output=True, text=True, cwd=paths.project_root())
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: `node` was not found on PATH: install Node.js 20 or newer (it brings npm) "
        "and run the command again"]
    assert "Traceback" not in proc.stderr
