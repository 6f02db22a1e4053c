"""Tables of what users asked the backend to do for them: sealed uploads and appraisal reports.

Unlike the index tables these are not projections of chain events: they are the only
record of an upload's owner (whose key store holds its keys) and of each stored report.
Reports are content-addressed: the primary key is the report's appraisal hash.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from backend.db.models import ADDRESS, HASH, Base


class Upload(Base):
    """A dataset sealed from an upload; its keys are in the owner's key store."""

    __tablename__ = "uploads"

    manifest_cid: Mapped[str] = mapped_column(String(128), primary_key=True)
    owner: Mapped[str] = mapped_column(ADDRESS, index=True)  # the user, or a cooperative
    uploaded_by: Mapped[str] = mapped_column(ADDRESS)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    k: Mapped[int] = mapped_column(Integer)
    source_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)


class Appraisal(Base):
    """An appraisal report, stored as its canonical JSON under its keccak256."""

    __tablename__ = "appraisals"

    appraisal_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    canonical: Mapped[str] = mapped_column(Text)
    manifest_cid: Mapped[str | None] = mapped_column(String(128), index=True)
    gpu_class: Mapped[str] = mapped_column(String(64))
    requested_by: Mapped[str] = mapped_column(ADDRESS)
    created_at: Mapped[int] = mapped_column(BigInteger)


def record_upload(session: Session, *, manifest_cid: str, owner: str, uploaded_by: str, name: str,
                  kind: str, k: int, source_bytes: int, now: int) -> None:
    """Record an upload (sealing the same bytes again for the same owner keeps one row)."""
    row = session.get(Upload, manifest_cid)
    if row is None:
        session.add(Upload(manifest_cid=manifest_cid, owner=owner, uploaded_by=uploaded_by, name=name,
                           kind=kind, k=k, source_bytes=source_bytes, created_at=now))
    session.commit()


def find_upload(session: Session, manifest_cid: str) -> Upload | None:
    return session.get(Upload, manifest_cid)


def store_appraisal(session: Session, *, appraisal_hash: str, report: dict[str, Any], canonical: str,
                    manifest_cid: str | None, gpu_class: str, requested_by: str, now: int) -> None:
    """Keep a report under its hash; the same report twice is one row (content-addressed)."""
    if session.get(Appraisal, appraisal_hash) is None:
        session.add(Appraisal(appraisal_hash=appraisal_hash, report=report, canonical=canonical,
                              manifest_cid=manifest_cid, gpu_class=gpu_class,
                              requested_by=requested_by, created_at=now))
    session.commit()


def find_appraisal(session: Session, appraisal_hash: str) -> Appraisal | None:
    return session.get(Appraisal, appraisal_hash)


def count_rows(session: Session) -> dict[str, int]:
    """How many uploads and appraisals are recorded (tests prove refusals add none)."""
    return {table.__tablename__: len(session.scalars(select(table.created_at)).all())
            for table in (Upload, Appraisal)}
