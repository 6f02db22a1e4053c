"""GPU classes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from backend.api.pagination import Page
from backend.api.resources._common import (
    BAD_CURSOR,
    NOT_FOUND,
    Cursor,
    JsonBody,
    Limit,
    Resource,
    one_or_404,
    page,
)
from backend.db.resources import GpuClassRow

router = APIRouter(prefix="/classes", tags=["classes"])


class GpuClass(Resource):
    class_id: int
    name: str
    collateral_rate: str  # CPT wei per GPU-second of outstanding credits
    ack_timeout: int
    penalty_bps: int
    active: bool


@router.get("", response_model=Page[GpuClass], summary="List GPU classes", responses=BAD_CURSOR)
async def list_classes(request: Request, active: bool | None = None,
                 limit: Limit = None, cursor: Cursor = None) -> JsonBody:
    filters = [GpuClassRow.active == active] if active is not None else []
    return await page(request, GpuClassRow, GpuClass, filters, limit, cursor)


@router.get("/{class_id}", response_model=GpuClass, summary="One GPU class", responses=NOT_FOUND)
async def get_class(class_id: Annotated[int, Path(ge=0, le=65_535)], request: Request) -> GpuClass:
    return await one_or_404(request, GpuClassRow, GpuClass, "GPU class", class_id=class_id)
