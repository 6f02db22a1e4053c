"""Cooperatives (CooperativeFactory) and their members' shares (each DataCooperative)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.db.models import ChainEvent
from backend.db.resources import CooperativeRow, MemberRow
from backend.indexer.projections._common import handlers, num, one


def created(session: Session, event: ChainEvent) -> None:
    a = event.args
    session.add(
        CooperativeRow(
            address=a["cooperative"],
            admin=a["admin"],
            name=a["name"],
            total_shares="0",
            member_count=0,
            created_block=event.block_number,
        )
    )


def shares_set(session: Session, event: ChainEvent) -> None:
    coop = one(session, CooperativeRow, address=event.address)
    if coop is None:
        return
    member, shares = event.args["member"], num(event.args["shares"])
    row = one(session, MemberRow, cooperative=event.address, member=member)
    if row is None and shares:
        session.add(MemberRow(cooperative=event.address, member=member, shares=str(shares)))
        coop.member_count += 1
    elif row is not None and shares:
        row.shares = str(shares)
    elif row is not None:  # shares set to 0: the member left
        session.delete(row)
        coop.member_count -= 1
    coop.total_shares = str(num(event.args["totalShares"]))


HANDLERS = {
    **handlers("CooperativeFactory", CooperativeCreated=created),
    **handlers("DataCooperative", SharesSet=shares_set),
}
