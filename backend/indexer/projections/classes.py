"""GPU classes as governance sets them (GpuClasses)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.db.models import ChainEvent
from backend.db.resources import GpuClassRow
from backend.indexer.projections._common import handlers, num, one_or_add


def class_set(session: Session, event: ChainEvent) -> None:
    a = event.args
    row = one_or_add(session, GpuClassRow, {"class_id": num(a["classId"])})
    row.name, row.collateral_rate = a["name"], str(num(a["collateralRate"]))
    row.ack_timeout, row.penalty_bps, row.active = (
        num(a["ackTimeout"]),
        num(a["penaltyBps"]),
        bool(a["active"]),
    )


HANDLERS = handlers("GpuClasses", GpuClassSet=class_set)
