"""Credit series: terms, supply (minted/burned), delivery and freezing (ComputeCredits, Jobs)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.db.models import ChainEvent
from backend.db.resources import SeriesRow
from backend.indexer.projections._common import erc1155_transfers, handlers, num, one, plus

ZERO = "0x0000000000000000000000000000000000000000"
BACKING = {0: "stake", 1: "deal"}


def created(session: Session, event: ChainEvent) -> None:
    a = event.args
    backing = BACKING.get(num(a["backing"]), str(a["backing"]))
    session.add(
        SeriesRow(
            series_id=num(a["seriesId"]),
            provider=a["provider"],
            class_id=num(a["classId"]),
            window_start=num(a["start"]),
            window_end=num(a["end"]),
            backing=backing,
            deal_id=num(a["dealId"]) if backing == "deal" else None,
            collateral_rate=str(num(a["collateralRate"])),
            minted="0",
            burned="0",
            delivered="0",
            frozen=False,
            created_block=event.block_number,
        )
    )


def frozen(session: Session, event: ChainEvent) -> None:
    row = one(session, SeriesRow, series_id=num(event.args["seriesId"]))
    if row is not None:
        row.frozen = bool(event.args["frozen"])


def _supply(session: Session, sender: str, receiver: str, series_id: int, amount: int) -> None:
    if ZERO not in (sender, receiver) or amount == 0:
        return
    row = one(session, SeriesRow, series_id=series_id)
    if row is None:
        return
    if sender == ZERO:
        row.minted = plus(row.minted, amount)
    if receiver == ZERO:
        row.burned = plus(row.burned, amount)


def usage_applied(session: Session, event: ChainEvent) -> None:
    row = one(session, SeriesRow, series_id=num(event.args["seriesId"]))
    if row is not None:
        row.delivered = str(num(event.args["seriesDelivered"]))


HANDLERS = {
    **handlers(
        "ComputeCredits",
        SeriesCreated=created,
        SeriesFrozen=frozen,
    ),
    **erc1155_transfers("ComputeCredits", _supply),
    **handlers("Jobs", UsageApplied=usage_applied),
}
