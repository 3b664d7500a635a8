"""persisted documents (trusted-document manifests and APQ registrations)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "persisted_documents",
        sa.Column("client_name", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("operation_name", sa.Text(), nullable=True),
        sa.Column("operation_type", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("normalized_hash", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "source IN ('manifest', 'apq')", name=op.f("ck_persisted_documents_source")
        ),
        sa.PrimaryKeyConstraint("client_name", "id", name=op.f("pk_persisted_documents")),
    )
    op.create_index(
        "ix_persisted_documents_sha256", "persisted_documents", ["sha256"], unique=False
    )
    op.create_index(
        "ix_persisted_documents_normalized_hash",
        "persisted_documents",
        ["normalized_hash"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_persisted_documents_normalized_hash", table_name="persisted_documents")
    op.drop_index("ix_persisted_documents_sha256", table_name="persisted_documents")
    op.drop_table("persisted_documents")
