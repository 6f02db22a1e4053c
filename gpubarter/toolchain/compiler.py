"""Compile ``contracts/**/*.sol`` into ABI + bytecode artifacts under ``build/``.

The build is reproducible (one pinned solc, fixed settings, sources ordered by path)
and cached: the cache key hashes the compiler version, the settings, every source
file under ``contracts/`` and the Node lockfile (which pins OpenZeppelin). A build
whose key matches ``build/contracts/.cache-key`` starts no compiler.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from gpubarter import paths
from gpubarter.errors import CompileError
from gpubarter.toolchain.solc import EVM_VERSION, SOLC_VERSION, solc_wrapper

SETTINGS: dict[str, Any] = {
    "evmVersion": EVM_VERSION,
    "optimizer": {"enabled": True, "runs": 1000},
    "metadata": {"bytecodeHash": "ipfs"},
    "outputSelection": {
        "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "evm.methodIdentifiers"]}
    },
}

_KEY_FILE = ".cache-key"


@dataclass(frozen=True)
class CompileResult:
    artifacts_dir: Path
    contracts: tuple[str, ...]
    cached: bool


def artifacts_dir() -> Path:
    return paths.build_dir() / "contracts"


def _sources(root: Path) -> dict[str, str]:
    """Source unit name (``contracts/...``, relative to ``root``) -> text."""
    contracts = paths.contracts_dir()
    files = sorted(contracts.rglob("*.sol"))
    if not files:
        raise CompileError(f"no Solidity sources under {contracts}")
    return {f.relative_to(root).as_posix(): f.read_text(encoding="utf-8") for f in files}


def _cache_key(sources: dict[str, str]) -> str:
    h = hashlib.sha256()
    h.update(f"solc {SOLC_VERSION}\n".encode())
    h.update(json.dumps(SETTINGS, sort_keys=True).encode())
    lock = paths.project_root() / "package-lock.json"
    if lock.is_file():
        h.update(lock.read_bytes())
    for name, text in sources.items():
        h.update(f"\0{name}\0".encode())
        h.update(text.encode())
    return h.hexdigest()


def compile_contracts(*, force: bool = False) -> CompileResult:
    """Compile every project contract unless the cached build is up to date."""
    root = paths.contracts_dir().parent
    sources = _sources(root)
    key = _cache_key(sources)
    out = artifacts_dir()
    key_file = out / _KEY_FILE
    if not force and key_file.is_file() and key_file.read_text().strip() == key:
        names = tuple(sorted(p.stem for p in out.glob("*.json")))
        return CompileResult(out, names, cached=True)

    output = _run_solc(root, sources)
    artifacts = _collect(output, set(sources))
    _write_atomically(out, artifacts, key)
    return CompileResult(out, tuple(sorted(artifacts)), cached=False)


def _run_solc(root: Path, sources: dict[str, str]) -> dict[str, Any]:
    import solcx  # imported late: only a real compile needs it

    standard_input = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": SETTINGS,
    }
    try:
        output = solcx.compile_standard(
            standard_input,
            solc_binary=solc_wrapper(),
            base_path=str(root),
            allow_paths=[str(root), str(paths.node_modules())],
            allow_empty=True,
        )
    except solcx.exceptions.SolcError as exc:
        raise CompileError(_format_errors(getattr(exc, "stdout_data", "") or str(exc))) from None
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError("\n".join(e.get("formattedMessage", e.get("message", "")) for e in errors))
    return output


def _format_errors(raw: str) -> str:
    try:
        data = json.loads(raw)
    except (TypeError, ValueError):
        return f"solc failed: {raw.strip()[:2000]}"
    msgs = [e.get("formattedMessage", e.get("message", "")) for e in data.get("errors", [])
            if e.get("severity") == "error"]
    return "\n".join(msgs) or "solc failed without an error message"


def _collect(output: dict[str, Any], project_files: set[str]) -> dict[str, dict[str, Any]]:
    artifacts: dict[str, dict[str, Any]] = {}
    for source_name, contracts in output.get("contracts", {}).items():
        if source_name not in project_files:
            continue
        for name, data in contracts.items():
            if name in artifacts:
                raise CompileError(f"contract name {name} is defined twice "
                                   f"({artifacts[name]['sourceName']} and {source_name}); rename one")
            evm = data.get("evm", {})
            artifacts[name] = {
                "contractName": name,
                "sourceName": source_name,
                "compiler": {"version": SOLC_VERSION, "settings": SETTINGS},
                "abi": data.get("abi", []),
                "bytecode": "0x" + evm.get("bytecode", {}).get("object", ""),
                "deployedBytecode": "0x" + evm.get("deployedBytecode", {}).get("object", ""),
                "methodIdentifiers": evm.get("methodIdentifiers", {}),
            }
    return artifacts


def _write_atomically(out: Path, artifacts: dict[str, dict[str, Any]], key: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".contracts-", dir=out.parent))
    try:
        for name, artifact in artifacts.items():
            (tmp / f"{name}.json").write_text(json.dumps(artifact, indent=1, sort_keys=True) + "\n")
        (tmp / _KEY_FILE).write_text(key + "\n")
        old = out.with_name(out.name + ".old")
        if out.exists():
            os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@cache
def _ensure_fresh(directory: Path) -> None:
    """Bring the build in ``directory`` up to date with the sources, once per process."""
    compile_contracts()


def load_artifact(name: str) -> dict[str, Any]:
    """Artifact of one contract, compiling first if the build is stale."""
    _ensure_fresh(artifacts_dir())
    path = artifacts_dir() / f"{name}.json"
    if not path.is_file():
        compile_contracts()
    if not path.is_file():
        raise CompileError(f"no contract named {name} under {paths.contracts_dir()}")
    return json.loads(path.read_text())
