"""Barter deals and their key-release steps (BarterEscrow)."""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.orm import Session

from backend.db.models import ChainEvent
from backend.db.resources import DealRow, DealStepRow
from backend.indexer.projections._common import handlers, num, one


def offered(session: Session, event: ChainEvent) -> None:
    a, t = event.args, event.args["terms"]
    # the terms tuple: (datasetId, classId, gpuSeconds, start, end, steps, keyTimeout, bond)
    session.add(
        DealRow(
            deal_id=num(a["dealId"]),
            maker=a["maker"],
            dataset_id=num(t[0]),
            class_id=num(t[1]),
            gpu_seconds=str(num(t[2])),
            window_start=num(t[3]),
            window_end=num(t[4]),
            steps=num(t[5]),
            key_timeout=num(t[6]),
            bond=str(num(t[7])),
            status="offered",
            released=0,
            offered_block=event.block_number,
        )
    )


def _deal(session: Session, event: ChainEvent) -> DealRow | None:
    return one(session, DealRow, deal_id=num(event.args["dealId"]))


def cancelled(session: Session, event: ChainEvent) -> None:
    if deal := _deal(session, event):
        deal.status = "cancelled"


def accepted(session: Session, event: ChainEvent) -> None:
    if deal := _deal(session, event):
        deal.status, deal.provider, deal.series_id = (
            "accepted",
            event.args["provider"],
            num(event.args["seriesId"]),
        )
        session.flush()
        session.execute(
            insert(DealStepRow),
            [{"deal_id": deal.deal_id, "step": k, "status": "pending"} for k in range(1, deal.steps + 1)],
        )


def _step(session: Session, event: ChainEvent) -> DealStepRow | None:
    return one(session, DealStepRow, deal_id=num(event.args["dealId"]), step=num(event.args["step"]))


def marked_due(session: Session, event: ChainEvent) -> None:
    if step := _step(session, event):
        step.status, step.due_since = "due", num(event.args["dueSince"])


def key_released(session: Session, event: ChainEvent) -> None:
    if step := _step(session, event):
        step.status, step.commitment_c = "released", event.args["c"]
    if deal := _deal(session, event):
        deal.released = max(deal.released, num(event.args["step"]))


def dispute_resolved(session: Session, event: ChainEvent) -> None:
    if step := _step(session, event):
        step.status, step.provider_won = "disputed", bool(event.args["providerWon"])
    if event.args["providerWon"] and (deal := _deal(session, event)):
        deal.status = "cooperative-faulted"


def key_timeout(session: Session, event: ChainEvent) -> None:
    if step := _step(session, event):
        step.status = "timed-out"
    if deal := _deal(session, event):
        deal.status = "cooperative-faulted"


def settled(session: Session, event: ChainEvent) -> None:
    if deal := _deal(session, event):
        deal.status = "settled"
        deal.to_maker, deal.to_provider = str(num(event.args["toMaker"])), str(num(event.args["toProvider"]))


HANDLERS = handlers(
    "BarterEscrow",
    DealOffered=offered,
    DealCancelled=cancelled,
    DealAccepted=accepted,
    StepMarkedDue=marked_due,
    KeyReleased=key_released,
    DisputeResolved=dispute_resolved,
    KeyTimeoutClaimed=key_timeout,
    DealSettled=settled,
)
