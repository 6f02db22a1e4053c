"""Providers: registration and stake."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import computed_field

from backend.api.pagination import Page
from backend.api.resources._common import (
    BAD_CURSOR,
    NOT_FOUND,
    AddressPath,
    Cursor,
    JsonBody,
    Limit,
    Resource,
    address,
    one_or_404,
    page,
)
from backend.db.resources import ProviderRow

router = APIRouter(prefix="/providers", tags=["providers"])


ProviderStatus = Literal["staked", "unbonding", "registered"]


class Provider(Resource):
    address: str
    metadata_cid: str
    stake: str  # CPT wei staked and not being unstaked
    locked: str  # part of the stake backing credits and jobs
    unbonding: str
    unbonding_end: int
    slashed: str
    registered_block: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> ProviderStatus:
        """staked: some stake; unbonding: none, but some on its way out; registered: neither."""
        if self.stake != "0":
            return "staked"
        return "unbonding" if self.unbonding != "0" else "registered"


_STATUS = {
    "staked": ProviderRow.stake != "0",
    "unbonding": (ProviderRow.stake == "0") & (ProviderRow.unbonding != "0"),
    "registered": (ProviderRow.stake == "0") & (ProviderRow.unbonding == "0"),
}


@router.get("", response_model=Page[Provider], summary="List providers, oldest first", responses=BAD_CURSOR)
async def list_providers(request: Request, status: ProviderStatus | None = None,
                         limit: Limit = None, cursor: Cursor = None) -> JsonBody:
    filters = [_STATUS[status]] if status is not None else []
    return await page(request, ProviderRow, Provider, filters, limit, cursor)


@router.get("/{provider}", response_model=Provider, summary="One provider", responses=NOT_FOUND)
async def get_provider(provider: AddressPath, request: Request) -> Provider:
    return await one_or_404(request, ProviderRow, Provider, "provider", address=address(provider))
