"""Registered datasets (read-only here: uploads and appraisals have their own routes)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request

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
from backend.db.resources import DatasetRow

router = APIRouter(prefix="/datasets", tags=["datasets"])


class Dataset(Resource):
    dataset_id: int
    owner: str
    manifest_cid: str
    step_count: int  # K: keys released one step at a time
    merkle_root: str
    appraisal_hash: str
    locked_by: str | None  # the escrow, once a deal locked it
    registered_block: int


@router.get("", response_model=Page[Dataset], summary="List datasets, oldest first", responses=BAD_CURSOR)
async def list_datasets(request: Request, owner: AddressQuery = None,
                  limit: Limit = None, cursor: Cursor = None) -> JsonBody:
    filters = [DatasetRow.owner == address(owner)] if owner is not None else []
    return await page(request, DatasetRow, Dataset, filters, limit, cursor)


@router.get("/{dataset_id}", response_model=Dataset, summary="One dataset", responses=NOT_FOUND)
async def get_dataset(dataset_id: Annotated[int, id_path("dataset")], request: Request) -> Dataset:
    return await one_or_404(request, DatasetRow, Dataset, "dataset", dataset_id=dataset_id)
