"""Fixtures of the vault tests: a store on the session's real IPFS node (tests/ipfs_world.py),
and per test an embedded store, a key store and a spool folder in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.vault.embedded_store import EmbeddedStore
from backend.vault.ipfs_store import IpfsStore
from backend.vault.keystore import KeyStore
from devservers.ipfs import LocalIpfsNode


@pytest.fixture
def ipfs_store(ipfs_node: LocalIpfsNode, tmp_path: Path) -> Iterator[IpfsStore]:
    store = IpfsStore(ipfs_node.api_url, timeout_s=30, spool_dir=tmp_path / "spool")
    yield store
    store.close()


@pytest.fixture
def embedded_store(tmp_path: Path) -> EmbeddedStore:
    return EmbeddedStore(tmp_path / "store")


@pytest.fixture
def keystore(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "keys")


def leftovers(*folders: Path) -> list[Path]:
    """Temporary or partial files left in ``folders`` (there must be none)."""
    found: list[Path] = []
    for folder in folders:
        if folder.exists():
            found += [p for p in folder.rglob("*") if p.is_file() and (
                p.name.endswith(".part") or p.parent.name in ("tmp", "spool"))]
    return found
