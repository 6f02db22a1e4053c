"""Datasets: owner, manifest, K, Merkle root, appraisal hash, deal lock (DatasetRegistry)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.db.models import ChainEvent
from backend.db.resources import DatasetRow
from backend.indexer.projections._common import handlers, num, one


def registered(session: Session, event: ChainEvent) -> None:
    a = event.args
    session.add(
        DatasetRow(
            dataset_id=num(a["datasetId"]),
            owner=a["owner"],
            manifest_cid=a["manifestCid"],
            step_count=num(a["stepCount"]),
            merkle_root=a["merkleRoot"],
            appraisal_hash=a["appraisalHash"],
            registered_block=event.block_number,
        )
    )


def _dataset(session: Session, event: ChainEvent) -> DatasetRow | None:
    return one(session, DatasetRow, dataset_id=num(event.args["datasetId"]))


def commitments_replaced(session: Session, event: ChainEvent) -> None:
    if row := _dataset(session, event):
        row.step_count, row.merkle_root = num(event.args["stepCount"]), event.args["merkleRoot"]


def metadata_updated(session: Session, event: ChainEvent) -> None:
    if row := _dataset(session, event):
        row.manifest_cid, row.appraisal_hash = event.args["manifestCid"], event.args["appraisalHash"]


def ownership_transferred(session: Session, event: ChainEvent) -> None:
    if row := _dataset(session, event):
        row.owner = event.args["newOwner"]


def locked(session: Session, event: ChainEvent) -> None:
    if row := _dataset(session, event):
        row.locked_by = event.args["by"]


HANDLERS = handlers(
    "DatasetRegistry",
    DatasetRegistered=registered,
    DatasetCommitmentsReplaced=commitments_replaced,
    DatasetMetadataUpdated=metadata_updated,
    DatasetOwnershipTransferred=ownership_transferred,
    DatasetLockedForDeal=locked,
)
