"""Usage: metering entries the oracle accepted (per job and GPU) and how Jobs applied them.

An oracle batch emits ``UsageAccepted`` per entry; when it finalizes (in the same transaction
when there is no challenge period) ``BatchFinalized`` is followed by Jobs' ``UsageApplied`` for
each entry that applied and the oracle's ``UsageSkipped`` for each that Jobs refused. A
``UsageApplied`` outside a finalizing oracle transaction is usage a metering account applied
directly; it gets a row of its own (no GPU, no batch).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.db.models import ChainEvent
from backend.db.resources import UsageRow
from backend.indexer.projections._common import handlers, num, one


def accepted(session: Session, event: ChainEvent) -> None:
    a = event.args
    session.add(
        UsageRow(
            job_id=num(a["jobId"]),
            gpu_id=a["gpuId"],
            batch_id=num(a["batchId"]),
            entry_index=num(a["index"]),
            allocated_gpu_ms=str(num(a["allocatedGpuMs"])),
            gpu_seconds=str(num(a["gpuSeconds"])),
            status="pending",
            block_number=event.block_number,
            tx_hash=event.tx_hash,
        )
    )


def _finalizing_batch(session: Session, event: ChainEvent) -> int | None:
    """The oracle batch whose finalization emitted ``event`` (same transaction, earlier log)."""
    found = session.scalars(
        select(ChainEvent)
        .where(
            ChainEvent.tx_hash == event.tx_hash,
            ChainEvent.name == "BatchFinalized",
            ChainEvent.contract == "MeteringOracle",
            ChainEvent.block_number == event.block_number,
            ChainEvent.log_index < event.log_index,
        )
        .order_by(ChainEvent.log_index.desc())
        .limit(1)
    ).first()
    return num(found.args["batchId"]) if found is not None else None


def applied(session: Session, event: ChainEvent) -> None:
    a = event.args
    job_id, series_id = num(a["jobId"]), num(a["seriesId"])
    batch_id = _finalizing_batch(session, event)
    row = None
    if batch_id is not None:
        row = session.scalars(
            select(UsageRow)
            .where(UsageRow.batch_id == batch_id, UsageRow.job_id == job_id, UsageRow.status == "pending")
            .order_by(UsageRow.entry_index)
            .limit(1)
        ).first()
    if row is None:
        row = UsageRow(
            job_id=job_id,
            gpu_seconds=str(num(a["applied"]) + num(a["unbilled"])),
            block_number=event.block_number,
            tx_hash=event.tx_hash,
        )
        session.add(row)
    row.series_id, row.applied_seconds, row.status = series_id, str(num(a["applied"])), "applied"


def _mark(session: Session, event: ChainEvent, status: str) -> None:
    row = one(session, UsageRow, batch_id=num(event.args["batchId"]), entry_index=num(event.args["index"]))
    if row is not None:
        row.status = status


def skipped(session: Session, event: ChainEvent) -> None:
    _mark(session, event, "skipped")


def challenge_resolved(session: Session, event: ChainEvent) -> None:
    if event.args["upheld"]:
        _mark(session, event, "voided")


HANDLERS = {
    **handlers(
        "MeteringOracle", UsageAccepted=accepted, UsageSkipped=skipped, ChallengeResolved=challenge_resolved
    ),
    **handlers("Jobs", UsageApplied=applied),
}
