"""inbox: indexes for the conversation list, its filters, search and live updates

Revision ID: a2i0n1b0x002
Revises: a1e0d1t0r001
Create Date: 2026-11-25 20:30:00

On PostgreSQL, search uses trigram GIN indexes (the pg_trgm extension, trusted since PostgreSQL 13,
so the database owner may create it) and the label filter a JSONB GIN index. SQLite has no GIN: it
gets an empty partial index of the same name (WHERE 0), so both databases carry the same index
names and the models describe both; SQLite's search scans with LIKE.
"""

import sqlalchemy as sa
from alembic import op

import flowapp.models.base  # noqa: F401

revision = "a2i0n1b0x002"
down_revision = "a1e0d1t0r001"
branch_labels = None
depends_on = None

NOT_ON_SQLITE = sa.text("0")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index(
        "ix_conversations_needs_human_last_message_at",
        "conversations",
        ["needs_human", "last_message_at"],
    )
    op.create_index("ix_conversations_updated_at", "conversations", ["updated_at"])
    op.create_index("ix_conversation_reads_user_id_read_at", "conversation_reads", ["user_id", "read_at"])
    op.create_index(
        "ix_conversations_labels",
        "conversations",
        ["labels"],
        postgresql_using="gin",
        postgresql_ops={"labels": "jsonb_path_ops"},
        sqlite_where=NOT_ON_SQLITE,
    )
    op.create_index(
        "ix_contacts_search_trgm",
        "contacts",
        ["display_name", "profile_name", "wa_id"],
        postgresql_using="gin",
        postgresql_ops={
            "display_name": "gin_trgm_ops",
            "profile_name": "gin_trgm_ops",
            "wa_id": "gin_trgm_ops",
        },
        sqlite_where=NOT_ON_SQLITE,
    )
    op.create_index(
        "ix_messages_text_trgm",
        "messages",
        ["text"],
        postgresql_using="gin",
        postgresql_ops={"text": "gin_trgm_ops"},
        sqlite_where=NOT_ON_SQLITE,
    )


def downgrade():
    op.drop_index("ix_messages_text_trgm", table_name="messages")
    op.drop_index("ix_contacts_search_trgm", table_name="contacts")
    op.drop_index("ix_conversations_labels", table_name="conversations")
    op.drop_index("ix_conversation_reads_user_id_read_at", table_name="conversation_reads")
    op.drop_index("ix_conversations_updated_at", table_name="conversations")
    op.drop_index("ix_conversations_needs_human_last_message_at", table_name="conversations")
    # pg_trgm stays: dropping an extension other objects may use is not this revision's call.
