"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import select, text

from backend.api.deps import DbSession
from backend.api.problems import Problem
from backend.db.models import Cursor

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: str
    indexed_block: int | None
    chain_head: int | None
    lag_blocks: int | None


@router.get("/health", response_model=Health, summary="Liveness: the process answers")
async def health() -> Health:
    # async: no I/O, so no worker-thread hop for the endpoint nor for validating its answer
    return Health(status="ok")


@router.get("/ready", response_model=Readiness, summary="Readiness: database reachable, indexer near head",
            responses={503: {"description": "not ready"}})
def ready(request: Request, session: DbSession) -> Readiness:
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:
        raise Problem(503, "database-unavailable", "the index database does not answer") from exc
    indexed = session.scalar(select(Cursor.block_number).where(Cursor.name == "events"))
    head_fn = getattr(request.app.state, "chain_head", None)
    head = None
    if head_fn is not None:
        try:
            head = head_fn()
        except Exception as exc:
            raise Problem(503, "chain-unavailable", "the chain node does not answer") from exc
    lag = None if head is None or indexed is None else max(head - indexed, 0)
    max_lag = request.app.state.max_ready_lag
    if indexed is None or (lag is not None and lag > max_lag):
        raise Problem(503, "indexer-behind", f"the index is not within {max_lag} blocks of the chain",
                      indexed_block=indexed, chain_head=head)
    return Readiness(status="ready", database="ok", indexed_block=indexed, chain_head=head,
                     lag_blocks=lag)
