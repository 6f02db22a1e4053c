"""ERC-1155 credit balances per holder and series (ComputeCredits TransferSingle / TransferBatch)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.db.resources import BalanceRow
from backend.indexer.projections._common import erc1155_transfers, one_or_add, plus
from backend.indexer.projections.series import ZERO


def _move(session: Session, holder: str, series_id: int, delta: int) -> None:
    if holder == ZERO or delta == 0:
        return
    row = one_or_add(session, BalanceRow, {"holder": holder, "series_id": series_id}, amount="0")
    row.amount = plus(row.amount, delta)
    if row.amount == "0":  # a holder with nothing left of a series is not listed
        session.delete(row)


def _transfer(session: Session, sender: str, receiver: str, series_id: int, value: int) -> None:
    _move(session, sender, series_id, -value)
    _move(session, receiver, series_id, value)


HANDLERS = erc1155_transfers("ComputeCredits", _transfer)
