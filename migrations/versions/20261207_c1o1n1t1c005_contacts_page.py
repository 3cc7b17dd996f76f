"""contacts page: indexes for its filters and its search in custom field values

Revision ID: c1o1n1t1c005
Revises: c1a0u1d1t005
Create Date: 2026-12-07 02:00:00

The GIN indexes exist on PostgreSQL only (SQLite gets an empty partial index of the same name, as in
a2i0n1b0x002): containment on tags and fields (jsonb_path_ops), and trigrams over the fields' JSON
text so that ILIKE '%lisbon%' on custom field values does not read every contact.
"""

import sqlalchemy as sa
from alembic import op

revision = "c1o1n1t1c005"
down_revision = "c1a0u1d1t005"
branch_labels = None
depends_on = None

NOT_ON_SQLITE = sa.text("0")


def upgrade():
    for column in ("tags", "fields"):
        op.create_index(
            f"ix_contacts_{column}",
            "contacts",
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "jsonb_path_ops"},
            sqlite_where=NOT_ON_SQLITE,
        )
    if op.get_bind().dialect.name == "postgresql":
        # Not declared on the model: see flowapp.models.base.PG_ONLY_INDEXES.
        op.execute("CREATE INDEX ix_contacts_fields_trgm ON contacts USING gin ((fields::text) gin_trgm_ops)")
    op.create_index("ix_contacts_last_inbound_at", "contacts", ["last_inbound_at"])


def downgrade():
    op.drop_index("ix_contacts_last_inbound_at", table_name="contacts")
    op.execute("DROP INDEX IF EXISTS ix_contacts_fields_trgm")
    op.drop_index("ix_contacts_fields", table_name="contacts")
    op.drop_index("ix_contacts_tags", table_name="contacts")
