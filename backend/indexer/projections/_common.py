"""Helpers the projection modules share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models import ChainEvent

Handler = Callable[[Session, ChainEvent], None]
Handlers = dict[tuple[str, str], Handler]
T = TypeVar("T")


def num(value: Any) -> int:
    """An event's integer argument (the decoder gives values beyond 2^53 as strings)."""
    return int(value)


def plus(total: str, delta: int) -> str:
    """A decimal-string amount moved by ``delta``."""
    return str(int(total) + delta)


def one(session: Session, model: type[T], **key: Any) -> T | None:
    """The row of ``model`` with natural key ``key`` (rows added earlier in this transaction included)."""
    q = select(model)
    for column, value in key.items():
        q = q.where(getattr(model, column) == value)
    return session.scalars(q.limit(1)).first()


def one_or_add(session: Session, model: type[T], key: dict[str, Any], **initial: Any) -> T:
    """The row of ``model`` with natural key ``key``; when there is none yet, a new one with ``key`` and
    ``initial``, added to the session."""
    row = one(session, model, **key)
    if row is None:
        row = model(**key, **initial)
        session.add(row)
    return row


def handlers(contract: str, **by_event: Handler) -> Handlers:
    return {(contract, name): fn for name, fn in by_event.items()}


Transfer = Callable[[Session, str, str, int, int], None]


def erc1155_transfers(contract: str, apply: Transfer) -> Handlers:
    """Handlers of ``contract``'s ``TransferSingle`` and ``TransferBatch`` that call
    ``apply(session, from, to, id, value)`` once per id moved."""

    def single(session: Session, event: ChainEvent) -> None:
        a = event.args
        apply(session, a["from"], a["to"], num(a["id"]), num(a["value"]))

    def batch(session: Session, event: ChainEvent) -> None:
        a = event.args
        for token_id, value in zip(a["ids"], a["values"], strict=True):
            apply(session, a["from"], a["to"], num(token_id), num(value))

    return handlers(contract, TransferSingle=single, TransferBatch=batch)
