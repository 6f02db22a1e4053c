"""The pinned Solidity compiler: npm's WebAssembly solc behind a native-style wrapper."""

from __future__ import annotations

import os
from pathlib import Path

from gpubarter.toolchain.node import ensure_node_tools

#: One pinned compiler for everything; package.json pins the same npm `solc`.
SOLC_VERSION = "0.8.30"
#: Cancun: transient storage and MCOPY, supported by anvil and the major L2s.
EVM_VERSION = "cancun"

_WRAPPER = Path(__file__).with_name("solc_wrapper.js")


def solc_wrapper() -> Path:
    """Path of an executable `solc` that py-solc-x, forge and brownie can call."""
    ensure_node_tools()
    if not os.access(_WRAPPER, os.X_OK):
        _WRAPPER.chmod(0o755)
    return _WRAPPER
