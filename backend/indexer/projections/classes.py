"""GPU classes as governance sets them (GpuClasses)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.db.models import ChainEvent
from backend.db.resources import GpuClassRow
from backend.indexer.projections._common import handlers, num, one


def class_set(session: Session, event: ChainEvent) -> None:
    a = event.args
    class_id = num(a["classId"])
    row = one(session, GpuClassRow, class_id=class_id)
    if row is None:
        row = GpuClassRow(class_id=class_id)
        session.add(row)
    row.name, row.collateral_rate = a["name"], str(num(a["collateralRate"]))
    row.ack_timeout, row.penalty_bps, row.active = (
        num(a["ackTimeout"]),
        num(a["penaltyBps"]),
        bool(a["active"]),
    )


HANDLERS = handlers("GpuClasses", GpuClassSet=class_set)
