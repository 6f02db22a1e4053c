"""resource projections: providers, classes, series, balances, jobs, usage, datasets, cooperatives,
members, deals and deal steps

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Column types spelled here rather than imported from backend.db.models: this revision must keep
# producing the schema it always has, whatever the models become.
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ADDRESS = sa.String(length=42)
_UINT = sa.String(length=78)  # a uint256 as a decimal string
_HASH = sa.String(length=66)
_CID = sa.String(length=256)


def _create_table(name: str, *columns: sa.Column | sa.Constraint) -> None:
    """A resource table: its surrogate, increasing ``id`` primary key, then ``columns``."""
    op.create_table(
        name,
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        *columns,
        sa.PrimaryKeyConstraint("id"),
    )


def upgrade() -> None:
    _create_table(
        "balances",
        sa.Column("holder", _ADDRESS, nullable=False),
        sa.Column("series_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", _UINT, nullable=False),
        sa.UniqueConstraint("holder", "series_id", name="uq_balances_holder_series"),
    )
    op.create_index("ix_balances_holder", "balances", ["holder", "id"], unique=False)
    op.create_index("ix_balances_series", "balances", ["series_id", "id"], unique=False)
    _create_table(
        "cooperative_members",
        sa.Column("cooperative", _ADDRESS, nullable=False),
        sa.Column("member", _ADDRESS, nullable=False),
        sa.Column("shares", _UINT, nullable=False),
        sa.UniqueConstraint("cooperative", "member", name="uq_members_cooperative_member"),
    )
    op.create_index("ix_members_cooperative", "cooperative_members", ["cooperative", "id"], unique=False)
    op.create_index("ix_members_member", "cooperative_members", ["member", "id"], unique=False)
    _create_table(
        "cooperatives",
        sa.Column("address", _ADDRESS, nullable=False),
        sa.Column("admin", _ADDRESS, nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("total_shares", _UINT, nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("created_block", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("address"),
    )
    op.create_index("ix_cooperatives_admin", "cooperatives", ["admin", "id"], unique=False)
    _create_table(
        "datasets",
        sa.Column("dataset_id", sa.BigInteger(), nullable=False),
        sa.Column("owner", _ADDRESS, nullable=False),
        sa.Column("manifest_cid", _CID, nullable=False),
        sa.Column("step_count", sa.BigInteger(), nullable=False),
        sa.Column("merkle_root", _HASH, nullable=False),
        sa.Column("appraisal_hash", _HASH, nullable=False),
        sa.Column("locked_by", _ADDRESS, nullable=True),
        sa.Column("registered_block", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("dataset_id"),
    )
    op.create_index("ix_datasets_owner", "datasets", ["owner", "id"], unique=False)
    _create_table(
        "deal_steps",
        sa.Column("deal_id", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_since", sa.BigInteger(), nullable=True),
        sa.Column("commitment_c", _HASH, nullable=True),
        sa.Column("provider_won", sa.Boolean(), nullable=True),
        sa.UniqueConstraint("deal_id", "step", name="uq_deal_steps_deal_step"),
    )
    _create_table(
        "deals",
        sa.Column("deal_id", sa.BigInteger(), nullable=False),
        sa.Column("maker", _ADDRESS, nullable=False),
        sa.Column("dataset_id", sa.BigInteger(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("gpu_seconds", _UINT, nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("window_end", sa.BigInteger(), nullable=False),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("key_timeout", sa.BigInteger(), nullable=False),
        sa.Column("bond", _UINT, nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("provider", _ADDRESS, nullable=True),
        sa.Column("series_id", sa.BigInteger(), nullable=True),
        sa.Column("released", sa.Integer(), nullable=False),
        sa.Column("to_maker", _UINT, nullable=True),
        sa.Column("to_provider", _UINT, nullable=True),
        sa.Column("offered_block", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("deal_id"),
    )
    op.create_index("ix_deals_dataset", "deals", ["dataset_id", "id"], unique=False)
    op.create_index("ix_deals_maker", "deals", ["maker", "id"], unique=False)
    op.create_index("ix_deals_provider", "deals", ["provider", "id"], unique=False)
    op.create_index("ix_deals_status", "deals", ["status", "id"], unique=False)
    _create_table(
        "gpu_classes",
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("collateral_rate", _UINT, nullable=False),
        sa.Column("ack_timeout", sa.BigInteger(), nullable=False),
        sa.Column("penalty_bps", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("class_id"),
    )
    _create_table(
        "jobs",
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("series_id", sa.BigInteger(), nullable=False),
        sa.Column("holder", _ADDRESS, nullable=False),
        sa.Column("provider", _ADDRESS, nullable=True),
        sa.Column("max_seconds", _UINT, nullable=False),
        sa.Column("used_seconds", _UINT, nullable=False),
        sa.Column("spec_cid", _CID, nullable=False),
        sa.Column("ack_deadline", sa.BigInteger(), nullable=False),
        sa.Column("deadline", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("returned", _UINT, nullable=True),
        sa.Column("penalty", _UINT, nullable=True),
        sa.Column("opened_block", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("job_id"),
    )
    op.create_index("ix_jobs_holder", "jobs", ["holder", "id"], unique=False)
    op.create_index("ix_jobs_series", "jobs", ["series_id", "id"], unique=False)
    op.create_index("ix_jobs_status", "jobs", ["status", "id"], unique=False)
    _create_table(
        "providers",
        sa.Column("address", _ADDRESS, nullable=False),
        sa.Column("metadata_cid", _CID, nullable=False),
        sa.Column("stake", _UINT, nullable=False),
        sa.Column("locked", _UINT, nullable=False),
        sa.Column("unbonding", _UINT, nullable=False),
        sa.Column("unbonding_end", sa.BigInteger(), nullable=False),
        sa.Column("slashed", _UINT, nullable=False),
        sa.Column("registered_block", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("address"),
    )
    _create_table(
        "series",
        sa.Column("series_id", sa.BigInteger(), nullable=False),
        sa.Column("provider", _ADDRESS, nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("window_end", sa.BigInteger(), nullable=False),
        sa.Column("backing", sa.String(length=8), nullable=False),
        sa.Column("deal_id", sa.BigInteger(), nullable=True),
        sa.Column("collateral_rate", _UINT, nullable=False),
        sa.Column("minted", _UINT, nullable=False),
        sa.Column("burned", _UINT, nullable=False),
        sa.Column("delivered", _UINT, nullable=False),
        sa.Column("frozen", sa.Boolean(), nullable=False),
        sa.Column("created_block", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("series_id"),
    )
    op.create_index("ix_series_class_id", "series", ["class_id", "id"], unique=False)
    op.create_index("ix_series_provider", "series", ["provider", "id"], unique=False)
    op.create_index("ix_series_window_end", "series", ["window_end", "id"], unique=False)
    _create_table(
        "usage_reports",
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("series_id", sa.BigInteger(), nullable=True),
        sa.Column("gpu_id", _HASH, nullable=True),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        sa.Column("entry_index", sa.Integer(), nullable=True),
        sa.Column("allocated_gpu_ms", _UINT, nullable=True),
        sa.Column("gpu_seconds", _UINT, nullable=False),
        sa.Column("applied_seconds", _UINT, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", _HASH, nullable=False),
    )
    op.create_index("ix_usage_batch", "usage_reports", ["batch_id", "entry_index"], unique=False)
    op.create_index("ix_usage_gpu", "usage_reports", ["gpu_id", "id"], unique=False)
    op.create_index("ix_usage_job", "usage_reports", ["job_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_table("usage_reports")
    op.drop_table("series")
    op.drop_table("providers")
    op.drop_table("jobs")
    op.drop_table("gpu_classes")
    op.drop_table("deals")
    op.drop_table("deal_steps")
    op.drop_table("datasets")
    op.drop_table("cooperatives")
    op.drop_table("cooperative_members")
    op.drop_table("balances")
