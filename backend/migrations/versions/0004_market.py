"""order relay: accepted orders and indexed fills

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_UINT = sa.String(78)  # zero-padded decimal uint256 (see backend/db/market.py)


def upgrade() -> None:
    op.create_table(
        "market_orders",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("hash", sa.String(66), nullable=False, unique=True),
        sa.Column("maker", sa.String(42), nullable=False, index=True),
        sa.Column("side", sa.Integer, nullable=False),
        sa.Column("series_id", sa.BigInteger, nullable=False),
        sa.Column("class_id", sa.Integer, nullable=False),
        sa.Column("window_start", sa.BigInteger, nullable=False),
        sa.Column("window_end", sa.BigInteger, nullable=False),
        sa.Column("amount", _UINT, nullable=False),
        sa.Column("price_per_hour", _UINT, nullable=False),
        sa.Column("expiry", _UINT, nullable=False),
        sa.Column("epoch", _UINT, nullable=False),
        sa.Column("salt", _UINT, nullable=False),
        sa.Column("signature", sa.String(132), nullable=False),
        sa.Column("remaining", _UINT, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("accepted_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_market_orders_book", "market_orders", ["series_id", "status", "side"])
    op.create_table(
        "market_fills",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.BigInteger, nullable=False, unique=True),
        sa.Column("order_hash", sa.String(66), nullable=False, index=True),
        sa.Column("series_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("maker", sa.String(42), nullable=False),
        sa.Column("class_id", sa.Integer, nullable=False),
        sa.Column("window_start", sa.BigInteger, nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("price_per_hour", _UINT, nullable=False),
        sa.Column("amount", _UINT, nullable=False),
        sa.Column("cost", _UINT, nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_market_fills_index", "market_fills", ["class_id", "month"])


def downgrade() -> None:
    op.drop_table("market_fills")
    op.drop_table("market_orders")
