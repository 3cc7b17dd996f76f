"""ai calls: one row per language-model call (tokens, cost, latency, status) for budgets and analytics

Revision ID: a1c4l1l1s007
Revises: d1g1r0u1p006
Create Date: 2026-12-07 04:00:00
"""

import sqlalchemy as sa
from alembic import op

import flowapp.models.base

revision = "a1c4l1l1s007"
down_revision = "d1g1r0u1p006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ai_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("automation_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("tokens_in", sa.Integer(), nullable=False),
        sa.Column("tokens_out", sa.Integer(), nullable=False),
        sa.Column("cost_micros", sa.BigInteger(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", flowapp.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["automation_id"], ["automations.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["run_id"], ["automation_runs.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ai_calls_created_at", "ai_calls", ["created_at"])
    op.create_index("ix_ai_calls_automation_id_created_at", "ai_calls", ["automation_id", "created_at"])


def downgrade():
    op.drop_index("ix_ai_calls_automation_id_created_at", table_name="ai_calls")
    op.drop_index("ix_ai_calls_created_at", table_name="ai_calls")
    op.drop_table("ai_calls")
