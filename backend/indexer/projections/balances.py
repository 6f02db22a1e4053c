"""ERC-1155 credit balances per holder and series (ComputeCredits TransferSingle / TransferBatch)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.db.models import ChainEvent
from backend.db.resources import BalanceRow
from backend.indexer.projections._common import handlers, num, one, plus
from backend.indexer.projections.series import ZERO


def _move(session: Session, holder: str, series_id: int, delta: int) -> None:
    if holder == ZERO or delta == 0:
        return
    row = one(session, BalanceRow, holder=holder, series_id=series_id)
    if row is None:
        row = BalanceRow(holder=holder, series_id=series_id, amount="0")
        session.add(row)
    row.amount = plus(row.amount, delta)
    if row.amount == "0":  # a holder with nothing left of a series is not listed
        session.delete(row)


def _transfer(session: Session, sender: str, receiver: str, series_id: int, value: int) -> None:
    _move(session, sender, series_id, -value)
    _move(session, receiver, series_id, value)


def transfer_single(session: Session, event: ChainEvent) -> None:
    a = event.args
    _transfer(session, a["from"], a["to"], num(a["id"]), num(a["value"]))


def transfer_batch(session: Session, event: ChainEvent) -> None:
    a = event.args
    for series_id, value in zip(a["ids"], a["values"], strict=True):
        _transfer(session, a["from"], a["to"], num(series_id), num(value))


HANDLERS = handlers("ComputeCredits", TransferSingle=transfer_single, TransferBatch=transfer_batch)
