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


def upgrade() -> None:
    op.create_table(
        "balances",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("holder", sa.String(length=42), nullable=False),
        sa.Column("series_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.String(length=78), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("holder", "series_id", name="uq_balances_holder_series"),
    )
    op.create_index("ix_balances_holder", "balances", ["holder", "id"], unique=False)
    op.create_index("ix_balances_series", "balances", ["series_id", "id"], unique=False)
    op.create_table(
        "cooperative_members",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("cooperative", sa.String(length=42), nullable=False),
        sa.Column("member", sa.String(length=42), nullable=False),
        sa.Column("shares", sa.String(length=78), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cooperative", "member", name="uq_members_cooperative_member"),
    )
    op.create_index("ix_members_cooperative", "cooperative_members", ["cooperative", "id"], unique=False)
    op.create_index("ix_members_member", "cooperative_members", ["member", "id"], unique=False)
    op.create_table(
        "cooperatives",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("admin", sa.String(length=42), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("total_shares", sa.String(length=78), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("created_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("address"),
    )
    op.create_index("ix_cooperatives_admin", "cooperatives", ["admin", "id"], unique=False)
    op.create_table(
        "datasets",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("dataset_id", sa.BigInteger(), nullable=False),
        sa.Column("owner", sa.String(length=42), nullable=False),
        sa.Column("manifest_cid", sa.String(length=256), nullable=False),
        sa.Column("step_count", sa.BigInteger(), nullable=False),
        sa.Column("merkle_root", sa.String(length=66), nullable=False),
        sa.Column("appraisal_hash", sa.String(length=66), nullable=False),
        sa.Column("locked_by", sa.String(length=42), nullable=True),
        sa.Column("registered_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dataset_id"),
    )
    op.create_index("ix_datasets_owner", "datasets", ["owner", "id"], unique=False)
    op.create_table(
        "deal_steps",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("deal_id", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_since", sa.BigInteger(), nullable=True),
        sa.Column("commitment_c", sa.String(length=66), nullable=True),
        sa.Column("provider_won", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("deal_id", "step", name="uq_deal_steps_deal_step"),
    )
    op.create_table(
        "deals",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("deal_id", sa.BigInteger(), nullable=False),
        sa.Column("maker", sa.String(length=42), nullable=False),
        sa.Column("dataset_id", sa.BigInteger(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("gpu_seconds", sa.String(length=78), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("window_end", sa.BigInteger(), nullable=False),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("key_timeout", sa.BigInteger(), nullable=False),
        sa.Column("bond", sa.String(length=78), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("provider", sa.String(length=42), nullable=True),
        sa.Column("series_id", sa.BigInteger(), nullable=True),
        sa.Column("released", sa.Integer(), nullable=False),
        sa.Column("to_maker", sa.String(length=78), nullable=True),
        sa.Column("to_provider", sa.String(length=78), nullable=True),
        sa.Column("offered_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("deal_id"),
    )
    op.create_index("ix_deals_dataset", "deals", ["dataset_id", "id"], unique=False)
    op.create_index("ix_deals_maker", "deals", ["maker", "id"], unique=False)
    op.create_index("ix_deals_provider", "deals", ["provider", "id"], unique=False)
    op.create_index("ix_deals_status", "deals", ["status", "id"], unique=False)
    op.create_table(
        "gpu_classes",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("collateral_rate", sa.String(length=78), nullable=False),
        sa.Column("ack_timeout", sa.BigInteger(), nullable=False),
        sa.Column("penalty_bps", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("class_id"),
    )
    op.create_table(
        "jobs",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("series_id", sa.BigInteger(), nullable=False),
        sa.Column("holder", sa.String(length=42), nullable=False),
        sa.Column("provider", sa.String(length=42), nullable=True),
        sa.Column("max_seconds", sa.String(length=78), nullable=False),
        sa.Column("used_seconds", sa.String(length=78), nullable=False),
        sa.Column("spec_cid", sa.String(length=256), nullable=False),
        sa.Column("ack_deadline", sa.BigInteger(), nullable=False),
        sa.Column("deadline", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("returned", sa.String(length=78), nullable=True),
        sa.Column("penalty", sa.String(length=78), nullable=True),
        sa.Column("opened_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id"),
    )
    op.create_index("ix_jobs_holder", "jobs", ["holder", "id"], unique=False)
    op.create_index("ix_jobs_series", "jobs", ["series_id", "id"], unique=False)
    op.create_index("ix_jobs_status", "jobs", ["status", "id"], unique=False)
    op.create_table(
        "providers",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("metadata_cid", sa.String(length=256), nullable=False),
        sa.Column("stake", sa.String(length=78), nullable=False),
        sa.Column("locked", sa.String(length=78), nullable=False),
        sa.Column("unbonding", sa.String(length=78), nullable=False),
        sa.Column("unbonding_end", sa.BigInteger(), nullable=False),
        sa.Column("slashed", sa.String(length=78), nullable=False),
        sa.Column("registered_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("address"),
    )
    op.create_table(
        "series",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("series_id", sa.BigInteger(), nullable=False),
        sa.Column("provider", sa.String(length=42), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("window_end", sa.BigInteger(), nullable=False),
        sa.Column("backing", sa.String(length=8), nullable=False),
        sa.Column("deal_id", sa.BigInteger(), nullable=True),
        sa.Column("collateral_rate", sa.String(length=78), nullable=False),
        sa.Column("minted", sa.String(length=78), nullable=False),
        sa.Column("burned", sa.String(length=78), nullable=False),
        sa.Column("delivered", sa.String(length=78), nullable=False),
        sa.Column("frozen", sa.Boolean(), nullable=False),
        sa.Column("created_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("series_id"),
    )
    op.create_index("ix_series_class_id", "series", ["class_id", "id"], unique=False)
    op.create_index("ix_series_provider", "series", ["provider", "id"], unique=False)
    op.create_index("ix_series_window_end", "series", ["window_end", "id"], unique=False)
    op.create_table(
        "usage_reports",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("series_id", sa.BigInteger(), nullable=True),
        sa.Column("gpu_id", sa.String(length=66), nullable=True),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        sa.Column("entry_index", sa.Integer(), nullable=True),
        sa.Column("allocated_gpu_ms", sa.String(length=78), nullable=True),
        sa.Column("gpu_seconds", sa.String(length=78), nullable=False),
        sa.Column("applied_seconds", sa.String(length=78), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("id"),
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
