"""Resource tables: projections of ``events`` (see ``backend/indexer/projections``), rebuilt after a reorg.

Every table has a surrogate, increasing ``id`` (the key of keyset pagination: lists are ordered by it,
and each filter column has an index ending in ``id``) next to its natural key (an address or an
on-chain id). Amounts that may exceed 64 bits (uint256, wei, credit counts) are decimal strings.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.models import ADDRESS, HASH, UINT, Base, surrogate_id

CID = String(256)


class ProviderRow(Base):
    __tablename__ = "providers"

    id: Mapped[int] = surrogate_id()
    address: Mapped[str] = mapped_column(ADDRESS, unique=True)
    metadata_cid: Mapped[str] = mapped_column(CID, default="")
    stake: Mapped[str] = mapped_column(UINT, default="0")
    locked: Mapped[str] = mapped_column(UINT, default="0")
    unbonding: Mapped[str] = mapped_column(UINT, default="0")
    unbonding_end: Mapped[int] = mapped_column(BigInteger, default=0)
    slashed: Mapped[str] = mapped_column(UINT, default="0")
    registered_block: Mapped[int] = mapped_column(BigInteger)


class GpuClassRow(Base):
    __tablename__ = "gpu_classes"

    id: Mapped[int] = surrogate_id()
    class_id: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(64))
    collateral_rate: Mapped[str] = mapped_column(UINT)
    ack_timeout: Mapped[int] = mapped_column(BigInteger)
    penalty_bps: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean)


class SeriesRow(Base):
    __tablename__ = "series"
    __table_args__ = (
        Index("ix_series_class_id", "class_id", "id"),
        Index("ix_series_provider", "provider", "id"),
        Index("ix_series_window_end", "window_end", "id"),
    )

    id: Mapped[int] = surrogate_id()
    series_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    provider: Mapped[str] = mapped_column(ADDRESS)
    class_id: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[int] = mapped_column(BigInteger)
    window_end: Mapped[int] = mapped_column(BigInteger)
    backing: Mapped[str] = mapped_column(String(8))  # "stake" | "deal"
    deal_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    collateral_rate: Mapped[str] = mapped_column(UINT)
    minted: Mapped[str] = mapped_column(UINT, default="0")
    burned: Mapped[str] = mapped_column(UINT, default="0")
    delivered: Mapped[str] = mapped_column(UINT, default="0")
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    created_block: Mapped[int] = mapped_column(BigInteger)


class BalanceRow(Base):
    __tablename__ = "balances"
    __table_args__ = (
        UniqueConstraint("holder", "series_id", name="uq_balances_holder_series"),
        Index("ix_balances_holder", "holder", "id"),
        Index("ix_balances_series", "series_id", "id"),
    )

    id: Mapped[int] = surrogate_id()
    holder: Mapped[str] = mapped_column(ADDRESS)
    series_id: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[str] = mapped_column(UINT, default="0")


class JobRow(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_holder", "holder", "id"),
        Index("ix_jobs_series", "series_id", "id"),
        Index("ix_jobs_status", "status", "id"),
    )

    id: Mapped[int] = surrogate_id()
    job_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    series_id: Mapped[int] = mapped_column(BigInteger)
    holder: Mapped[str] = mapped_column(ADDRESS)
    provider: Mapped[str | None] = mapped_column(ADDRESS, nullable=True)
    max_seconds: Mapped[str] = mapped_column(UINT)
    used_seconds: Mapped[str] = mapped_column(UINT, default="0")
    spec_cid: Mapped[str] = mapped_column(CID)
    ack_deadline: Mapped[int] = mapped_column(BigInteger)
    deadline: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    returned: Mapped[str | None] = mapped_column(UINT, nullable=True)
    penalty: Mapped[str | None] = mapped_column(UINT, nullable=True)
    opened_block: Mapped[int] = mapped_column(BigInteger)


class UsageRow(Base):
    """One metering entry (an oracle report accepted for a job and GPU) or a direct usage application."""

    __tablename__ = "usage_reports"
    __table_args__ = (
        Index("ix_usage_job", "job_id", "id"),
        Index("ix_usage_batch", "batch_id", "entry_index"),
        Index("ix_usage_gpu", "gpu_id", "id"),
    )

    id: Mapped[int] = surrogate_id()
    job_id: Mapped[int] = mapped_column(BigInteger)
    series_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    gpu_id: Mapped[str | None] = mapped_column(HASH, nullable=True)
    batch_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    entry_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    allocated_gpu_ms: Mapped[str | None] = mapped_column(UINT, nullable=True)
    gpu_seconds: Mapped[str] = mapped_column(UINT)
    applied_seconds: Mapped[str | None] = mapped_column(UINT, nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # pending | applied | skipped | voided
    block_number: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(HASH)


class DatasetRow(Base):
    __tablename__ = "datasets"
    __table_args__ = (Index("ix_datasets_owner", "owner", "id"),)

    id: Mapped[int] = surrogate_id()
    dataset_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    owner: Mapped[str] = mapped_column(ADDRESS)
    manifest_cid: Mapped[str] = mapped_column(CID)
    step_count: Mapped[int] = mapped_column(BigInteger)
    merkle_root: Mapped[str] = mapped_column(HASH)
    appraisal_hash: Mapped[str] = mapped_column(HASH)
    locked_by: Mapped[str | None] = mapped_column(ADDRESS, nullable=True)
    registered_block: Mapped[int] = mapped_column(BigInteger)


class CooperativeRow(Base):
    __tablename__ = "cooperatives"
    __table_args__ = (Index("ix_cooperatives_admin", "admin", "id"),)

    id: Mapped[int] = surrogate_id()
    address: Mapped[str] = mapped_column(ADDRESS, unique=True)
    admin: Mapped[str] = mapped_column(ADDRESS)
    name: Mapped[str] = mapped_column(String(256))
    total_shares: Mapped[str] = mapped_column(UINT, default="0")
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    created_block: Mapped[int] = mapped_column(BigInteger)


class MemberRow(Base):
    __tablename__ = "cooperative_members"
    __table_args__ = (
        UniqueConstraint("cooperative", "member", name="uq_members_cooperative_member"),
        Index("ix_members_cooperative", "cooperative", "id"),
        Index("ix_members_member", "member", "id"),
    )

    id: Mapped[int] = surrogate_id()
    cooperative: Mapped[str] = mapped_column(ADDRESS)
    member: Mapped[str] = mapped_column(ADDRESS)
    shares: Mapped[str] = mapped_column(UINT)


class DealRow(Base):
    __tablename__ = "deals"
    __table_args__ = (
        Index("ix_deals_maker", "maker", "id"),
        Index("ix_deals_provider", "provider", "id"),
        Index("ix_deals_status", "status", "id"),
        Index("ix_deals_dataset", "dataset_id", "id"),
    )

    id: Mapped[int] = surrogate_id()
    deal_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    maker: Mapped[str] = mapped_column(ADDRESS)  # the cooperative
    dataset_id: Mapped[int] = mapped_column(BigInteger)
    class_id: Mapped[int] = mapped_column(Integer)
    gpu_seconds: Mapped[str] = mapped_column(UINT)
    window_start: Mapped[int] = mapped_column(BigInteger)
    window_end: Mapped[int] = mapped_column(BigInteger)
    steps: Mapped[int] = mapped_column(Integer)
    key_timeout: Mapped[int] = mapped_column(BigInteger)
    bond: Mapped[str] = mapped_column(UINT)
    status: Mapped[str] = mapped_column(String(24))
    provider: Mapped[str | None] = mapped_column(ADDRESS, nullable=True)
    series_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    released: Mapped[int] = mapped_column(Integer, default=0)
    to_maker: Mapped[str | None] = mapped_column(UINT, nullable=True)
    to_provider: Mapped[str | None] = mapped_column(UINT, nullable=True)
    offered_block: Mapped[int] = mapped_column(BigInteger)


class DealStepRow(Base):
    __tablename__ = "deal_steps"
    __table_args__ = (UniqueConstraint("deal_id", "step", name="uq_deal_steps_deal_step"),)

    id: Mapped[int] = surrogate_id()
    deal_id: Mapped[int] = mapped_column(BigInteger)
    step: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # pending | due | released | disputed | timed-out
    due_since: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    commitment_c: Mapped[str | None] = mapped_column(HASH, nullable=True)
    provider_won: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


#: Every resource table, children first (the order ``reset`` deletes in).
RESOURCE_TABLES = (
    DealStepRow,
    DealRow,
    MemberRow,
    CooperativeRow,
    DatasetRow,
    UsageRow,
    JobRow,
    BalanceRow,
    SeriesRow,
    GpuClassRow,
    ProviderRow,
)
