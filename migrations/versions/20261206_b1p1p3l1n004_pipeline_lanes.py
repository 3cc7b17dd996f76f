"""pipeline: webhook events routed to lanes (per contact, bulk), parked events

Revision ID: b1p1p3l1n004
Revises: a3a0p1i00003
Create Date: 2026-12-06 21:30:00
"""

import sqlalchemy as sa
from alembic import op

import flowapp.models.base

revision = "b1p1p3l1n004"
down_revision = "a3a0p1i00003"
branch_labels = None
depends_on = None

PENDING = "processed_at IS NULL"
BULK_PENDING = "processed_at IS NULL AND lane = 'bulk'"


def upgrade():
    with op.batch_alter_table("webhook_events") as batch:
        batch.add_column(sa.Column("lane", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("contact_key", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("phone_number_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("parked_at", flowapp.models.base.UTCDateTime(), nullable=True))
    # Events stored before this release have lane NULL: the sweep routes them (flowapp/pipeline).
    op.create_index(
        "ix_webhook_events_contact_pending",
        "webhook_events",
        ["contact_key", "id"],
        postgresql_where=sa.text(PENDING),
        sqlite_where=sa.text(PENDING),
    )
    op.create_index(
        "ix_webhook_events_bulk_pending",
        "webhook_events",
        ["id"],
        postgresql_where=sa.text(BULK_PENDING),
        sqlite_where=sa.text(BULK_PENDING),
    )


def downgrade():
    op.drop_index("ix_webhook_events_bulk_pending", table_name="webhook_events")
    op.drop_index("ix_webhook_events_contact_pending", table_name="webhook_events")
    with op.batch_alter_table("webhook_events") as batch:
        batch.drop_column("parked_at")
        batch.drop_column("phone_number_id")
        batch.drop_column("contact_key")
        batch.drop_column("lane")
