"""consent: the history of each contact's opt-out and opt-in

Revision ID: c0n5e1n7h005
Revises: b1p1p3l1n004
Create Date: 2026-12-07 01:50:00
"""

import sqlalchemy as sa
from alembic import op

import flowapp.models.base

revision = "c0n5e1n7h005"
down_revision = "b1p1p3l1n004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "consent_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.String(length=200), nullable=True),
        sa.Column("created_at", flowapp.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_consent_changes_contact_id", "consent_changes", ["contact_id"])


def downgrade():
    op.drop_index("ix_consent_changes_contact_id", table_name="consent_changes")
    op.drop_table("consent_changes")
