"""Jobs: opening, acknowledgement, usage, closing, refunds (Jobs)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from backend.db.models import ChainEvent
from backend.db.resources import JobRow
from backend.indexer.projections._common import Handler, handlers, num, one


def opened(session: Session, event: ChainEvent) -> None:
    a = event.args
    session.add(
        JobRow(
            job_id=num(a["jobId"]),
            series_id=num(a["seriesId"]),
            holder=a["holder"],
            max_seconds=str(num(a["maxSeconds"])),
            used_seconds="0",
            spec_cid=a["specCid"],
            ack_deadline=num(a["ackDeadline"]),
            deadline=num(a["deadline"]),
            status="opened",
            opened_block=event.block_number,
        )
    )


def _update(change: Callable[[JobRow, dict], None]) -> Handler:
    def handler(session: Session, event: ChainEvent) -> None:
        row = one(session, JobRow, job_id=num(event.args["jobId"]))
        if row is not None:
            change(row, event.args)

    return handler


def _acknowledged(row: JobRow, a: dict) -> None:
    row.status, row.provider = "acknowledged", a["provider"]


def _usage(row: JobRow, a: dict) -> None:
    row.used_seconds = str(num(a["used"]))
    if row.used_seconds == row.max_seconds:
        row.status = "served"


def _closing(row: JobRow, a: dict) -> None:
    row.status, row.deadline = "closing", num(a["settlesAt"])


def _closed(row: JobRow, a: dict) -> None:
    row.status, row.returned = "closed", str(num(a["returned"]))


def _refunded(row: JobRow, a: dict) -> None:
    # The unserved credits were burned and their collateral paid (``penalty``: CPT wei paid to the holder),
    # or, on a frozen series, returned with nothing paid.
    paid = num(a["paid"])
    row.status, row.returned, row.penalty = "refunded", str(0 if paid else num(a["unserved"])), str(paid)


HANDLERS = handlers(
    "Jobs",
    JobOpened=opened,
    JobAcknowledged=_update(_acknowledged),
    UsageApplied=_update(_usage),
    JobClosing=_update(_closing),
    JobClosed=_update(_closed),
    JobRefunded=_update(_refunded),
)
