"""``POST /uploads``: stream a dataset into the vault, sealed into K encrypted shards.

The body is the dataset's bytes, streamed to a spool file (never held whole in
memory), sealed with the server's store (the embedded store, or the IPFS node when
``GPUBARTER_IPFS_API`` is set) and removed. The shard keys go to the owner's key
store on the server and nowhere else; the response carries only their keccak256
commitments, with what the DatasetRegistry needs (manifest CID, Merkle root).

The signed-in address acts for itself, or (``?owner=0x...``) for a cooperative of this
deployment on which it holds ``DEFAULT_ADMIN_ROLE`` (read from the chain).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from backend.api.auth import CurrentUser
from backend.api.problems import Problem
from backend.api.vault_access import ADDRESS, ServerVault, acting_owner, spooled_body, vault_of
from backend.db.appraisals import record_upload
from backend.vault.errors import (
    DatasetInputError,
    KeyStoreError,
    KTooLarge,
    StoreUnavailable,
    VaultError,
)
from backend.vault.seal import SealResult, seal_dataset
from backend.vault.sharding import kind_of_name

router = APIRouter(prefix="/uploads", tags=["uploads"])

UploadFormat = Literal["csv", "jsonl", "parquet", "bytes"]
#: A file name: no path separators or control characters, not "." or "..".
NAME = r"^[^/\\\x00-\x1f]*[^./\\\x00-\x1f][^/\\\x00-\x1f]*$"
MAX_K = 256  # DatasetRegistry.MAX_STEPS


class ShardPublic(BaseModel):
    index: int
    cid: str
    plaintext_bytes: int
    ciphertext_bytes: int
    rows: int | None


class UploadPublic(BaseModel):
    manifest_cid: str
    owner: str
    uploaded_by: str
    name: str
    kind: str
    k: int
    key_commitments: list[str]
    merkle_root: str
    source_bytes: int
    sealed_bytes: int
    shards: list[ShardPublic]


def vault_problem(exc: VaultError) -> Problem:
    """A vault error as a problem document (messages never carry a key)."""
    if isinstance(exc, KTooLarge):
        return Problem(422, "k-too-large", str(exc))
    if isinstance(exc, DatasetInputError):
        return Problem(422, "bad-dataset", str(exc))
    if isinstance(exc, StoreUnavailable):
        return Problem(503, "store-unavailable", str(exc))
    if isinstance(exc, KeyStoreError):
        return Problem(503, "keystore-unavailable", str(exc))
    return Problem(502, "vault-error", str(exc))


def _seal(vault: ServerVault, path: Path, k: int, kind: str, name: str, owner: str) -> SealResult:
    try:
        return seal_dataset(path, k, vault.store, vault.keystore(owner), kind=kind, name=name,
                            spool_dir=vault.spool_dir)
    except VaultError as exc:
        raise vault_problem(exc) from None


@router.post("", status_code=201, response_model=UploadPublic,
             summary="Seal an uploaded dataset into K encrypted shards (keys stay on the server)",
             responses={400: {"description": "empty body"}, 401: {"description": "not signed in"},
                        403: {"description": "not an admin of that cooperative"},
                        413: {"description": "body over the upload limit"},
                        422: {"description": "bad format, K larger than the data"},
                        503: {"description": "the IPFS node is down"}})
async def upload(
    request: Request,
    user: CurrentUser,
    k: Annotated[int, Query(ge=1, le=MAX_K, description="Shards = release steps.")],
    fmt: Annotated[UploadFormat | None, Query(alias="format", description=(
        "csv and jsonl split on rows, parquet on row groups, bytes on byte ranges; default "
        "from the name's extension, else bytes."))] = None,
    name: Annotated[str | None, Query(pattern=NAME, max_length=200,
                                      description="The dataset's name.")] = None,
    owner: Annotated[str | None, Query(pattern=ADDRESS, description=(
        "Act for this cooperative (you must hold its DEFAULT_ADMIN_ROLE); default: yourself."))
    ] = None,
) -> UploadPublic:
    owner_address = await run_in_threadpool(acting_owner, request, user, owner)
    kind = fmt or (kind_of_name(name) if name else "bytes")
    name = name or f"upload.{kind}"
    vault = vault_of(request)
    async with spooled_body(request, limit=request.app.state.settings.max_upload_bytes,
                            directory=vault.spool_dir) as (path, _size):
        result = await run_in_threadpool(_seal, vault, path, k, kind, name, owner_address)
    m = result.manifest

    def record() -> None:
        with request.app.state.sessions() as session:
            record_upload(session, manifest_cid=result.manifest_cid, owner=owner_address,
                          uploaded_by=user, name=name, kind=m.kind, k=m.k,
                          source_bytes=m.source_bytes, now=int(time.time()))

    await run_in_threadpool(record)
    return UploadPublic(
        manifest_cid=result.manifest_cid, owner=owner_address, uploaded_by=user, name=name,
        kind=m.kind, k=m.k, key_commitments=result.commitments, merkle_root=m.merkle_root,
        source_bytes=m.source_bytes, sealed_bytes=sum(s.ciphertext_bytes for s in m.shards),
        shards=[ShardPublic(index=s.index, cid=s.cid, plaintext_bytes=s.plaintext_bytes,
                            ciphertext_bytes=s.ciphertext_bytes, rows=s.rows) for s in m.shards])
