"""Credit balances (ERC-1155) per holder and series."""

from __future__ import annotations

from fastapi import APIRouter, Request

from backend.api.pagination import Page
from backend.api.resources._common import (
    BAD_CURSOR,
    AddressQuery,
    Cursor,
    IdQuery,
    JsonBody,
    Limit,
    Resource,
    address,
    page,
)
from backend.db.resources import BalanceRow

router = APIRouter(prefix="/balances", tags=["balances"])


class Balance(Resource):
    holder: str
    series_id: int
    amount: str  # credits (GPU-seconds)


@router.get("", response_model=Page[Balance], summary="List non-zero credit balances", responses=BAD_CURSOR)
async def list_balances(request: Request, holder: AddressQuery = None, series: IdQuery = None,
                  limit: Limit = None, cursor: Cursor = None) -> JsonBody:
    filters = []
    if holder is not None:
        filters.append(BalanceRow.holder == address(holder))
    if series is not None:
        filters.append(BalanceRow.series_id == series)
    return await page(request, BalanceRow, Balance, filters, limit, cursor)
