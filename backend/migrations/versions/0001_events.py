"""events, indexed blocks and cursors

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cursors",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("chain_id", sa.BigInteger, nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        sa.Column("block_hash", sa.String(66), nullable=False),
    )
    op.create_table(
        "indexed_blocks",
        sa.Column("number", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.String(66), nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("block_number", sa.BigInteger, nullable=False, index=True),
        sa.Column("block_hash", sa.String(66), nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False, index=True),
        sa.Column("log_index", sa.Integer, nullable=False),
        sa.Column("contract", sa.String(64), nullable=False, index=True),
        sa.Column("address", sa.String(42), nullable=False),
        sa.Column("name", sa.String(64), nullable=False, index=True),
        sa.Column("args", sa.JSON, nullable=False),
        sa.UniqueConstraint("block_number", "log_index", name="uq_events_position"),
    )


def downgrade() -> None:
    op.drop_table("events")
    op.drop_table("indexed_blocks")
    op.drop_table("cursors")
