"""The Node toolchain: anvil, solc (WebAssembly) and OpenZeppelin, installed on first use."""

from gpubarter.toolchain.node import anvil_binary, ensure_node_tools
from gpubarter.toolchain.solc import EVM_VERSION, SOLC_VERSION, solc_wrapper

__all__ = ["EVM_VERSION", "SOLC_VERSION", "anvil_binary", "ensure_node_tools", "solc_wrapper"]
