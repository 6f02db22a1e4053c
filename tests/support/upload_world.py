"""Shared setup for the upload and appraisal API tests: a live service with its own vault
and upload limit, a signed-in user, a cooperative that user administers.

Not a test module: test modules import the fixtures and helpers they use.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from backend.db.appraisals import count_rows
from backend.service import BackendService
from gpubarter.process import free_port
from gpubarter.protocol.barter import BarterClient
from gpubarter.settings import ApiSettings, IpfsSettings, VaultSettings

UPLOAD_LIMIT = 256 * 1024
CSV = "id,name,score,ts\n" + "".join(f"{i},n{i % 7},{i * 0.5},2026-01-{i % 28 + 1:02d}\n" for i in range(400))


def open_service(w3, deployment, database_url, vault: Path, *, ipfs_api: str | None = None,
                 ipfs_timeout_s: float = 60.0, **settings) -> BackendService:
    options = {"port": free_port(), "max_body_bytes": 1024, "max_upload_bytes": UPLOAD_LIMIT, **settings}
    return BackendService(w3, deployment, database_url=database_url, settings=ApiSettings(**options),
                          vault=VaultSettings(dir=vault),
                          ipfs=IpfsSettings(api=ipfs_api, timeout_s=ipfs_timeout_s),
                          poll_seconds=0.05)


@pytest.fixture
def vault(tmp_path) -> Path:
    return tmp_path / "vault"


@pytest.fixture
def live(w3, deployment, database_url, vault) -> Iterator[tuple[BackendService, httpx.Client]]:
    with open_service(w3, deployment, database_url, vault) as svc, \
            httpx.Client(base_url=svc.url, timeout=30) as client:
        yield svc, client


@pytest.fixture
def client(live) -> httpx.Client:
    return live[1]


@pytest.fixture
def user():
    return Account.create()


@pytest.fixture
def coop(accounts, deployment, user) -> str:
    """A cooperative whose admin is ``user``."""
    return BarterClient(accounts[0], deployment).create_cooperative("Upload Co-op", admin=user.address).value


def upload(client: httpx.Client, body: bytes | Iterator[bytes], headers: dict[str, str] | None = None,
           **params: object) -> httpx.Response:
    return client.post("/api/v1/uploads", params=params, content=body, headers=headers or {})


def vault_files(vault: Path) -> list[str]:
    """Every file in the vault except the embedded store's empty skeleton."""
    return sorted(str(p.relative_to(vault)) for p in vault.rglob("*") if p.is_file())


def rows(svc: BackendService) -> dict[str, int]:
    with svc.sessions() as session:
        return count_rows(session)



__all__ = ["CSV", "UPLOAD_LIMIT", "client", "coop", "live", "open_service", "rows", "upload", "user", "vault",
           "vault_files"]
