"""The exception tree of GPU Barter.

Every error a user can act on derives from :class:`GpuBarterError` and says what is
wrong and what to do. The CLI prints such an error as one line and exits non-zero;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class GpuBarterError(Exception):
    """Root of every GPU Barter error."""


class ToolchainError(GpuBarterError):
    """A Node tool (npm, anvil, solc) is missing or failed."""


class CompileError(ToolchainError):
    """The Solidity compiler reported errors."""


class ChainError(GpuBarterError):
    """The chain could not be reached or refused a request."""


class NodeStartError(ChainError):
    """A local chain could not be started."""


class TransactionReverted(ChainError):
    """A transaction or call reverted; ``reason`` is the decoded revert reason."""

    def __init__(self, reason: str, *, tx_hash: str | None = None) -> None:
        self.reason = reason
        self.tx_hash = tx_hash
        where = f" (tx {tx_hash})" if tx_hash else ""
        super().__init__(f"reverted: {reason}{where}")


class SigningKeyError(GpuBarterError):
    """A signing key is missing or malformed. The key itself is never echoed."""


class ConfigError(GpuBarterError):
    """A setting, network name or file is missing or invalid."""


class DeploymentNotFound(ConfigError):
    """No deployment file exists for the chain."""
