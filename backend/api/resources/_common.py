"""What the resource routers share: query and path parameter types, keyset pages, 404s."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Annotated, Any, TypeVar

from anyio import to_thread
from fastapi import Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, Connection, Engine, Select, select

from backend.api.pagination import Page, keyset, page_of
from backend.api.problems import Problem
from gpubarter.chain.addresses import checksum

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

_ADDRESS = r"^0x[0-9a-fA-F]{40}$"
#: On-chain ids are stored in signed 64-bit columns; larger values are refused (422), never a 500.
MAX_ID = 2**63 - 1

AddressQuery = Annotated[str | None, Query(pattern=_ADDRESS, description="an address (any letter case)")]
AddressPath = Annotated[str, Path(pattern=_ADDRESS, description="an address (any letter case)")]
IdQuery = Annotated[int | None, Query(ge=0, le=MAX_ID)]
Limit = Annotated[int | None, Query(ge=1, le=10_000, description="page size (capped by the server)")]
Cursor = Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")]


async def in_connection(request: Request, work: Callable[[Connection], T]) -> T:
    """Run ``work`` with a database connection in one worker thread: the event loop never blocks on the
    database, and a request costs one thread hop (a session dependency costs three). A Core connection,
    not an ORM session: these endpoints only read, and a session's setup and teardown cost more than the
    query."""
    engine: Engine = request.app.state.autocommit

    def run() -> T:
        with engine.connect() as conn:
            return work(conn)

    return await to_thread.run_sync(run)


def id_path(what: str) -> Any:
    return Path(ge=0, le=MAX_ID, description=f"the on-chain {what} id")


NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "not indexed (unknown id or address)"}}
BAD_CURSOR: dict[int | str, dict[str, Any]] = {400: {"description": "the cursor is not one this API issued"}}


class Resource(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def address(value: str | None) -> str | None:
    """An address filter in the checksummed form the index stores."""
    return checksum(value) if value is not None else None


class JsonBody(Response):
    """A body pydantic already serialised (in Rust): no second validation and ``json.dumps`` pass."""

    media_type = "application/json"


@cache
def _page_of(public: type[M]) -> type[Page[M]]:
    return Page[public]


def _select(model: Any) -> Select[Any]:
    # Core rows, not ORM instances: list endpoints read, and ORM identity-map loading costs more.
    return select(model.__table__)


async def page(request: Request, model: Any, public: type[M], filters: list[ColumnElement[bool]],
               limit: int | None, cursor: str | None) -> JsonBody:
    """One page of ``model`` rows matching ``filters``, in ``id`` order (keyset: no OFFSET)."""
    return await in_connection(request, lambda c: _page(request, c, model, public, filters, limit, cursor))


async def one_or_404(request: Request, model: Any, public: type[M], what: str, **key: Any) -> M:
    """The ``model`` row with natural key ``key``, or a 404 problem."""
    return await in_connection(request, lambda conn: _one_or_404(conn, model, public, what, key))


def _page(request: Request, conn: Connection, model: Any, public: type[M], filters: list[ColumnElement[bool]],
          limit: int | None, cursor: str | None) -> JsonBody:
    q, size = keyset(_select(model).where(*filters), model.id, request.app.state.settings, limit, cursor)
    result = conn.execute(q)
    keys = tuple(result.keys())
    # One fetchall (iterating a result fetches row by row); pydantic reads dicts far faster than rows.
    rows = [dict(zip(keys, row, strict=True)) for row in result.all()]
    rows, next_cursor = page_of(rows, size, lambda r: r["id"])
    body = _page_of(public).model_validate({"items": rows, "next_cursor": next_cursor})
    return JsonBody(body.model_dump_json())


def _one_or_404(conn: Connection, model: Any, public: type[M], what: str, key: dict[str, Any]) -> M:
    q = _select(model)
    for column, value in key.items():
        q = q.where(getattr(model, column) == value)
    row = conn.execute(q.limit(1)).first()
    if row is None:
        shown = ", ".join(str(v) for v in key.values())
        raise Problem(404, "not-found", f"no {what} {shown} in the index")
    return public.model_validate(row)
