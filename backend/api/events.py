"""Raw protocol events, as the indexer stored them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from backend.api.deps import DbSession
from backend.api.pagination import Page, keyset, page_of
from backend.api.problems import Problem
from backend.db.models import ChainEvent

router = APIRouter(prefix="/events", tags=["events"])

Hash = Annotated[str, Query(pattern=r"^0x[0-9a-fA-F]{64}$")]
#: Block numbers fit a signed 64-bit column (PostgreSQL BIGINT); larger values are refused, not 500s.
BlockNumber = Annotated[int, Query(ge=0, le=2**63 - 1)]
Name = Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9]*$")]


class EventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    contract: str
    address: str
    name: str
    args: dict[str, Any]


@router.get("", response_model=Page[EventPublic], summary="List events, oldest first")
def list_events(
    request: Request,
    session: DbSession,
    contract: Name | None = None,
    name: Name | None = None,
    tx_hash: Hash | None = None,
    from_block: BlockNumber | None = None,
    to_block: BlockNumber | None = None,
    limit: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[EventPublic]:
    q, size = keyset(select(ChainEvent), ChainEvent.id, request.app.state.settings, limit, cursor)
    if contract:
        q = q.where(ChainEvent.contract == contract)
    if name:
        q = q.where(ChainEvent.name == name)
    if tx_hash:
        q = q.where(ChainEvent.tx_hash == tx_hash.lower())
    if from_block is not None:
        q = q.where(ChainEvent.block_number >= from_block)
    if to_block is not None:
        q = q.where(ChainEvent.block_number <= to_block)
    rows, next_cursor = page_of(list(session.scalars(q)), size, lambda r: r.id)
    return Page[EventPublic](items=[EventPublic.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/{event_id}", response_model=EventPublic, summary="One event",
            responses={404: {"description": "no such event"}})
def get_event(event_id: Annotated[int, Path(ge=1, le=2**63 - 1)], session: DbSession) -> EventPublic:
    row = session.get(ChainEvent, event_id)
    if row is None:
        raise Problem(404, "not-found", f"no event {event_id}")
    return EventPublic.model_validate(row)
