"""Where the vault keeps things, and which content store to use.

The vault's folder is ``<state dir>/vault`` unless ``GPUBARTER_VAULT_DIR`` names one. With no
IPFS API configured (``--ipfs-api``, or ``GPUBARTER_IPFS_API``) the embedded store under
``<vault dir>/store`` is used. Keys live in ``<vault dir>/keys`` unless ``GPUBARTER_VAULT_KEYS``
names a folder.
"""

from __future__ import annotations

from pathlib import Path

from backend.vault.content_store import ContentStore
from backend.vault.embedded_store import EmbeddedStore
from backend.vault.ipfs_store import IpfsStore
from backend.vault.keystore import KeyStore
from gpubarter import paths
from gpubarter.settings import settings


def vault_dir() -> Path:
    return settings().vault.dir or paths.state_dir() / "vault"


def spool_dir() -> Path:
    return vault_dir() / "tmp"


def open_store(ipfs_api: str | None = None, *, timeout_s: float | None = None) -> ContentStore:
    ipfs = settings().ipfs
    api = ipfs_api or ipfs.api
    if api:
        return IpfsStore(api, timeout_s=timeout_s or ipfs.timeout_s, spool_dir=spool_dir())
    return EmbeddedStore(vault_dir() / "store")


def open_keystore() -> KeyStore:
    return KeyStore(settings().vault.keys or vault_dir() / "keys")
