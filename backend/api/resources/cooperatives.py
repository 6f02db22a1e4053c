"""Data cooperatives and their members."""

from __future__ import annotations

from fastapi import APIRouter, Request

from backend.api.pagination import Page
from backend.api.resources._common import (
    BAD_CURSOR,
    NOT_FOUND,
    AddressPath,
    AddressQuery,
    Cursor,
    JsonBody,
    Limit,
    Resource,
    address,
    one_or_404,
    page,
)
from backend.db.resources import CooperativeRow, MemberRow

router = APIRouter(prefix="/cooperatives", tags=["cooperatives"])


class Cooperative(Resource):
    address: str
    admin: str
    name: str
    total_shares: str
    member_count: int
    created_block: int


class Member(Resource):
    cooperative: str
    member: str
    shares: str


@router.get("", response_model=Page[Cooperative], summary="List cooperatives, oldest first",
            responses=BAD_CURSOR)
async def list_cooperatives(request: Request, admin: AddressQuery = None,
                      limit: Limit = None, cursor: Cursor = None) -> JsonBody:
    filters = [CooperativeRow.admin == address(admin)] if admin is not None else []
    return await page(request, CooperativeRow, Cooperative, filters, limit, cursor)


@router.get("/{cooperative}", response_model=Cooperative, summary="One cooperative", responses=NOT_FOUND)
async def get_cooperative(cooperative: AddressPath, request: Request) -> Cooperative:
    return await one_or_404(request, CooperativeRow, Cooperative, "cooperative", address=address(cooperative))


@router.get("/{cooperative}/members", response_model=Page[Member], responses={**NOT_FOUND, **BAD_CURSOR},
            summary="A cooperative's members with shares, in joining order")
async def list_members(cooperative: AddressPath, request: Request,
                 limit: Limit = None, cursor: Cursor = None) -> JsonBody:
    coop = await get_cooperative(cooperative, request)
    return await page(request, MemberRow, Member, [MemberRow.cooperative == coop.address], limit, cursor)
