"""Where the vault keeps things, and which content store to use.

With no IPFS API configured (``--ipfs-api``, or ``GPUBARTER_IPFS_API`` in
:mod:`gpubarter.settings`) the embedded store under ``<state dir>/vault/store`` is used.
Keys live in ``<state dir>/vault/keys`` unless ``GPUBARTER_VAULT_KEYS`` names a folder.
"""

from __future__ import annotations

from pathlib import Path

from backend.vault.embedded_store import EmbeddedStore
from backend.vault.ipfs_store import IpfsStore
from backend.vault.keystore import KeyStore
from backend.vault.store import ContentStore
from gpubarter import paths
from gpubarter.settings import get_settings


def vault_dir() -> Path:
    return paths.state_dir() / "vault"


def spool_dir() -> Path:
    return vault_dir() / "tmp"


def open_store(ipfs_api: str | None = None, *, timeout_s: float | None = None) -> ContentStore:
    settings = get_settings()
    api = ipfs_api or settings.ipfs_api
    if api:
        return IpfsStore(api, timeout_s=timeout_s or settings.ipfs_timeout_s, spool_dir=spool_dir())
    return EmbeddedStore(vault_dir() / "store")


def open_keystore() -> KeyStore:
    return KeyStore(get_settings().vault_keys or vault_dir() / "keys")
