"""Providers: registration, metadata, stake, locked collateral, unbonding, slashing (ProviderRegistry)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.db.models import ChainEvent
from backend.db.resources import ProviderRow
from backend.indexer.projections._common import handlers, num, one_or_add, plus


def _provider(session: Session, event: ChainEvent) -> ProviderRow:
    # Every stake event follows a registration; be lenient with history anyway.
    return one_or_add(
        session,
        ProviderRow,
        {"address": event.args["provider"]},
        metadata_cid="",
        stake="0",
        locked="0",
        unbonding="0",
        unbonding_end=0,
        slashed="0",
        registered_block=event.block_number,
    )


def registered(session: Session, event: ChainEvent) -> None:
    _provider(session, event).metadata_cid = event.args["metadataCid"]


def staked(session: Session, event: ChainEvent) -> None:
    _provider(session, event).stake = str(num(event.args["stake"]))


def unstake_requested(session: Session, event: ChainEvent) -> None:
    row = _provider(session, event)
    row.stake = plus(row.stake, -num(event.args["amount"]))
    row.unbonding = str(num(event.args["unbonding"]))
    row.unbonding_end = num(event.args["unbondingEnd"])


def withdrawn(session: Session, event: ChainEvent) -> None:
    row = _provider(session, event)
    row.unbonding, row.unbonding_end = "0", 0


def collateral_moved(session: Session, event: ChainEvent) -> None:
    _provider(session, event).locked = str(num(event.args["locked"]))


def slashed(session: Session, event: ChainEvent) -> None:
    row = _provider(session, event)
    amount = num(event.args["amount"])
    row.stake, row.locked = plus(row.stake, -amount), plus(row.locked, -amount)
    row.slashed = plus(row.slashed, amount)


HANDLERS = handlers(
    "ProviderRegistry",
    ProviderRegistered=registered,
    ProviderMetadataUpdated=registered,
    Staked=staked,
    UnstakeRequested=unstake_requested,
    Withdrawn=withdrawn,
    CollateralLocked=collateral_moved,
    CollateralUnlocked=collateral_moved,
    ProviderSlashed=slashed,
)
