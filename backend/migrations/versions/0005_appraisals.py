"""uploads sealed by the API and appraisal reports

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("manifest_cid", sa.String(128), primary_key=True),
        sa.Column("owner", sa.String(42), nullable=False, index=True),
        sa.Column("uploaded_by", sa.String(42), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("k", sa.Integer, nullable=False),
        sa.Column("source_bytes", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "appraisals",
        sa.Column("appraisal_hash", sa.String(66), primary_key=True),
        sa.Column("report", sa.JSON, nullable=False),
        sa.Column("canonical", sa.Text, nullable=False),
        sa.Column("manifest_cid", sa.String(128), nullable=True, index=True),
        sa.Column("gpu_class", sa.String(64), nullable=False),
        sa.Column("requested_by", sa.String(42), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("appraisals")
    op.drop_table("uploads")
