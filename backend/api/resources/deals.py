"""Barter deals and their key-release steps."""

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
from backend.db.resources import DealRow, DealStepRow

router = APIRouter(prefix="/deals", tags=["deals"])

DealStatus = Literal["offered", "cancelled", "accepted", "cooperative-faulted", "settled"]
DealId = Annotated[int, id_path("deal")]


class Deal(Resource):
    deal_id: int
    maker: str  # the cooperative
    dataset_id: int
    class_id: int
    gpu_seconds: str
    window_start: int
    window_end: int
    steps: int
    key_timeout: int
    bond: str
    status: str
    provider: str | None
    series_id: int | None
    released: int  # keys released so far
    to_maker: str | None
    to_provider: str | None
    offered_block: int


class DealStep(Resource):
    deal_id: int
    step: int
    status: str  # pending | due | released | disputed | timed-out
    due_since: int | None
    commitment_c: str | None
    provider_won: bool | None


@router.get("", response_model=Page[Deal], summary="List deals, oldest first", responses=BAD_CURSOR)
async def list_deals(request: Request, cooperative: AddressQuery = None,
               provider: AddressQuery = None, status: DealStatus | None = None, dataset: IdQuery = None,
               limit: Limit = None, cursor: Cursor = None) -> JsonBody:
    filters = []
    if cooperative is not None:
        filters.append(DealRow.maker == address(cooperative))
    if provider is not None:
        filters.append(DealRow.provider == address(provider))
    if status is not None:
        filters.append(DealRow.status == status)
    if dataset is not None:
        filters.append(DealRow.dataset_id == dataset)
    return await page(request, DealRow, Deal, filters, limit, cursor)


@router.get("/{deal_id}", response_model=Deal, summary="One deal", responses=NOT_FOUND)
async def get_deal(deal_id: DealId, request: Request) -> Deal:
    return await one_or_404(request, DealRow, Deal, "deal", deal_id=deal_id)


@router.get("/{deal_id}/steps", response_model=Page[DealStep], responses={**NOT_FOUND, **BAD_CURSOR},
            summary="A deal's key-release steps (listed once the deal is accepted)")
async def list_steps(deal_id: DealId, request: Request, limit: Limit = None,
               cursor: Cursor = None) -> JsonBody:
    await get_deal(deal_id, request)
    return await page(request, DealStepRow, DealStep, [DealStepRow.deal_id == deal_id], limit, cursor)
