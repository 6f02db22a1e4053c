"""``/appraisals``: run the valuation engine on an uploaded dataset or on a file sent with
the request, and keep each report under its appraisal hash (what the DatasetRegistry
records) so ``GET /appraisals/{hash}`` gives back exactly those bytes' content.

- ``POST /appraisals`` (JSON): a dataset uploaded through ``POST /uploads``, by manifest
  CID. The server restores its plaintext with the owner's keys (so only the owner, or an
  admin of the owning cooperative, may ask), appraises it and deletes the plaintext.
- ``POST /appraisals/file``: the dataset is the request body (streamed to disk), the
  inputs a JSON query parameter (at most 1,000 characters).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from backend.api.auth import CurrentUser
from backend.api.problems import Problem
from backend.api.uploads import NAME, vault_problem
from backend.api.vault_access import acting_owner, spooled_body, vault_of
from backend.db.appraisals import find_appraisal, find_upload, store_appraisal
from backend.valuation import appraisal_hash as report_hash
from backend.valuation import appraise, canonical_json, parse_inputs
from backend.valuation.errors import DatasetReadError, InputsError, ValuationError
from backend.vault.errors import VaultError
from backend.vault.manifest import load_manifest
from backend.vault.restore import restore_dataset

router = APIRouter(prefix="/appraisals", tags=["appraisals"])

HASH = r"^0x[0-9a-f]{64}$"
FileFormat = Literal["csv", "tsv", "jsonl", "parquet"]
#: Inputs travel in the query string, which with the rest of the request head must stay
#: under the HTTP server's 16 KiB head limit even when every character is percent-encoded
#: UTF-8 (12 bytes); larger inputs: upload the data and appraise it by CID (JSON body).
MAX_INPUTS_CHARS = 1000


class AppraisalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    manifest_cid: str = Field(min_length=10, max_length=128, description="From POST /uploads.")
    gpu_class: str = Field(max_length=64, description="The GPU class to value in.")
    inputs: dict[str, Any] | None = Field(
        None, description="The valuation inputs (pricing, cost, market, income, "
                          "with_and_without, task_specific, dimensional, model_weights, as_of).")


class AppraisalPublic(BaseModel):
    appraisal_hash: str
    manifest_cid: str | None
    report: dict[str, Any]


def _appraise(path: Path, gpu_class: str, raw_inputs: Any, fmt: str | None) -> dict[str, Any]:
    try:
        inputs = parse_inputs(raw_inputs or {}, where="inputs")
        return appraise(path, gpu_class, inputs, fmt=fmt)
    except InputsError as exc:
        raise Problem(422, "invalid-inputs", str(exc)) from None
    except DatasetReadError as exc:
        raise Problem(422, "bad-dataset", str(exc)) from None
    except ValuationError as exc:
        raise Problem(422, "valuation-failed", str(exc)) from None


def _keep(request: Request, report: dict[str, Any], *, manifest_cid: str | None, gpu_class: str,
          user: str) -> AppraisalPublic:
    digest = report_hash(report)
    canonical = canonical_json(report).decode("utf-8")
    with request.app.state.sessions() as session:
        store_appraisal(session, appraisal_hash=digest, report=json.loads(canonical),
                        canonical=canonical, manifest_cid=manifest_cid, gpu_class=gpu_class,
                        requested_by=user, now=int(time.time()))
    return AppraisalPublic(appraisal_hash=digest, manifest_cid=manifest_cid, report=json.loads(canonical))


def _appraise_upload(request: Request, body: AppraisalCreate, user: str) -> AppraisalPublic:
    with request.app.state.sessions() as session:
        upload = find_upload(session, body.manifest_cid.strip())
    if upload is None:
        raise Problem(404, "upload-not-found", f"no dataset with manifest {body.manifest_cid} was "
                      "uploaded to this server; upload it with POST /api/v1/uploads first")
    acting_owner(request, user, upload.owner)
    vault = vault_of(request)
    vault.spool_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="appraise-", dir=vault.spool_dir) as tmp:
        try:
            manifest = load_manifest(vault.store, upload.manifest_cid)
            keys = vault.keystore(upload.owner).load(upload.manifest_cid)
            path = restore_dataset(vault.store, manifest, keys, Path(tmp), upload.name,
                                   mtime=upload.created_at)
        except VaultError as exc:
            raise vault_problem(exc) from None
        fmt = manifest.kind if manifest.kind in ("csv", "jsonl") else None
        report = _appraise(path, body.gpu_class, body.inputs, fmt)
    return _keep(request, report, manifest_cid=upload.manifest_cid, gpu_class=body.gpu_class, user=user)


@router.post("", response_model=AppraisalPublic,
             summary="Appraise a dataset uploaded through POST /uploads (by manifest CID)",
             responses={401: {"description": "not signed in"},
                        403: {"description": "neither its owner nor an admin of its cooperative"},
                        404: {"description": "no such upload"},
                        422: {"description": "invalid inputs, or data that cannot be appraised"}})
async def appraise_upload(request: Request, body: AppraisalCreate, user: CurrentUser) -> AppraisalPublic:
    return await run_in_threadpool(_appraise_upload, request, body, user)


@router.post("/file", response_model=AppraisalPublic,
             summary="Appraise the dataset sent as the request body",
             responses={401: {"description": "not signed in"}, 400: {"description": "empty body"},
                        413: {"description": "body over the upload limit"},
                        422: {"description": "invalid inputs, or data that cannot be read"}})
async def appraise_file(
    request: Request,
    user: CurrentUser,
    gpu_class: Annotated[str, Query(max_length=64, description="The GPU class to value in.")],
    fmt: Annotated[FileFormat, Query(alias="format")],
    name: Annotated[str | None, Query(pattern=NAME, max_length=200,
                                      description="The dataset's name in the report.")] = None,
    inputs: Annotated[str | None, Query(max_length=MAX_INPUTS_CHARS,
                                        description="The valuation inputs as JSON.")] = None,
) -> AppraisalPublic:
    try:
        raw = json.loads(inputs) if inputs else {}
    except json.JSONDecodeError as exc:
        raise Problem(422, "invalid-inputs", f"inputs is not valid JSON: {exc}") from None
    parse = await run_in_threadpool(_appraise_inputs_check, raw)
    vault = vault_of(request)
    name = name or f"upload.{fmt}"
    vault.spool_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="appraise-", dir=vault.spool_dir) as tmp:
        async with spooled_body(request, limit=request.app.state.settings.max_upload_bytes,
                                directory=Path(tmp)) as (spooled, _size):
            path = spooled.rename(Path(tmp) / name)
            report = await run_in_threadpool(_appraise, path, gpu_class, parse, fmt)
    return await run_in_threadpool(lambda: _keep(request, report, manifest_cid=None,
                                                 gpu_class=gpu_class, user=user))


def _appraise_inputs_check(raw: Any) -> Any:
    """Refuse bad inputs before the body is read."""
    try:
        parse_inputs(raw, where="inputs")
    except InputsError as exc:
        raise Problem(422, "invalid-inputs", str(exc)) from None
    return raw


@router.get("/{appraisal_hash}", response_model=AppraisalPublic,
            summary="A stored appraisal report, by its hash",
            responses={404: {"description": "no report with that hash"}})
def get_appraisal(request: Request,
                  appraisal_hash: Annotated[str, PathParam(pattern=HASH)]) -> AppraisalPublic:
    with request.app.state.sessions() as session:
        row = find_appraisal(session, appraisal_hash)
    if row is None:
        raise Problem(404, "appraisal-not-found", f"no appraisal report with hash {appraisal_hash} "
                      "is stored here")
    return AppraisalPublic(appraisal_hash=row.appraisal_hash, manifest_cid=row.manifest_cid,
                           report=json.loads(row.canonical))
