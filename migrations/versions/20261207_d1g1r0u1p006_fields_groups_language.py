"""typed custom contact fields, contact groups and segments, contact language

Revision ID: d1g1r0u1p006
Revises: c1o1n1t1c005
Create Date: 2026-12-07 04:00:00
"""

import sqlalchemy as sa
from alembic import op

from flowapp.models.base import JSONType, UTCDateTime

revision = "d1g1r0u1p006"
down_revision = "c1o1n1t1c005"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("contacts", sa.Column("language", sa.String(length=16), nullable=True))
    op.create_table(
        "contact_fields",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("choices", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_fields")),
        sa.UniqueConstraint("key", name=op.f("uq_contact_fields_key")),
    )
    op.create_table(
        "contact_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("query", JSONType, nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_contact_groups_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_contact_groups_name")),
    )
    op.create_table(
        "contact_group_members",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_group_members_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["contact_groups.id"],
            name=op.f("fk_contact_group_members_group_id_contact_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "contact_id", name=op.f("pk_contact_group_members")),
    )
    op.create_index(op.f("ix_contact_group_members_contact_id"), "contact_group_members", ["contact_id"])


def downgrade():
    op.drop_index(op.f("ix_contact_group_members_contact_id"), table_name="contact_group_members")
    op.drop_table("contact_group_members")
    op.drop_table("contact_groups")
    op.drop_table("contact_fields")
    op.drop_column("contacts", "language")
