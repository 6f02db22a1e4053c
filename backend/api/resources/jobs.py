"""Jobs."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Request

from backend.api.pagination import Page
from backend.api.resources._common import (
    BAD_CURSOR,
    NOT_FOUND,
    AddressQuery,
    Cursor,
    IdQuery,
    JsonBody,
    Limit,
    Resource,
    address,
    id_path,
    one_or_404,
    page,
)
from backend.db.resources import JobRow

router = APIRouter(prefix="/jobs", tags=["jobs"])

JobStatus = Literal["opened", "acknowledged", "closing", "served", "closed", "refunded"]


class Job(Resource):
    job_id: int
    series_id: int
    holder: str
    provider: str | None  # set when acknowledged
    max_seconds: str
    used_seconds: str
    spec_cid: str
    ack_deadline: int
    deadline: int
    status: str
    returned: str | None  # credits returned to the holder (closed, or refunded on a frozen series)
    penalty: str | None  # CPT wei paid to the holder on a default: the unserved credits' whole collateral
    opened_block: int


@router.get("", response_model=Page[Job], summary="List jobs, oldest first", responses=BAD_CURSOR)
async def list_jobs(request: Request, holder: AddressQuery = None, series: IdQuery = None,
              provider: AddressQuery = None, status: JobStatus | None = None,
              limit: Limit = None, cursor: Cursor = None) -> JsonBody:
    filters = []
    if holder is not None:
        filters.append(JobRow.holder == address(holder))
    if series is not None:
        filters.append(JobRow.series_id == series)
    if provider is not None:
        filters.append(JobRow.provider == address(provider))
    if status is not None:
        filters.append(JobRow.status == status)
    return await page(request, JobRow, Job, filters, limit, cursor)


@router.get("/{job_id}", response_model=Job, summary="One job", responses=NOT_FOUND)
async def get_job(job_id: Annotated[int, id_path("job")], request: Request) -> Job:
    return await one_or_404(request, JobRow, Job, "job", job_id=job_id)
