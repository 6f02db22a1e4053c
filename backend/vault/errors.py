"""Errors of the dataset vault. Each says what is wrong and what to do; none carries a key."""

from __future__ import annotations

from gpubarter.errors import GpuBarterError


class VaultError(GpuBarterError):
    """Root of the vault's errors."""


class DatasetInputError(VaultError):
    """The dataset cannot be read or cannot be split as asked (empty, unreadable, K too large)."""


class KTooLarge(DatasetInputError):
    """More shards (release steps) were asked for than the data has rows, files or bytes."""


class StoreUnavailable(VaultError):
    """The content store (an IPFS node) is down, too slow or refused a request."""


class ContentNotFound(VaultError):
    """The store does not hold the content asked for."""


class IntegrityError(VaultError):
    """Content does not match what it must match (its CID, its GCM tag, its plaintext hash)."""


class WrongKeyError(VaultError):
    """A shard key does not match the commitment recorded in the manifest."""


class ManifestError(VaultError):
    """A manifest is malformed or refers to something it cannot."""


class KeyStoreError(VaultError):
    """The owner's key store is missing, unsafe (readable by others) or lacks a key."""
