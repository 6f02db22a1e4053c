"""Projections of the event log into resource tables, one module per area.

:class:`ResourceProjector` is the indexer's :class:`~backend.indexer.follower.Projector`: the
follower calls :meth:`apply` for every new event inside the transaction that stores it, and
:meth:`reset` + :meth:`apply` over all stored events after a reorg.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from backend.db.models import ChainEvent
from backend.db.resources import RESOURCE_TABLES
from backend.indexer.projections import (
    balances,
    classes,
    cooperatives,
    datasets,
    deals,
    jobs,
    providers,
    series,
    usage,
)
from backend.indexer.projections._common import Handler, Handlers

AREAS = (providers, classes, series, balances, jobs, usage, datasets, cooperatives, deals)


def _merge(*tables: Handlers) -> dict[tuple[str, str], tuple[Handler, ...]]:
    out: dict[tuple[str, str], list[Handler]] = {}
    for table in tables:
        for key, handler in table.items():
            out.setdefault(key, []).append(handler)
    return {key: tuple(handlers) for key, handlers in out.items()}


class ResourceProjector:
    """Every area's handlers, dispatched on (contract, event name)."""

    #: Bump when a handler changes what it writes: the follower then rebuilds the tables from ``events``.
    version = 1

    def __init__(self) -> None:
        self.handlers = _merge(*(area.HANDLERS for area in AREAS))

    def reset(self, session: Session) -> None:
        for table in RESOURCE_TABLES:
            session.execute(delete(table))

    def apply(self, session: Session, event: ChainEvent) -> None:
        for handler in self.handlers.get((event.contract, event.name), ()):
            handler(session, event)


__all__ = ["ResourceProjector"]
