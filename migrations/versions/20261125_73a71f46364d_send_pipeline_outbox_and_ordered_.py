"""send pipeline outbox and ordered inbound processing

Revision ID: 73a71f46364d
Revises: 724ad319dca8
Create Date: 2026-11-25 19:44:07.873008
"""

import sqlalchemy as sa
from alembic import op

import flowapp.models.base

revision = "73a71f46364d"
down_revision = "724ad319dca8"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outbox",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", flowapp.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lease_until", flowapp.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("pair_backoffs", sa.Integer(), nullable=False),
        sa.Column("created_at", flowapp.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_outbox_message_id_messages"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_conversation_id_message_id", ["conversation_id", "message_id"], unique=False
        )

    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("next_attempt_at", flowapp.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.drop_index(batch_op.f("ix_webhook_events_processed_at_received_at"))
        batch_op.create_index("ix_webhook_events_processed_at_id", ["processed_at", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_events_processed_at_id")
        batch_op.create_index(
            batch_op.f("ix_webhook_events_processed_at_received_at"),
            ["processed_at", "received_at"],
            unique=False,
        )
        batch_op.drop_column("next_attempt_at")

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_conversation_id_message_id")

    op.drop_table("outbox")
