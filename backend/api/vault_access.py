"""What the upload and appraisal routes share: the server's vault, request bodies
streamed to disk, and who may act for an owner.

The vault (``VaultSettings.dir``, ``GPUBARTER_VAULT_DIR``, default ``<state dir>/vault``) holds the spool
folder for request bodies, each owner's key store (``keys/<owner address>``, 0700
folders of 0600 files) and, without ``IpfsSettings.api``, the embedded content
store. Keys are written only there: never into a response, a log line, IPFS or the chain.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from web3 import Web3

from backend.api.problems import Problem
from backend.vault.content_store import ContentStore
from backend.vault.embedded_store import EmbeddedStore
from backend.vault.errors import VaultError
from backend.vault.ipfs_store import IpfsStore
from backend.vault.keystore import KeyStore
from gpubarter.settings import IpfsSettings, VaultSettings

ADDRESS = r"^0x[0-9a-fA-F]{40}$"
DEFAULT_ADMIN_ROLE = b"\x00" * 32


@dataclass(frozen=True)
class ServerVault:
    root: Path
    store: ContentStore

    @property
    def spool_dir(self) -> Path:
        return self.root / "spool"

    def keystore(self, owner: str) -> KeyStore:
        """The key store of ``owner`` (an account or a cooperative)."""
        return KeyStore(self.root / "keys" / Web3.to_checksum_address(owner).lower())

    @classmethod
    def from_settings(cls, vault: VaultSettings, ipfs: IpfsSettings) -> ServerVault:
        from backend.vault.config import vault_dir

        root = Path(vault.dir or vault_dir())
        store: ContentStore
        if ipfs.api:
            store = IpfsStore(ipfs.api, timeout_s=ipfs.timeout_s, spool_dir=root / "spool")
        else:
            store = EmbeddedStore(root / "store")
        return cls(root, store)


def vault_of(request: Request) -> ServerVault:
    """The app's vault, opened on first use (an app that takes no uploads creates nothing)."""
    vault: ServerVault | None = getattr(request.app.state, "vault", None)
    if vault is None:
        try:
            vault = ServerVault.from_settings(*request.app.state.vault_settings)
        except VaultError as exc:
            raise Problem(503, "store-unavailable", str(exc)) from None
        request.app.state.vault = vault
    return vault


@contextlib.asynccontextmanager
async def spooled_body(request: Request, *, limit: int, directory: Path,
                       suffix: str = "") -> AsyncIterator[tuple[Path, int]]:
    """Stream the request body into a temporary file (never whole in memory) and yield
    (its path, its size); the file is removed on the way out, whatever happens.

    Refuses a body declared or found larger than ``limit`` (413) and an empty one (400).
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Problem(413, "upload-too-large", f"uploads are limited to {limit} bytes; this one "
                      f"declares {int(declared)}", limit=limit)
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=suffix, dir=directory)
    path = Path(name)
    try:
        size = 0
        with os.fdopen(fd, "wb") as f:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise Problem(413, "upload-too-large",
                                  f"uploads are limited to {limit} bytes; this one is larger",
                                  limit=limit)
                f.write(chunk)
        if size == 0:
            raise Problem(400, "empty-upload", "the request body is empty; send the dataset's "
                          "bytes as the body (Content-Type: application/octet-stream)")
        yield path, size
    finally:
        path.unlink(missing_ok=True)


def acting_owner(request: Request, user: str, owner: str | None) -> str:
    """The owner ``user`` acts for: itself, or a cooperative of this deployment on which
    it holds ``DEFAULT_ADMIN_ROLE`` (read from the chain now). Blocking: call in a thread."""
    if owner is None or owner.lower() == user.lower():
        return Web3.to_checksum_address(user)
    w3: Web3 | None = getattr(request.app.state, "w3", None)
    deployment = getattr(request.app.state, "deployment", None)
    if w3 is None or deployment is None:
        raise Problem(503, "chain-unavailable", "this server has no chain connection to check "
                      "cooperative roles; act for yourself (leave out owner)")
    from gpubarter.chain.contracts import contract_at

    coop = Web3.to_checksum_address(owner)
    factory = deployment.contract(w3, "CooperativeFactory")
    if not factory.functions.isCooperative(coop).call():
        raise Problem(403, "not-cooperative-admin", f"{coop} is not a cooperative created by this "
                      "deployment's CooperativeFactory; you may act only for yourself or for a "
                      "cooperative you administer", owner=coop)
    if not contract_at(w3, "DataCooperative", coop).functions.hasRole(DEFAULT_ADMIN_ROLE, user).call():
        raise Problem(403, "not-cooperative-admin", f"{user} does not hold DEFAULT_ADMIN_ROLE on the "
                      f"cooperative {coop}; ask its admin to grant it, or act for yourself",
                      owner=coop)
    return coop
