"""Usage: metering entries per job and GPU, and how they applied."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request

from backend.api.pagination import Page
from backend.api.resources._common import (
    BAD_CURSOR,
    MAX_ID,
    NOT_FOUND,
    Cursor,
    IdQuery,
    JsonBody,
    Limit,
    Resource,
    one_or_404,
    page,
)
from backend.db.resources import UsageRow

router = APIRouter(prefix="/usage", tags=["usage"])


class Usage(Resource):
    id: int
    job_id: int
    series_id: int | None
    gpu_id: str | None  # None: applied directly by a metering account, not from an oracle report
    batch_id: int | None
    entry_index: int | None
    allocated_gpu_ms: str | None
    gpu_seconds: str
    applied_seconds: str | None
    status: str  # pending | applied | skipped | voided
    block_number: int
    tx_hash: str


@router.get("", response_model=Page[Usage], summary="List usage entries, oldest first", responses=BAD_CURSOR)
async def list_usage(
    request: Request,
    job: IdQuery = None,
    batch: IdQuery = None,
    gpu: Annotated[str | None, Query(pattern=r"^0x[0-9a-fA-F]{64}$")] = None,
    status: Literal["pending", "applied", "skipped", "voided"] | None = None,
    limit: Limit = None,
    cursor: Cursor = None,
) -> JsonBody:
    filters = []
    if job is not None:
        filters.append(UsageRow.job_id == job)
    if batch is not None:
        filters.append(UsageRow.batch_id == batch)
    if gpu is not None:
        filters.append(UsageRow.gpu_id == gpu.lower())
    if status is not None:
        filters.append(UsageRow.status == status)
    return await page(request, UsageRow, Usage, filters, limit, cursor)


@router.get("/{usage_id}", response_model=Usage, summary="One usage entry", responses=NOT_FOUND)
async def get_usage(usage_id: Annotated[int, Path(ge=1, le=MAX_ID)], request: Request) -> Usage:
    return await one_or_404(request, UsageRow, Usage, "usage entry", id=usage_id)
