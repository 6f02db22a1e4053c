"""Credit series."""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from backend.api.pagination import Page
from backend.api.resources._common import (
    BAD_CURSOR,
    NOT_FOUND,
    AddressQuery,
    Cursor,
    JsonBody,
    Limit,
    Resource,
    address,
    id_path,
    one_or_404,
    page,
)
from backend.db.resources import SeriesRow

router = APIRouter(prefix="/series", tags=["series"])


class Series(Resource):
    series_id: int
    provider: str
    class_id: int
    window_start: int
    window_end: int
    backing: str  # "stake" | "deal"
    deal_id: int | None
    collateral_rate: str
    minted: str
    burned: str
    delivered: str
    frozen: bool
    created_block: int


@router.get("", response_model=Page[Series], summary="List credit series, oldest first", responses=BAD_CURSOR)
async def list_series(
    request: Request,
    class_id: Annotated[int | None, Query(ge=0, le=65_535)] = None,
    provider: AddressQuery = None,
    backing: Literal["stake", "deal"] | None = None,
    active: Annotated[bool | None, Query(description="not frozen, window not ended (server clock)")] = None,
    limit: Limit = None,
    cursor: Cursor = None,
) -> JsonBody:
    filters = []
    if class_id is not None:
        filters.append(SeriesRow.class_id == class_id)
    if provider is not None:
        filters.append(SeriesRow.provider == address(provider))
    if backing is not None:
        filters.append(SeriesRow.backing == backing)
    if active is not None:
        now = int(time.time())
        filters.append((SeriesRow.window_end > now) & SeriesRow.frozen.is_(False) if active
                       else (SeriesRow.window_end <= now) | SeriesRow.frozen.is_(True))
    return await page(request, SeriesRow, Series, filters, limit, cursor)


@router.get("/{series_id}", response_model=Series, summary="One credit series", responses=NOT_FOUND)
async def get_series(series_id: Annotated[int, id_path("series")], request: Request) -> Series:
    return await one_or_404(request, SeriesRow, Series, "series", series_id=series_id)
